//! A seller managing a listing: change its stock, price and description, or withdraw
//! it. Only its seller can; to anyone else the listing is not found (404, not 403, so
//! that nobody learns which ids exist by trying them).

use crate::domain::account::Person;
use crate::domain::error::AppError;
use crate::domain::item::{Item, ItemChanges, ItemId};
use crate::observe::record;
use crate::storage::{cache, db};

/// Changes `item` as `seller` asked and invalidates the listing cache.
/// Its outcomes in the log: `changed`, `withdrawn`, `not_theirs`.
pub fn change(seller: &Person, item: ItemId, changes: &ItemChanges) -> Result<Item, AppError> {
    record::use_case("change_listing");
    match db::update_item(&*db::open()?, seller.id, item, changes)? {
        db::Changed::Item(item) => {
            cache::invalidate();
            record::outcome("changed");
            Ok(item)
        }
        db::Changed::Withdrawn => {
            record::outcome("withdrawn");
            Err(AppError::Conflict(
                "This listing was withdrawn: it can no longer be changed.".into(),
            ))
        }
        db::Changed::NotTheirs => {
            record::outcome("not_theirs");
            Err(AppError::NotFound)
        }
    }
}

/// Takes `item` off the listing and the search for good; buying it is refused from now
/// on. Withdrawing it again changes nothing.
/// Its outcomes in the log: `withdrawn`, `not_theirs`.
pub fn withdraw(seller: &Person, item: ItemId) -> Result<(), AppError> {
    record::use_case("withdraw_listing");
    if db::withdraw_item(&*db::open()?, seller.id, item)? {
        cache::invalidate();
        record::outcome("withdrawn");
        Ok(())
    } else {
        record::outcome("not_theirs");
        Err(AppError::NotFound)
    }
}
