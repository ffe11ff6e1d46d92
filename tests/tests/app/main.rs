//! Integration tests: the real compiled components, served by the real `spin up`, against a
//! real PostgreSQL. Each test gets its own database.

mod accounts;
mod api;
mod authorization;
mod browser;
mod browser_email;
mod browser_photos;
mod browser_trade;
mod buying;
mod cache;
mod compose;
mod edge;
mod edge_cache;
mod email_access;
mod email_links;
mod email_notices;
mod email_relay;
mod email_sender;
mod email_support;
mod entrypoint;
mod faults;
mod health;
mod hostile;
mod idempotency;
mod leaks;
mod least_privilege;
mod listings;
mod load;
mod migrate;
mod nginx;
mod nothing_found;
mod observability;
mod openapi;
mod pages;
mod photo_access;
mod photo_edge;
mod photos;
mod replicas;
mod shop;
mod spin_behaviour;
mod trade_access;
mod trading;

pub use market_tests::testing::assert_no_internals;
