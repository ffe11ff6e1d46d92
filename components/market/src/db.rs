//! Every SQL statement of the app, run through Spin's Postgres interface.
//!
//! Statements are parameterised and name their columns. Each write is one statement, so
//! it is atomic without a transaction spanning calls. Spin cannot read `timestamptz`
//! columns (its host decodes timestamps as naive), so times are read back as UTC
//! `timestamp` values.

use spin_sdk::pg4::{Connection, DbValue, ParameterValue, PgError, QueryError, RowSet};

use crate::config;
use crate::error::AppError;
use crate::item::{IdempotencyKey, Item, ItemId, NewItem, Purchase, PurchaseQuantity};

/// The columns of an item in the order [`Item::try_from`] decodes them.
const ITEM_COLUMNS: &str =
    "items.id, items.name, items.quantity, items.description, items.date_added AT TIME ZONE 'UTC'";

/// The columns of a purchase in the order [`Purchase::try_from`] decodes them.
const PURCHASE_COLUMNS: &str = "purchases.id, purchases.item_id, purchases.quantity, \
     purchases.remaining, purchases.purchased_at AT TIME ZONE 'UTC'";

/// Creates an item (`$1` name, `$2` quantity, `$3` description) and claims the
/// idempotency key `$4` (NULL for none) recording the request `$5`, in one statement.
pub fn insert_item_sql() -> String {
    // The CTEs are named like their tables so that ITEM_COLUMNS reads from them.
    format!(
        "WITH items AS (
             INSERT INTO items (name, quantity, description) VALUES ($1, $2, $3)
             RETURNING id, name, quantity, description, date_added
         ), claim AS (
             INSERT INTO idempotency_keys (operation, key, request, item_id)
             SELECT 'create_item', $4, $5, id FROM items WHERE $4::text IS NOT NULL
         )
         SELECT {ITEM_COLUMNS} FROM items"
    )
}

/// Takes `$2` units of item `$1` if that many are left, records the purchase and claims
/// the idempotency key `$3` (NULL for none) recording the request `$4`, in one statement.
pub fn buy_item_sql() -> String {
    // The CTE `purchases` is named like its table so that PURCHASE_COLUMNS reads from it.
    format!(
        "WITH taken AS (
             UPDATE items SET quantity = quantity - $2 WHERE id = $1 AND quantity >= $2
             RETURNING id, quantity
         ), purchases AS (
             INSERT INTO purchases (item_id, quantity, remaining)
             SELECT id, $2, quantity FROM taken
             RETURNING id, item_id, quantity, remaining, purchased_at
         ), claim AS (
             INSERT INTO idempotency_keys (operation, key, request, purchase_id)
             SELECT 'buy_item', $3, $4, id FROM purchases WHERE $3::text IS NOT NULL
         )
         SELECT {PURCHASE_COLUMNS} FROM purchases"
    )
}

/// The newest `$2` items with an id below `$1`.
pub fn list_items_sql() -> String {
    format!("SELECT {ITEM_COLUMNS} FROM items WHERE id < $1 ORDER BY id DESC LIMIT $2")
}

/// The newest applied migration.
pub const SCHEMA_VERSION_SQL: &str = "SELECT max(version) AS version FROM schema_migrations";

/// Opens a connection to the configured database (Spin lends one from its pool for
/// this component; it goes back when the `Connection` is dropped).
pub fn open() -> Result<Connection, AppError> {
    Ok(Connection::open(&config::database_url()?)?)
}

/// Stores a new item and returns it as stored. With a key already used for the same
/// item, returns that first item and writes nothing.
pub fn insert_item(
    db: &Connection,
    item: &NewItem,
    key: Option<&IdempotencyKey>,
) -> Result<Item, AppError> {
    let request = serde_json::json!([
        item.name.as_str(),
        item.quantity.get(),
        item.description.as_str()
    ])
    .to_string();
    let sql = insert_item_sql();
    let params = [
        ParameterValue::Str(item.name.as_str().to_owned()),
        ParameterValue::Int32(item.quantity.get()),
        ParameterValue::Str(item.description.as_str().to_owned()),
        key_parameter(key),
        ParameterValue::Str(request.clone()),
    ];
    match db.query(&sql, &params) {
        Ok(rows) => first_row(&rows, "INSERT INTO items").and_then(Item::try_from),
        Err(error) => match key {
            Some(key) if is_key_taken(&error) => {
                let sql = format!(
                    "SELECT idempotency_keys.request, {ITEM_COLUMNS} FROM idempotency_keys
                     JOIN items ON items.id = idempotency_keys.item_id
                     WHERE operation = 'create_item' AND key = $1"
                );
                replay(db, &sql, key, &request, |row| Item::try_from(row))
            }
            _ => Err(error.into()),
        },
    }
}

/// Takes `quantity` units of an item, in one statement: the stock check, the decrement
/// and the purchase record cannot interleave with another buyer's. With a key already
/// used for the same purchase, returns that first purchase and takes nothing.
pub fn buy_item(
    db: &Connection,
    item: ItemId,
    quantity: PurchaseQuantity,
    key: Option<&IdempotencyKey>,
) -> Result<Purchase, AppError> {
    let request = serde_json::json!([item.get(), quantity.get()]).to_string();
    let sql = buy_item_sql();
    let params = [
        ParameterValue::Int64(item.get()),
        ParameterValue::Int32(quantity.get()),
        key_parameter(key),
        ParameterValue::Str(request.clone()),
    ];
    let rows = match db.query(&sql, &params) {
        Ok(rows) => rows,
        Err(error) => {
            return match key {
                Some(key) if is_key_taken(&error) => {
                    let sql = format!(
                        "SELECT idempotency_keys.request, {PURCHASE_COLUMNS} FROM idempotency_keys
                         JOIN purchases ON purchases.id = idempotency_keys.purchase_id
                         WHERE operation = 'buy_item' AND key = $1"
                    );
                    replay(db, &sql, key, &request, |row| Purchase::try_from(row))
                }
                _ => Err(error.into()),
            };
        }
    };
    match rows.rows.first() {
        Some(row) => Purchase::try_from(row.as_slice()),
        // Nothing taken: the item is missing, or has too few units left.
        None => match find_item(db, item)? {
            None => Err(AppError::NotFound),
            Some(found) if found.quantity == 0 => {
                Err(AppError::Conflict("This item is sold out.".into()))
            }
            Some(found) => Err(AppError::Conflict(format!(
                "Only {} left in stock.",
                found.quantity
            ))),
        },
    }
}

/// One page of the listing, newest first.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ItemsPage {
    pub items: Vec<Item>,
    /// The cursor for the next (older) page, if there is one.
    pub next: Option<ItemId>,
}

/// The newest `limit` items older than `before` (all items when `before` is `None`).
///
/// Keyset pagination over the primary key: one index scan, however deep the page.
pub fn list_items_before(
    db: &Connection,
    before: Option<ItemId>,
    limit: u32,
) -> Result<ItemsPage, AppError> {
    let rows = db.query(
        &list_items_sql(),
        &[
            ParameterValue::Int64(before.map_or(i64::MAX, ItemId::get)),
            // One more than asked tells whether an older page exists.
            ParameterValue::Int64(i64::from(limit) + 1),
        ],
    )?;
    let mut items = rows
        .rows
        .iter()
        .map(|row| Item::try_from(row.as_slice()))
        .collect::<Result<Vec<_>, _>>()?;
    let next = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(Item::id)
    } else {
        None
    };
    Ok(ItemsPage { items, next })
}

/// The item with this id, if it exists.
pub fn find_item(db: &Connection, id: ItemId) -> Result<Option<Item>, AppError> {
    let sql = format!("SELECT {ITEM_COLUMNS} FROM items WHERE id = $1");
    let rows = db.query(&sql, &[ParameterValue::Int64(id.get())])?;
    rows.rows
        .first()
        .map(|row| Item::try_from(row.as_slice()))
        .transpose()
}

/// The newest migration applied to the database, or `None` before the first one.
pub fn schema_version(db: &Connection) -> Result<Option<i64>, AppError> {
    let rows = db.query(SCHEMA_VERSION_SQL, &[])?;
    match rows.rows.first().and_then(|row| row.first()) {
        Some(DbValue::Int64(version)) => Ok(Some(*version)),
        Some(DbValue::DbNull) | None => Ok(None),
        Some(other) => Err(AppError::Internal(format!(
            "schema_migrations.version has an unexpected type: {other:?}"
        ))),
    }
}

fn key_parameter(key: Option<&IdempotencyKey>) -> ParameterValue {
    key.map_or(ParameterValue::DbNull, |key| {
        ParameterValue::Str(key.as_str().to_owned())
    })
}

/// Whether a write failed because its idempotency key was already claimed.
fn is_key_taken(error: &PgError) -> bool {
    matches!(error, PgError::QueryFailed(QueryError::DbError(db))
        if db.code == "23505"
            && db.extras.iter().any(|(name, value)| name == "constraint" && value == "idempotency_keys_pkey"))
}

/// Answers a write whose key was already claimed with its first result, if the key was
/// first used for this same request. `sql` selects the stored `request`, then the
/// columns `decode` reads, for the key `$1`.
fn replay<T>(
    db: &Connection,
    sql: &str,
    key: &IdempotencyKey,
    request: &str,
    decode: impl FnOnce(&[DbValue]) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let rows = db.query(sql, &[key_parameter(Some(key))])?;
    let row = first_row(&rows, "idempotency key lookup")?;
    match row.split_first() {
        Some((DbValue::Str(first_request), rest)) if first_request == request => decode(rest),
        Some((DbValue::Str(_), _)) => Err(AppError::Conflict(
            "This Idempotency-Key was already used for a different request.".into(),
        )),
        _ => Err(AppError::Internal(
            "idempotency key row without a request".into(),
        )),
    }
}

fn first_row<'a>(rows: &'a RowSet, statement: &str) -> Result<&'a [DbValue], AppError> {
    rows.rows
        .first()
        .map(Vec::as_slice)
        .ok_or_else(|| AppError::Internal(format!("{statement} returned no row")))
}

/// Reads the columns of one row by position, saying which column was not as expected.
struct Columns<'a> {
    row: &'a [DbValue],
    table: &'static str,
}

impl Columns<'_> {
    fn get(&self, index: usize, name: &str) -> Result<&DbValue, AppError> {
        self.row
            .get(index)
            .ok_or_else(|| AppError::Internal(format!("{} row has no column {name}", self.table)))
    }

    fn unexpected(&self, name: &str, value: &DbValue) -> AppError {
        AppError::Internal(format!(
            "{} column {name} has unexpected value {value:?}",
            self.table
        ))
    }

    fn int64(&self, index: usize, name: &str) -> Result<i64, AppError> {
        match self.get(index, name)? {
            DbValue::Int64(value) => Ok(*value),
            other => Err(self.unexpected(name, other)),
        }
    }

    fn int32(&self, index: usize, name: &str) -> Result<i32, AppError> {
        match self.get(index, name)? {
            DbValue::Int32(value) => Ok(*value),
            other => Err(self.unexpected(name, other)),
        }
    }

    fn text(&self, index: usize, name: &str) -> Result<String, AppError> {
        match self.get(index, name)? {
            DbValue::Str(value) => Ok(value.clone()),
            other => Err(self.unexpected(name, other)),
        }
    }

    /// A UTC `timestamp` as RFC 3339 with microseconds.
    fn utc_time(&self, index: usize, name: &str) -> Result<String, AppError> {
        match self.get(index, name)? {
            DbValue::Datetime((year, month, day, hour, minute, second, nanos)) => Ok(format!(
                "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{:06}Z",
                nanos / 1_000
            )),
            other => Err(self.unexpected(name, other)),
        }
    }
}

impl TryFrom<&[DbValue]> for Item {
    type Error = AppError;

    fn try_from(row: &[DbValue]) -> Result<Self, AppError> {
        let columns = Columns {
            row,
            table: "items",
        };
        Ok(Self {
            id: columns.int64(0, "id")?,
            name: columns.text(1, "name")?,
            quantity: columns.int32(2, "quantity")?,
            description: columns.text(3, "description")?,
            date_added: columns.utc_time(4, "date_added")?,
        })
    }
}

impl TryFrom<&[DbValue]> for Purchase {
    type Error = AppError;

    fn try_from(row: &[DbValue]) -> Result<Self, AppError> {
        let columns = Columns {
            row,
            table: "purchases",
        };
        Ok(Self {
            id: columns.int64(0, "id")?,
            item_id: columns.int64(1, "item_id")?,
            quantity: columns.int32(2, "quantity")?,
            remaining: columns.int32(3, "remaining")?,
            purchased_at: columns.utc_time(4, "purchased_at")?,
        })
    }
}

/// SQLSTATE classes that mean "Postgres cannot serve right now", not "the app is wrong":
/// 08 connection exception, 53 insufficient resources, 57 operator intervention
/// (shutdown, statement timeout).
fn is_transient_sqlstate(code: &str) -> bool {
    ["08", "53", "57"]
        .iter()
        .any(|class| code.starts_with(class))
}

/// Whether a tokio-postgres error without a Postgres code (Spin passes its `{:?}` text)
/// is a broken or refused transport, rather than a conversion the app got wrong.
fn is_transport_failure(text: &str) -> bool {
    ["kind: Closed", "kind: Io", "kind: Connect", "kind: Timeout"]
        .iter()
        .any(|kind| text.contains(kind))
}

impl From<PgError> for AppError {
    fn from(error: PgError) -> Self {
        match error {
            // A host missing from allowed_outbound_hosts is a deployment mistake, not an
            // outage: retrying will not help.
            PgError::ConnectionFailed(detail) if detail.contains("is not permitted") => {
                AppError::Internal(format!("Postgres address refused by Spin: {detail}"))
            }
            PgError::ConnectionFailed(detail) => {
                AppError::Unavailable(format!("connecting to Postgres: {detail}"))
            }
            PgError::QueryFailed(QueryError::DbError(db)) if is_transient_sqlstate(&db.code) => {
                AppError::Unavailable(format!("Postgres {}: {}", db.code, db.message))
            }
            PgError::QueryFailed(QueryError::DbError(db)) => {
                AppError::Internal(format!("Postgres {}: {}", db.code, db.message))
            }
            PgError::QueryFailed(QueryError::Text(detail)) if is_transport_failure(&detail) => {
                AppError::Unavailable(format!("talking to Postgres: {detail}"))
            }
            other => AppError::Internal(format!("Postgres call failed: {other:?}")),
        }
    }
}
