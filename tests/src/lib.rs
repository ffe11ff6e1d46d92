//! A test host for the marketplace's Spin components, built on wasmtime because the
//! Spin CLI cannot be installed on the build machines. It loads `spin.toml` and serves
//! requests the way Spin 4.0 does (see each module for the part of Spin it mirrors),
//! with a real PostgreSQL behind Spin's Postgres interface.
//!
//! It exists to test the product; it is not a runtime to ship.

// Postgres errors are the WIT's own variant, large by design (Spin's SDK allows it too).
#![allow(clippy::result_large_err)]

pub mod allowed_hosts;
pub mod cluster;
pub mod key_value;
pub mod manifest;
pub mod nginx;
pub mod outbound_http;
pub mod postgres;
pub mod routes;
pub mod runtime;
pub mod runtime_config;
pub mod server;
pub mod testing;
pub mod variables;

/// Host bindings for the Spin interfaces the components import beyond WASI.
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "spin-host",
        imports: { default: async | trappable },
        with: {
            "spin:postgres/postgres.connection": crate::postgres::PgConnection,
            "fermyon:spin/key-value.store": crate::key_value::KeyValueStore,
        },
    });
}
