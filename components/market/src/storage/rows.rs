//! Rows of a statement's result, read by column name, and decoded into the domain's
//! types in one place; a column that is missing or holds the wrong kind of value is an
//! error that names the statement and the column.

use spin_sdk::pg4::{Column, DbValue, RowSet};

use crate::domain::account::{AccountId, ApiTokenInfo, Person};
use crate::domain::error::AppError;
use crate::domain::item::{Item, Purchase, PurchaseLine, SellerListing};
use crate::domain::review::RatingSummary;

/// One row of the result of `statement`.
pub struct Row<'a> {
    columns: &'a [Column],
    values: &'a [DbValue],
    statement: &'static str,
}

/// The rows of a result, each able to say which statement it came from.
pub fn rows<'a>(set: &'a RowSet, statement: &'static str) -> impl Iterator<Item = Row<'a>> {
    set.rows.iter().map(move |values| Row {
        columns: &set.columns,
        values,
        statement,
    })
}

/// The rows of `found` in a result of `sql::at_least_one_row`: those whose column `key`,
/// never NULL in a real row, is not NULL (the padding row has NULL everywhere).
pub fn found<'a>(
    set: &'a RowSet,
    statement: &'static str,
    key: &'a str,
) -> impl Iterator<Item = Row<'a>> {
    rows(set, statement).filter(move |row| !matches!(row.value(key), Ok(DbValue::DbNull) | Err(_)))
}

/// The one row of a statement that yields exactly one (`at_least_one_row` over at most
/// one, or an aggregate).
pub fn single<'a>(set: &'a RowSet, statement: &'static str) -> Result<Row<'a>, AppError> {
    let mut all = rows(set, statement);
    match (all.next(), all.next()) {
        (Some(row), None) => Ok(row),
        _ => Err(AppError::Internal(format!(
            "{statement} returned {} rows, expected one",
            set.rows.len()
        ))),
    }
}

impl Row<'_> {
    fn value(&self, name: &str) -> Result<&DbValue, AppError> {
        self.columns
            .iter()
            .position(|column| column.name == name)
            .and_then(|index| self.values.get(index))
            .ok_or_else(|| {
                AppError::Internal(format!("{} row has no column {name}", self.statement))
            })
    }

    /// The column held something other than `expected`. (Its value is not printed:
    /// formatting every kind of Postgres value would add float printing to each
    /// component.)
    fn unexpected(&self, name: &str, expected: &str) -> AppError {
        AppError::Internal(format!(
            "{} column {name} does not hold {expected}",
            self.statement
        ))
    }

    pub fn int64(&self, name: &str) -> Result<i64, AppError> {
        self.optional_int64(name)?
            .ok_or_else(|| self.unexpected(name, "a bigint"))
    }

    pub fn optional_int64(&self, name: &str) -> Result<Option<i64>, AppError> {
        match self.value(name)? {
            DbValue::Int64(value) => Ok(Some(*value)),
            DbValue::DbNull => Ok(None),
            _ => Err(self.unexpected(name, "a bigint or null")),
        }
    }

    pub fn int32(&self, name: &str) -> Result<i32, AppError> {
        self.optional_int32(name)?
            .ok_or_else(|| self.unexpected(name, "an integer"))
    }

    pub fn optional_int32(&self, name: &str) -> Result<Option<i32>, AppError> {
        match self.value(name)? {
            DbValue::Int32(value) => Ok(Some(*value)),
            DbValue::DbNull => Ok(None),
            _ => Err(self.unexpected(name, "an integer or null")),
        }
    }

    pub fn boolean(&self, name: &str) -> Result<bool, AppError> {
        self.optional_boolean(name)?
            .ok_or_else(|| self.unexpected(name, "a boolean"))
    }

    pub fn optional_boolean(&self, name: &str) -> Result<Option<bool>, AppError> {
        match self.value(name)? {
            DbValue::Boolean(value) => Ok(Some(*value)),
            DbValue::DbNull => Ok(None),
            _ => Err(self.unexpected(name, "a boolean or null")),
        }
    }

    pub fn optional_text(&self, name: &str) -> Result<Option<&str>, AppError> {
        match self.value(name)? {
            DbValue::Str(value) => Ok(Some(value)),
            DbValue::DbNull => Ok(None),
            _ => Err(self.unexpected(name, "text or null")),
        }
    }

    pub fn optional_binary(&self, name: &str) -> Result<Option<&[u8]>, AppError> {
        match self.value(name)? {
            DbValue::Binary(value) => Ok(Some(value)),
            DbValue::DbNull => Ok(None),
            _ => Err(self.unexpected(name, "bytes or null")),
        }
    }

    /// The columns of `trade_sql::summary_columns` with `prefix`.
    pub fn rating_summary(&self, prefix: &str) -> Result<RatingSummary, AppError> {
        Ok(RatingSummary {
            average_tenths: self.optional_int64(&format!("{prefix}_average10"))?,
            count: self
                .optional_int64(&format!("{prefix}_count"))?
                .unwrap_or(0),
        })
    }

    pub fn text(&self, name: &str) -> Result<String, AppError> {
        self.optional_text(name)?
            .map(str::to_owned)
            .ok_or_else(|| self.unexpected(name, "text"))
    }

    /// A UTC `timestamp` as RFC 3339 with microseconds.
    pub fn utc_time(&self, name: &str) -> Result<String, AppError> {
        self.optional_utc_time(name)?
            .ok_or_else(|| self.unexpected(name, "a timestamp"))
    }

    pub fn optional_utc_time(&self, name: &str) -> Result<Option<String>, AppError> {
        match self.value(name)? {
            DbValue::Datetime((year, month, day, hour, minute, second, nanos)) => {
                Ok(Some(format!(
                    "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{:06}Z",
                    nanos / 1_000
                )))
            }
            DbValue::DbNull => Ok(None),
            _ => Err(self.unexpected(name, "a timestamp or null")),
        }
    }
}

impl TryFrom<&Row<'_>> for Item {
    type Error = AppError;

    fn try_from(row: &Row<'_>) -> Result<Self, AppError> {
        Ok(Self {
            id: row.int64("id")?,
            name: row.text("name")?,
            quantity: row.int32("quantity")?,
            price_cents: row.int64("price_cents")?,
            description: row.text("description")?,
            date_added: row.utc_time("date_added")?,
            seller_id: row.optional_int64("seller_id")?,
            seller_name: row.optional_text("seller_name")?.map(str::to_owned),
            withdrawn: row.boolean("withdrawn")?,
            seller_rating: row.rating_summary("seller_rating")?,
            photos: match row.optional_text("photos")? {
                Some(json) => serde_json::from_str(json)
                    .map_err(|error| AppError::Internal(format!("photos of an item: {error}")))?,
                None => Vec::new(),
            },
        })
    }
}

impl TryFrom<&Row<'_>> for Purchase {
    type Error = AppError;

    fn try_from(row: &Row<'_>) -> Result<Self, AppError> {
        Ok(Self {
            id: row.int64("id")?,
            item_id: row.int64("item_id")?,
            quantity: row.int32("quantity")?,
            remaining: row.int32("remaining")?,
            price_cents: row.optional_int64("price_cents")?,
            purchased_at: row.utc_time("purchased_at")?,
        })
    }
}

impl TryFrom<&Row<'_>> for SellerListing {
    type Error = AppError;

    fn try_from(row: &Row<'_>) -> Result<Self, AppError> {
        Ok(Self {
            item: Item::try_from(row)?,
            sold: row.int64("sold")?,
        })
    }
}

impl TryFrom<&Row<'_>> for PurchaseLine {
    type Error = AppError;

    fn try_from(row: &Row<'_>) -> Result<Self, AppError> {
        Ok(Self {
            purchase: Purchase::try_from(row)?,
            item_name: row.text("item_name")?,
        })
    }
}

impl TryFrom<&Row<'_>> for Person {
    type Error = AppError;

    fn try_from(row: &Row<'_>) -> Result<Self, AppError> {
        Ok(Self {
            id: AccountId::new(row.int64("id")?),
            display_name: row.text("display_name")?,
        })
    }
}

impl TryFrom<&Row<'_>> for ApiTokenInfo {
    type Error = AppError;

    fn try_from(row: &Row<'_>) -> Result<Self, AppError> {
        Ok(Self {
            id: row.int64("id")?,
            name: row.text("name")?,
            created_at: row.utc_time("created_at")?,
            last_used_at: row.optional_utc_time("last_used_at")?,
            revoked_at: row.optional_utc_time("revoked_at")?,
        })
    }
}
