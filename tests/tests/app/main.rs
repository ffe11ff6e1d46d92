//! Integration tests: the real compiled components, served by the real `spin up`, against a
//! real PostgreSQL. Each test gets its own database.

mod api;
mod browser;
mod buying;
mod cache;
mod compose;
mod entrypoint;
mod faults;
mod health;
mod hostile;
mod idempotency;
mod leaks;
mod least_privilege;
mod load;
mod migrate;
mod nginx;
mod nothing_found;
mod pages;
mod replicas;
mod shop;
mod spin_behaviour;

/// Text that must never reach a client: SQL, connection strings, Rust panics.
pub const INTERNALS: &[&str] = &[
    "SELECT",
    "INSERT",
    "schema_migrations",
    "postgres://",
    "sslmode",
    "127.0.0.1",
    "panicked",
    "RUST_BACKTRACE",
    "tokio_postgres",
    "DbError",
];

/// Fails when a response body shows any internals.
pub fn assert_no_internals(body: &str) {
    for needle in INTERNALS {
        assert!(!body.contains(needle), "response leaks {needle:?}: {body}");
    }
}
