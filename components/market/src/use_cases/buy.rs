//! Buying: take stock atomically, once per idempotency key.

use crate::domain::error::AppError;
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::item::{ItemId, Purchase, PurchaseQuantity};
use crate::storage::{cache, db};
use crate::use_cases::KEY_REUSED;

/// Takes `quantity` units of item `id` (once per `key`: a retry gets the first purchase
/// back) and invalidates the listing cache. An unknown item is not found; too few units
/// left, or a key first used for another request, is a conflict that says so.
pub fn buy(
    id: ItemId,
    quantity: PurchaseQuantity,
    key: Option<&IdempotencyKey>,
) -> Result<Purchase, AppError> {
    let purchase = match db::buy_item(&db::open()?, id, quantity, key)? {
        db::Bought::Purchase(purchase) => purchase,
        db::Bought::UnknownItem => return Err(AppError::NotFound),
        db::Bought::TooFewLeft(0) => {
            return Err(AppError::Conflict("This item is sold out.".into()));
        }
        db::Bought::TooFewLeft(left) => {
            return Err(AppError::Conflict(format!("Only {left} left in stock.")));
        }
        db::Bought::KeyReused => return Err(AppError::Conflict(KEY_REUSED.into())),
    };
    cache::invalidate();
    Ok(purchase)
}
