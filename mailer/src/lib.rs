//! The email sender. The Spin components never talk SMTP: in the same transaction as an
//! event (a sign-up, a reset request, a sale, a shipment, a message, a review) they write
//! a row to the `outbox` (migrations/sql/0011). This service, as its own role
//! `market_mailer`, takes the due rows one at a time, renders each from the data it names,
//! hands it to the SMTP relay and marks it sent, to be retried, or given up.
//!
//! It reads top-down:
//!
//! - [`config`]: what the environment says (database, relay, sender address, links).
//! - [`kind`]: the six kinds of email.
//! - [`render`]: the emails themselves, pure functions of their data.
//! - [`policy`]: when a failed email is tried again and when it is given up.
//! - [`outbox`]: every SQL statement, and the rows decoded into what [`render`] needs.
//! - [`relay`]: the SMTP transport, and which of its failures are worth a retry.
//! - [`log`]: one JSON line per event, nothing secret in it.
//! - [`service`]: the loop that ties them together.

pub mod config;
pub mod kind;
pub mod log;
pub mod outbox;
pub mod policy;
pub mod relay;
pub mod render;
pub mod service;
