//! The marketplace's core, shared by every component: domain types and validation
//! (`item`), what a listing shows (`listing`), the form and JSON shapes (`form`, `api`), SQL (`db`), HTML (`views`,
//! `home`), cookies, configuration, the error type and the HTTP plumbing.
//!
//! Everything but `db`, `config` and `spin` runs natively, so it is unit-tested with
//! a plain `cargo test -p market`.

pub mod api;
pub mod cache;
pub mod config;
pub mod cookies;
pub mod db;
pub mod error;
pub mod form;
pub mod home;
pub mod http;
pub mod item;
pub mod listing;
pub mod spin;
pub mod views;

/// The newest schema version the code expects, from the files in `migrations/sql`.
pub use migrations::LATEST_VERSION as LATEST_SCHEMA_VERSION;
