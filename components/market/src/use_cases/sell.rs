//! Selling: list a new item once per idempotency key, as its seller.

use crate::domain::account::Writer;
use crate::domain::error::AppError;
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::item::{Item, NewItem};
use crate::observe::record;
use crate::storage::{cache, db};
use crate::use_cases::KEY_REUSED;

/// Stores `new_item` as `seller`'s (once per `key`: a retry gets the first item back)
/// and invalidates the listing cache; a key first used for another request (or by
/// another person) is a conflict; an unknown or revoked API token is refused (401).
/// Its outcomes in the log: `listed`, `replayed` (a retry), `key_reused`,
/// `unknown_token`, `unverified` (an address not verified yet: 403).
pub fn sell(
    seller: Writer,
    new_item: &NewItem,
    key: Option<&IdempotencyKey>,
) -> Result<Item, AppError> {
    record::use_case("sell");
    let (item, outcome) = match db::insert_item(&*db::open()?, seller, new_item, key)? {
        db::Created::Item(item) => (item, "listed"),
        db::Created::Replayed(item) => (item, "replayed"),
        db::Created::KeyReused => {
            record::outcome("key_reused");
            return Err(AppError::Conflict(KEY_REUSED.into()));
        }
        db::Created::UnknownToken => {
            record::outcome("unknown_token");
            return Err(AppError::Unauthenticated { sent: true });
        }
        db::Created::Unverified => {
            record::outcome("unverified");
            return Err(AppError::Unverified);
        }
    };
    cache::invalidate();
    record::outcome(outcome);
    Ok(item)
}
