//! Where the data lives: configuration from Spin variables, Postgres, the listing cache.

pub mod cache;
pub mod config;
pub mod db;
