//! The statements of public profiles: who someone is (display name, when they joined),
//! their ratings as a seller and as a buyer, and what they have for sale.

use spin_sdk::pg4::{Connection, ParameterValue};

use crate::domain::account::AccountId;
use crate::domain::error::AppError;
use crate::domain::item::Item;
use crate::domain::review::RatingSummary;
use crate::storage::trade_sql::summary_columns;
use crate::storage::{db, rows, sql};

/// A person as everyone may see them.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Profile {
    pub id: i64,
    pub display_name: String,
    /// RFC 3339, UTC.
    pub joined_at: String,
    pub as_seller: RatingSummary,
    pub as_buyer: RatingSummary,
}

/// Person `id`, if there is one.
pub fn find(conn: &Connection, id: AccountId) -> Result<Option<Profile>, AppError> {
    let rows = db::query(
        conn,
        &format!(
            "SELECT a.id, a.display_name, a.created_at AT TIME ZONE 'UTC' AS joined_at, {}, {} \
             FROM (SELECT 1) AS one LEFT JOIN accounts AS a ON a.id = $1::bigint",
            summary_columns("$1::bigint", "seller", "seller"),
            summary_columns("$1::bigint", "buyer", "buyer"),
        ),
        &[ParameterValue::Int64(id.get())],
    )?;
    let row = rows::single(&rows, "profile")?;
    if row.optional_int64("id")?.is_none() {
        return Ok(None);
    }
    Ok(Some(Profile {
        id: row.int64("id")?,
        display_name: row.text("display_name")?,
        joined_at: row.utc_time("joined_at")?,
        as_seller: row.rating_summary("seller")?,
        as_buyer: row.rating_summary("buyer")?,
    }))
}

/// What person `seller` has for sale now, newest first (at most `limit`).
pub fn for_sale(conn: &Connection, seller: AccountId, limit: u32) -> Result<Vec<Item>, AppError> {
    let statement = format!(
        "{} ORDER BY found.id DESC",
        sql::at_least_one_row(
            sql::ITEM_COLUMNS,
            &format!(
                "SELECT {} FROM items WHERE seller_id = $1::bigint AND withdrawn_at IS NULL \
                 AND quantity > 0 ORDER BY id DESC LIMIT $2",
                sql::item_fields("items")
            ),
        )
    );
    let rows = db::query(
        conn,
        &statement,
        &[
            ParameterValue::Int64(seller.get()),
            ParameterValue::Int64(i64::from(limit)),
        ],
    )?;
    rows::found(&rows, "for sale by", "id")
        .map(|row| Item::try_from(&row))
        .collect()
}
