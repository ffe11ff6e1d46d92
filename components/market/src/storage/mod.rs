//! Where the data lives: configuration from Spin variables, Postgres (statements, rows,
//! outcomes, failures), and the listing cache.

pub mod cache;
pub mod config;
pub mod db;
pub mod pg_errors;
pub mod photo_blobs;
pub mod photos;
pub mod rows;
pub mod sql;
