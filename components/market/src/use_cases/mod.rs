//! What people do, each a function that returns a typed outcome and carries its own
//! consequences: a write makes the listing cache show it before it returns, so no
//! caller can forget to.

pub mod account;
pub mod buy;
pub mod email;
pub mod listing;
pub mod photos;
pub mod profile_changes;
pub mod sell;
pub mod trade;

/// The same key reused for another request: refused, whatever the form or API.
const KEY_REUSED: &str = "This Idempotency-Key was already used for a different request.";
