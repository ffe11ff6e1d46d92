//! Where the data lives: configuration from Spin variables, Postgres (statements, rows,
//! outcomes, failures), and the listing cache.

pub mod account_sql;
pub mod cache;
pub mod config;
pub mod conversations;
pub mod db;
pub mod email;
pub mod notices;
pub mod orders;
pub mod pg_errors;
pub mod photo_blobs;
pub mod photos;
pub mod profile_changes;
pub mod profiles;
pub mod reviews;
pub mod rows;
pub mod sql;
pub mod trade_sql;
