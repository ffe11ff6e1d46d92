//! Buying: take stock atomically, once per idempotency key.

use crate::domain::error::AppError;
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::item::{ItemId, Purchase, PurchaseQuantity};
use crate::observe::record;
use crate::storage::{cache, db};
use crate::use_cases::KEY_REUSED;

/// Takes `quantity` units of item `id` (once per `key`: a retry gets the first purchase
/// back) and invalidates the listing cache. An unknown item is not found; too few units
/// left, or a key first used for another request, is a conflict that says so.
///
/// Its outcomes in the log: `sold`, `replayed` (a retry), `sold_out`, `too_few_left`,
/// `unknown_item`, `key_reused`.
pub fn buy(
    id: ItemId,
    quantity: PurchaseQuantity,
    key: Option<&IdempotencyKey>,
) -> Result<Purchase, AppError> {
    record::use_case("buy");
    let refused = |outcome, error| {
        record::outcome(outcome);
        Err(error)
    };
    let (purchase, outcome) = match db::buy_item(&db::open()?, id, quantity, key)? {
        db::Bought::Purchase(purchase) => (purchase, "sold"),
        db::Bought::Replayed(purchase) => (purchase, "replayed"),
        db::Bought::UnknownItem => return refused("unknown_item", AppError::NotFound),
        db::Bought::TooFewLeft(0) => {
            return refused(
                "sold_out",
                AppError::Conflict("This item is sold out.".into()),
            );
        }
        db::Bought::TooFewLeft(left) => {
            return refused(
                "too_few_left",
                AppError::Conflict(format!("Only {left} left in stock.")),
            );
        }
        db::Bought::KeyReused => {
            return refused("key_reused", AppError::Conflict(KEY_REUSED.into()));
        }
    };
    cache::invalidate();
    record::outcome(outcome);
    Ok(purchase)
}
