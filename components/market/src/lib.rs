//! The marketplace's core, shared by every component, in five layers; each imports only
//! from the layers before it (`tests/layers.rs` keeps it so):
//!
//! - `observe`: the request id, what each request did, and the log lines about it;
//! - `domain`: items, listings and their rules, and the error type (what went wrong);
//! - `storage`: configuration, SQL and the listing cache;
//! - `use_cases`: what people do (list, sell, buy), each with its consequences;
//! - `web`: requests, responses, pages, JSON, cookies, and how each error looks.
//!
//! Only what touches Spin's host interfaces (the database, the cache's store, variables,
//! the Spin bridge) needs Spin; everything else is unit-tested with `cargo test -p market`.

pub mod domain;
pub mod observe;
pub mod storage;
pub mod use_cases;
pub mod web;

/// The newest schema version the code expects, from the files in `migrations/sql`.
pub use migrations::LATEST_VERSION as LATEST_SCHEMA_VERSION;
