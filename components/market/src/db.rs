//! Every SQL statement of the app, run through Spin's Postgres interface.
//!
//! Statements are parameterised and name their columns. Spin cannot read `timestamptz`
//! columns (its host decodes timestamps as naive), so times are read back as UTC
//! `timestamp` values.

use spin_sdk::pg4::{Connection, DbValue, ParameterValue, PgError, QueryError};

use crate::config;
use crate::error::AppError;
use crate::item::{Item, ItemId, NewItem};

/// The columns of an item in the order [`Item::try_from`] decodes them.
const ITEM_COLUMNS: &str =
    "id, name, quantity, description, date_added AT TIME ZONE 'UTC' AS date_added";

/// Opens a connection to the configured database (Spin lends one from its pool for
/// this component; it goes back when the `Connection` is dropped).
pub fn open() -> Result<Connection, AppError> {
    Ok(Connection::open(&config::database_url()?)?)
}

/// Stores a new item and returns it as stored.
pub fn insert_item(db: &Connection, item: &NewItem) -> Result<Item, AppError> {
    let sql = format!(
        "INSERT INTO items (name, quantity, description) VALUES ($1, $2, $3) \
         RETURNING {ITEM_COLUMNS}"
    );
    let rows = db.query(
        &sql,
        &[
            ParameterValue::Str(item.name.as_str().to_owned()),
            ParameterValue::Int32(item.quantity.get()),
            ParameterValue::Str(item.description.as_str().to_owned()),
        ],
    )?;
    let row = rows
        .rows
        .first()
        .ok_or_else(|| AppError::Internal("INSERT returned no row".into()))?;
    Item::try_from(row.as_slice())
}

/// One page of the listing, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    let sql = format!("SELECT {ITEM_COLUMNS} FROM items WHERE id < $1 ORDER BY id DESC LIMIT $2");
    let rows = db.query(
        &sql,
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
    let rows = db.query("SELECT max(version) AS version FROM schema_migrations", &[])?;
    match rows.rows.first().and_then(|row| row.first()) {
        Some(DbValue::Int64(version)) => Ok(Some(*version)),
        Some(DbValue::DbNull) | None => Ok(None),
        Some(other) => Err(AppError::Internal(format!(
            "schema_migrations.version has an unexpected type: {other:?}"
        ))),
    }
}

impl TryFrom<&[DbValue]> for Item {
    type Error = AppError;

    fn try_from(row: &[DbValue]) -> Result<Self, AppError> {
        let column = |index: usize, name: &str| {
            row.get(index)
                .ok_or_else(|| AppError::Internal(format!("item row has no column {name}")))
        };
        let unexpected = |name: &str, value: &DbValue| {
            AppError::Internal(format!("item column {name} has unexpected value {value:?}"))
        };
        let id = match column(0, "id")? {
            DbValue::Int64(id) => *id,
            other => return Err(unexpected("id", other)),
        };
        let name = match column(1, "name")? {
            DbValue::Str(name) => name.clone(),
            other => return Err(unexpected("name", other)),
        };
        let quantity = match column(2, "quantity")? {
            DbValue::Int32(quantity) => *quantity,
            other => return Err(unexpected("quantity", other)),
        };
        let description = match column(3, "description")? {
            DbValue::Str(description) => description.clone(),
            other => return Err(unexpected("description", other)),
        };
        let date_added = match column(4, "date_added")? {
            DbValue::Datetime((year, month, day, hour, minute, second, nanos)) => format!(
                "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{:06}Z",
                nanos / 1_000
            ),
            other => return Err(unexpected("date_added", other)),
        };
        Ok(Self {
            id,
            name,
            quantity,
            description,
            date_added,
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

impl From<PgError> for AppError {
    fn from(error: PgError) -> Self {
        match error {
            PgError::ConnectionFailed(detail) => {
                AppError::Unavailable(format!("connecting to Postgres: {detail}"))
            }
            PgError::QueryFailed(QueryError::DbError(db)) if is_transient_sqlstate(&db.code) => {
                AppError::Unavailable(format!("Postgres {}: {}", db.code, db.message))
            }
            PgError::QueryFailed(QueryError::DbError(db)) => {
                AppError::Internal(format!("Postgres {}: {}", db.code, db.message))
            }
            // Without a Postgres error code the failure is in the transport: a connection
            // that closed or broke mid-query.
            PgError::QueryFailed(QueryError::Text(detail)) => {
                AppError::Unavailable(format!("talking to Postgres: {detail}"))
            }
            other => AppError::Internal(format!("Postgres call rejected: {other:?}")),
        }
    }
}
