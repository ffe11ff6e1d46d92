//! Buying: take stock atomically, once per idempotency key, at the price the buyer saw.

use crate::domain::error::AppError;
use crate::domain::item::{Currency, Price, Purchase};
use crate::observe::record;
use crate::storage::{cache, db};
use crate::use_cases::KEY_REUSED;

pub use crate::storage::db::BuyRequest;

/// Takes the units `buy` asks for (once per key: a retry gets the first purchase back)
/// and invalidates the listing cache. An unknown item is not found; a withdrawn item, a
/// price that changed (the new one in `currency` named), too few
/// units left, or a key first used for another request is a conflict that says so.
///
/// Its outcomes in the log: `sold`, `replayed` (a retry), `unknown_item`, `withdrawn`,
/// `price_changed`, `sold_out`, `too_few_left`, `key_reused`, `unknown_token` (an API
/// token unknown or revoked: 401).
pub fn buy(buy: &BuyRequest, currency: &Currency) -> Result<Purchase, AppError> {
    record::use_case("buy");
    let refused = |outcome, message: String| {
        record::outcome(outcome);
        Err(AppError::Conflict(message))
    };
    let (purchase, outcome) = match db::buy_item(&*db::open()?, buy)? {
        db::Bought::Purchase(purchase) => (purchase, "sold"),
        db::Bought::Replayed(purchase) => (purchase, "replayed"),
        db::Bought::UnknownItem => {
            record::outcome("unknown_item");
            return Err(AppError::NotFound);
        }
        db::Bought::Withdrawn => {
            return refused("withdrawn", "This item was withdrawn by its seller.".into());
        }
        db::Bought::PriceChanged(cents) => {
            let now = Price::from_cents(cents).map_err(AppError::Internal)?;
            return refused(
                "price_changed",
                format!(
                    "The price changed to {} since the page was shown. Buy again at the \
                     new price if you still want it.",
                    currency.format(now)
                ),
            );
        }
        db::Bought::TooFewLeft(0) => return refused("sold_out", "This item is sold out.".into()),
        db::Bought::TooFewLeft(left) => {
            return refused("too_few_left", format!("Only {left} left in stock."));
        }
        db::Bought::KeyReused => return refused("key_reused", KEY_REUSED.into()),
        db::Bought::OwnListing => {
            return refused(
                "own_listing",
                "This is your own listing: you cannot buy it.".into(),
            );
        }
        db::Bought::UnknownToken => {
            record::outcome("unknown_token");
            return Err(AppError::Unauthenticated { sent: true });
        }
    };
    cache::invalidate();
    record::outcome(outcome);
    Ok(purchase)
}
