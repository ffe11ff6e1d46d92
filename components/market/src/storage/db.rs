//! Every SQL statement of the app, run through Spin's Postgres interface.
//!
//! Statements are parameterised and name their columns. Each write is one statement, so
//! it is atomic without a transaction spanning calls. Spin cannot read `timestamptz`
//! columns (its host decodes timestamps as naive), so times are read back as UTC
//! `timestamp` values.
//!
//! Two behaviours of Spin 4.0's Postgres host (spinframework/spin#3671, still in the
//! v4.0.2 image) shape every statement here:
//!
//! - a `query` whose statement yields no rows never returns: the host waits for column
//!   metadata that only a first row would carry, and the request hangs. So every
//!   statement is built by [`at_least_one_row`] and sent by [`query`], the only caller
//!   of `Connection::query`;
//! - a database error raised while rows stream (a unique violation inside a CTE, a
//!   statement timeout) reaches the guest as `QueryError::Text`, without a SQLSTATE
//!   field. So expected outcomes (unknown item, too little stock, a key already used)
//!   are columns of that one row, and errors are left for the unexpected.

use spin_sdk::pg4::{Connection, DbValue, ParameterValue, PgError, QueryError, RowSet};

use crate::domain::error::AppError;
use crate::domain::item::{IdempotencyKey, Item, ItemId, NewItem, Purchase, PurchaseQuantity};
use crate::domain::listing::Listing;
use crate::storage::config;

/// How long an idempotency key answers replays. After that it is free again: a request
/// with it is new, and its row may be removed.
pub const KEY_LIFETIME: &str = "24 hours";

/// A CTE that removes a few expired idempotency keys (not `$key`, which this statement
/// claims) as part of every write, so the table does not grow without bound and no job
/// is needed. Rows another write is removing are skipped, not waited for.
fn remove_expired_keys(operation: &str, key: &str) -> String {
    format!(
        "expired AS (
             DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(
                 SELECT ctid FROM idempotency_keys
                 WHERE created_at < now() - interval '{KEY_LIFETIME}'
                   AND NOT (operation = '{operation}' AND key IS NOT DISTINCT FROM {key})
                 LIMIT 10 FOR UPDATE SKIP LOCKED))
         )"
    )
}

/// The `ON CONFLICT` of a key claim: an expired key is claimed anew (its row takes the
/// new request), a live one is left alone and the claim yields nothing.
fn claim_unless_live(reference: &str) -> String {
    format!(
        "ON CONFLICT (operation, key) DO UPDATE
             SET request = EXCLUDED.request, {reference} = EXCLUDED.{reference},
                 created_at = now()
             WHERE idempotency_keys.created_at < now() - interval '{KEY_LIFETIME}'"
    )
}

/// An item's columns, read from the `items` table or a CTE shaped like it, in the order
/// [`Item::try_from`] decodes them.
const ITEM_FIELDS: &str = "id, name, quantity, price_cents, description, \
     date_added AT TIME ZONE 'UTC' AS date_added";
const ITEM_COLUMNS: &str = "found.id, found.name, found.quantity, found.price_cents, \
     found.description, found.date_added";

/// A purchase's columns, likewise, in the order [`Purchase::try_from`] decodes them.
const PURCHASE_FIELDS: &str =
    "id, item_id, quantity, remaining, purchased_at AT TIME ZONE 'UTC' AS purchased_at";
const PURCHASE_COLUMNS: &str =
    "found.id, found.item_id, found.quantity, found.remaining, found.purchased_at";

/// The statement that selects `columns` from the rows of `found` (a query that may yield
/// none, its rows named `found`), padded to one row of NULLs when there are none.
///
/// This is the rule of spinframework/spin#3671 in one place: Spin 4.0 never answers a
/// `query` that yields no rows, and a one-row table left-joined to anything yields at
/// least one row. A padding row has NULL in every column of `found`.
fn at_least_one_row(columns: &str, found: &str) -> String {
    format!("SELECT {columns} FROM (SELECT 1) AS one LEFT JOIN ({found}) AS found ON true")
}

/// Sends a statement built by [`at_least_one_row`] (or an aggregate, which always yields
/// one row) and returns its rows.
fn query(db: &Connection, sql: &str, params: &[ParameterValue]) -> Result<RowSet, AppError> {
    Ok(db.query(sql, params)?)
}

/// The rows of `found` in a result of [`at_least_one_row`]: those whose column at
/// `index`, never NULL in a real row, is not NULL.
fn found_rows(rows: &RowSet, index: usize) -> impl Iterator<Item = &[DbValue]> {
    rows.rows
        .iter()
        .map(Vec::as_slice)
        .filter(move |row| !matches!(row.get(index), None | Some(DbValue::DbNull)))
}

/// The one row a statement built by [`at_least_one_row`] yields when `found` has at
/// most one.
fn single_row<'a>(rows: &'a RowSet, statement: &str) -> Result<&'a [DbValue], AppError> {
    match rows.rows.as_slice() {
        [row] => Ok(row.as_slice()),
        other => Err(AppError::Internal(format!(
            "{statement} returned {} rows, expected one",
            other.len()
        ))),
    }
}

/// Creates an item (`$1` name, `$2` quantity, `$3` price in cents, `$4` description)
/// unless the idempotency key `$5` (NULL for none) is already claimed, claiming it for
/// the request `$6`, in one statement. Yields the new item, or a row of NULLs when the
/// key was already claimed.
pub fn insert_item_sql() -> String {
    // The item's id is drawn first so that the claim can name it: the item is inserted
    // only when the key was free, and a concurrent claim of the same key waits for this
    // one and then finds it taken.
    let ctes = format!(
        "WITH new_item AS (
             SELECT nextval(pg_get_serial_sequence('items', 'id')) AS id
         ), claim AS (
             INSERT INTO idempotency_keys (operation, key, request, item_id)
             SELECT 'create_item', $5::text, $6::text, id FROM new_item
             WHERE $5::text IS NOT NULL
             {}
             RETURNING key
         ), created AS (
             INSERT INTO items (id, name, quantity, price_cents, description)
             OVERRIDING SYSTEM VALUE
             SELECT id, $1::text, $2::integer, $3::bigint, $4::text FROM new_item
             WHERE $5::text IS NULL OR EXISTS (SELECT FROM claim)
             RETURNING id, name, quantity, price_cents, description, date_added
         ), {}",
        claim_unless_live("item_id"),
        remove_expired_keys("create_item", "$5::text")
    );
    let found = format!("SELECT {ITEM_FIELDS} FROM created");
    format!("{ctes} {}", at_least_one_row(ITEM_COLUMNS, &found))
}

/// The item and request that the live `create_item` key `$1` was first claimed for.
fn created_with_key_sql() -> String {
    let found = format!(
        "SELECT idempotency_keys.request, {} FROM idempotency_keys
         JOIN items ON items.id = idempotency_keys.item_id
         WHERE idempotency_keys.operation = 'create_item' AND idempotency_keys.key = $1::text",
        qualified("items", ITEM_FIELDS)
    );
    at_least_one_row(&format!("found.request, {ITEM_COLUMNS}"), &found)
}

/// Takes `$2` units of item `$1` if that many are left and the idempotency key `$3`
/// (NULL for none) is free, records the purchase and claims the key for the request
/// `$4`, in one statement. Yields whether the key was already claimed, the stock before
/// this statement, and the purchase (NULLs when nothing was taken).
pub fn buy_item_sql() -> String {
    // The claim comes first, so a concurrent buy with the same key waits for this one
    // and then takes nothing. A claim whose buy took nothing keeps the purchase id it
    // reserved with no purchase behind it: a retry finds the key and answers from the
    // stock, which only ever goes down.
    let ctes = format!(
        "WITH new_purchase AS (
             SELECT nextval(pg_get_serial_sequence('purchases', 'id')) AS id
         ), claim AS (
             INSERT INTO idempotency_keys (operation, key, request, purchase_id)
             SELECT 'buy_item', $3::text, $4::text, id FROM new_purchase
             WHERE $3::text IS NOT NULL
             {}
             RETURNING key
         ), taken AS (
             UPDATE items SET quantity = quantity - $2::integer
             WHERE id = $1::bigint AND quantity >= $2::integer
               AND ($3::text IS NULL OR EXISTS (SELECT FROM claim))
             RETURNING id, quantity
         ), bought AS (
             INSERT INTO purchases (id, item_id, quantity, remaining) OVERRIDING SYSTEM VALUE
             SELECT new_purchase.id, taken.id, $2::integer, taken.quantity
             FROM new_purchase, taken
             RETURNING id, item_id, quantity, remaining, purchased_at
         ), {}",
        claim_unless_live("purchase_id"),
        remove_expired_keys("buy_item", "$3::text")
    );
    let columns = format!(
        "$3::text IS NOT NULL AND NOT EXISTS (SELECT FROM claim) AS key_taken,
         (SELECT quantity FROM items WHERE id = $1::bigint) AS stock, {PURCHASE_COLUMNS}"
    );
    let found = format!("SELECT {PURCHASE_FIELDS} FROM bought");
    format!("{ctes} {}", at_least_one_row(&columns, &found))
}

/// The request that the `buy_item` key `$1` was first claimed for, the stock of item
/// `$2` now, and the purchase the key made (NULLs when that buy took nothing).
fn bought_with_key_sql() -> String {
    let found = format!(
        "SELECT idempotency_keys.request, {} FROM idempotency_keys
         LEFT JOIN purchases ON purchases.id = idempotency_keys.purchase_id
         WHERE idempotency_keys.operation = 'buy_item' AND idempotency_keys.key = $1::text",
        qualified("purchases", PURCHASE_FIELDS)
    );
    let columns = format!(
        "found.request, (SELECT quantity FROM items WHERE id = $2::bigint) AS stock, \
         {PURCHASE_COLUMNS}"
    );
    at_least_one_row(&columns, &found)
}

/// The newest `$2` items of the listing with an id below `$1`, newest first: in stock
/// unless the listing includes sold-out items, matching the search words `$3` when it
/// has a search. Sold-out filtering uses the partial index `items_in_stock`, search the
/// GIN index `items_search` (migrations/sql/0005).
pub fn list_items_sql(listing: &Listing) -> String {
    let mut conditions = vec!["id < $1"];
    if !listing.include_sold_out {
        conditions.push("quantity > 0");
    }
    if listing.search.is_some() {
        conditions.push("search @@ websearch_to_tsquery('english', $3::text)");
    }
    let found = format!(
        "SELECT {ITEM_FIELDS} FROM items WHERE {} ORDER BY id DESC LIMIT $2",
        conditions.join(" AND ")
    );
    format!(
        "{} ORDER BY found.id DESC",
        at_least_one_row(ITEM_COLUMNS, &found)
    )
}

/// The item with id `$1`.
fn find_item_sql() -> String {
    at_least_one_row(
        ITEM_COLUMNS,
        &format!("SELECT {ITEM_FIELDS} FROM items WHERE id = $1"),
    )
}

/// The newest applied migration (an aggregate: one row, NULL before the first).
pub const SCHEMA_VERSION_SQL: &str = "SELECT max(version) AS version FROM schema_migrations";

/// Opens a connection to the configured database (Spin lends one from its pool for
/// this component; it goes back when the `Connection` is dropped).
pub fn open() -> Result<Connection, AppError> {
    Ok(Connection::open(&config::database_url()?)?)
}

/// Opens a connection for the readiness check, with a connection string of its own
/// (`config::READINESS_APPLICATION_NAME` says why).
pub fn open_for_readiness() -> Result<Connection, AppError> {
    let url =
        config::with_application_name(&config::database_url()?, config::READINESS_APPLICATION_NAME);
    Ok(Connection::open(&url)?)
}

/// What creating an item came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// The item as stored: new, or the one a retry with the same key first created.
    Item(Item),
    /// The idempotency key was first used for a different request.
    KeyReused,
}

/// Stores a new item and returns it as stored. With a key already used for the same
/// item, returns that first item and writes nothing.
pub fn insert_item(
    db: &Connection,
    item: &NewItem,
    key: Option<&IdempotencyKey>,
) -> Result<Created, AppError> {
    let request = serde_json::json!([
        item.name.as_str(),
        item.quantity.get(),
        item.price.cents(),
        item.description.as_str()
    ])
    .to_string();
    let params = [
        ParameterValue::Str(item.name.as_str().to_owned()),
        ParameterValue::Int32(item.quantity.get()),
        ParameterValue::Int64(item.price.cents()),
        ParameterValue::Str(item.description.as_str().to_owned()),
        key_parameter(key),
        ParameterValue::Str(request.clone()),
    ];
    let rows = query(db, &insert_item_sql(), &params)?;
    if let Some(row) = found_rows(&rows, 0).next() {
        return Item::try_from(row).map(Created::Item);
    }
    let Some(key) = key else {
        return Err(AppError::Internal(
            "an item without an idempotency key was not inserted".into(),
        ));
    };
    // The key was already claimed: answer with what it first created.
    let rows = query(db, &created_with_key_sql(), &[key_parameter(Some(key))])?;
    let row = single_row(&rows, "idempotency key lookup")?;
    match first_request(row)? {
        first if first == request => Item::try_from(&row[1..]).map(Created::Item),
        _ => Ok(Created::KeyReused),
    }
}

/// What a buy came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bought {
    /// The purchase: new, or the one a retry with the same key first made.
    Purchase(Purchase),
    /// No item has this id.
    UnknownItem,
    /// Fewer units are left than were asked for (none when sold out).
    TooFewLeft(i32),
    /// The idempotency key was first used for a different request.
    KeyReused,
}

/// Takes `quantity` units of an item, in one statement: the stock check, the decrement
/// and the purchase record cannot interleave with another buyer's. With a key already
/// used for the same purchase, returns that first purchase and takes nothing.
pub fn buy_item(
    db: &Connection,
    item: ItemId,
    quantity: PurchaseQuantity,
    key: Option<&IdempotencyKey>,
) -> Result<Bought, AppError> {
    let request = serde_json::json!([item.get(), quantity.get()]).to_string();
    let params = [
        ParameterValue::Int64(item.get()),
        ParameterValue::Int32(quantity.get()),
        key_parameter(key),
        ParameterValue::Str(request.clone()),
    ];
    let rows = query(db, &buy_item_sql(), &params)?;
    let row = single_row(&rows, "buy")?;
    if let Some(purchase) = found_rows(&rows, 2).next() {
        return Purchase::try_from(&purchase[2..]).map(Bought::Purchase);
    }
    let columns = Columns { row, table: "buy" };
    let stock = columns.optional_int32(1, "stock")?;
    match (key, columns.boolean(0, "key_taken")?) {
        (Some(key), true) => replay_buy(db, item, quantity, key, &request),
        _ => not_taken(db, item, quantity, stock),
    }
}

/// Answers a buy whose key was already claimed: the first purchase if the key was first
/// used for this same request and took stock, else why it could not.
fn replay_buy(
    db: &Connection,
    item: ItemId,
    quantity: PurchaseQuantity,
    key: &IdempotencyKey,
    request: &str,
) -> Result<Bought, AppError> {
    let params = [key_parameter(Some(key)), ParameterValue::Int64(item.get())];
    let rows = query(db, &bought_with_key_sql(), &params)?;
    let row = single_row(&rows, "idempotency key lookup")?;
    if first_request(row)? != request {
        return Ok(Bought::KeyReused);
    }
    if let Some(purchase) = found_rows(&rows, 2).next() {
        return Purchase::try_from(&purchase[2..]).map(Bought::Purchase);
    }
    let stock = Columns {
        row,
        table: "idempotency key lookup",
    }
    .optional_int32(1, "stock")?;
    not_taken(db, item, quantity, stock)
}

/// Why a buy took nothing, given the item's stock as the statement saw it (`None`: no
/// such item). When that stock would have sufficed, another buyer took units between
/// the statement's snapshot and its update: the stock is read again.
fn not_taken(
    db: &Connection,
    item: ItemId,
    quantity: PurchaseQuantity,
    stock: Option<i32>,
) -> Result<Bought, AppError> {
    let reason = |stock: Option<i32>| match stock {
        None => Some(Bought::UnknownItem),
        Some(left) if left < quantity.get() => Some(Bought::TooFewLeft(left)),
        Some(_) => None,
    };
    if let Some(outcome) = reason(stock) {
        return Ok(outcome);
    }
    let now = find_item(db, item)?.map(|found| found.quantity);
    reason(now).ok_or_else(|| {
        AppError::Internal(format!(
            "buying {} of item {} took nothing though {now:?} are left",
            quantity.get(),
            item.get()
        ))
    })
}

/// One page of the listing, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemsPage {
    pub items: Vec<Item>,
    /// The cursor for the next (older) page, if there is one.
    pub next: Option<ItemId>,
}

/// The newest `limit` items of the listing older than `before` (from the newest when
/// `before` is `None`).
///
/// Keyset pagination over the primary key: one index scan, however deep the page.
pub fn list_items_before(
    db: &Connection,
    listing: &Listing,
    before: Option<ItemId>,
    limit: u32,
) -> Result<ItemsPage, AppError> {
    let mut params = vec![
        ParameterValue::Int64(before.map_or(i64::MAX, ItemId::get)),
        // One more than asked tells whether an older page exists.
        ParameterValue::Int64(i64::from(limit) + 1),
    ];
    if let Some(search) = &listing.search {
        params.push(ParameterValue::Str(search.as_str().to_owned()));
    }
    let rows = query(db, &list_items_sql(listing), &params)?;
    let mut items = found_rows(&rows, 0)
        .map(Item::try_from)
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
    let rows = query(db, &find_item_sql(), &[ParameterValue::Int64(id.get())])?;
    found_rows(&rows, 0).next().map(Item::try_from).transpose()
}

/// The newest migration applied to the database, or `None` before the first one.
pub fn schema_version(db: &Connection) -> Result<Option<i64>, AppError> {
    let rows = query(db, SCHEMA_VERSION_SQL, &[])?;
    let row = single_row(&rows, "schema version")?;
    Columns {
        row,
        table: "schema_migrations",
    }
    .optional_int64(0, "version")
}

fn key_parameter(key: Option<&IdempotencyKey>) -> ParameterValue {
    key.map_or(ParameterValue::DbNull, |key| {
        ParameterValue::Str(key.as_str().to_owned())
    })
}

/// The request an idempotency key was first claimed for, from the first column of a
/// key lookup.
fn first_request(row: &[DbValue]) -> Result<&str, AppError> {
    match row.first() {
        Some(DbValue::Str(request)) => Ok(request),
        // Claimed by the statement that just failed to claim it, yet gone now.
        _ => Err(AppError::Internal(
            "an idempotency key was taken but cannot be found".into(),
        )),
    }
}

/// `fields` with each column read from `table` (`id, name` → `items.id, items.name`),
/// for joins where a column name alone would be ambiguous.
fn qualified(table: &str, fields: &str) -> String {
    fields
        .split(", ")
        .map(|field| format!("{table}.{field}"))
        .collect::<Vec<_>>()
        .join(", ")
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

    /// The column held something other than `expected`. (Its value is not printed:
    /// formatting every kind of Postgres value would add float printing to each
    /// component.)
    fn unexpected(&self, name: &str, expected: &str) -> AppError {
        AppError::Internal(format!(
            "{} column {name} does not hold {expected}",
            self.table
        ))
    }

    fn int64(&self, index: usize, name: &str) -> Result<i64, AppError> {
        self.optional_int64(index, name)?
            .ok_or_else(|| self.unexpected(name, "a bigint"))
    }

    fn optional_int64(&self, index: usize, name: &str) -> Result<Option<i64>, AppError> {
        match self.get(index, name)? {
            DbValue::Int64(value) => Ok(Some(*value)),
            DbValue::DbNull => Ok(None),
            _ => Err(self.unexpected(name, "a bigint or null")),
        }
    }

    fn int32(&self, index: usize, name: &str) -> Result<i32, AppError> {
        self.optional_int32(index, name)?
            .ok_or_else(|| self.unexpected(name, "an integer"))
    }

    fn optional_int32(&self, index: usize, name: &str) -> Result<Option<i32>, AppError> {
        match self.get(index, name)? {
            DbValue::Int32(value) => Ok(Some(*value)),
            DbValue::DbNull => Ok(None),
            _ => Err(self.unexpected(name, "an integer or null")),
        }
    }

    fn boolean(&self, index: usize, name: &str) -> Result<bool, AppError> {
        match self.get(index, name)? {
            DbValue::Boolean(value) => Ok(*value),
            _ => Err(self.unexpected(name, "a boolean")),
        }
    }

    fn text(&self, index: usize, name: &str) -> Result<String, AppError> {
        match self.get(index, name)? {
            DbValue::Str(value) => Ok(value.clone()),
            _ => Err(self.unexpected(name, "text")),
        }
    }

    /// A UTC `timestamp` as RFC 3339 with microseconds.
    fn utc_time(&self, index: usize, name: &str) -> Result<String, AppError> {
        match self.get(index, name)? {
            DbValue::Datetime((year, month, day, hour, minute, second, nanos)) => Ok(format!(
                "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{:06}Z",
                nanos / 1_000
            )),
            _ => Err(self.unexpected(name, "a timestamp")),
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
            price_cents: columns.int64(3, "price_cents")?,
            description: columns.text(4, "description")?,
            date_added: columns.utc_time(5, "date_added")?,
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

/// The SQLSTATE inside the text of an error that Spin passes as `QueryError::Text`: a
/// database error raised while rows streamed arrives debug-formatted, with its
/// `code: "57014"` (Spin's own error) or `code: SqlState(E57014)` (tokio-postgres').
fn sqlstate_in_text(text: &str) -> Option<&str> {
    ["code: \"", "code: SqlState(E"].iter().find_map(|marker| {
        let start = text.find(marker)? + marker.len();
        let code = text.get(start..start + 5)?;
        code.bytes()
            .all(|byte| byte.is_ascii_alphanumeric())
            .then_some(code)
    })
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
            PgError::QueryFailed(QueryError::Text(detail))
                if sqlstate_in_text(&detail).is_some_and(is_transient_sqlstate)
                    || is_transport_failure(&detail) =>
            {
                AppError::Unavailable(format!("talking to Postgres: {detail}"))
            }
            other => AppError::Internal(format!("Postgres call failed: {other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_timeout_passed_as_text_is_found_by_its_sqlstate() {
        let spin = r#"QueryFailed(DbError(DbError { as_text: "Error { kind: Db, cause: Some(DbError { code: SqlState(E57014) }) }", severity: "ERROR", code: "57014", message: "canceling statement due to statement timeout" }))"#;
        assert_eq!(sqlstate_in_text(spin), Some("57014"));
        let tokio = "Error { kind: Db, cause: Some(DbError { code: SqlState(E23505) }) }";
        assert_eq!(sqlstate_in_text(tokio), Some("23505"));
        assert_eq!(sqlstate_in_text("query result exceeds limit"), None);
    }

    #[test]
    fn a_timeout_is_unavailable_and_a_unique_violation_is_a_bug() {
        let text = |code: &str| {
            PgError::QueryFailed(QueryError::Text(format!("DbError {{ code: \"{code}\" }}")))
        };
        assert!(matches!(
            AppError::from(text("57014")),
            AppError::Unavailable(_)
        ));
        assert!(matches!(
            AppError::from(text("23505")),
            AppError::Internal(_)
        ));
    }

    #[test]
    fn every_statement_yields_a_row_even_when_nothing_is_found() {
        for sql in [
            insert_item_sql(),
            created_with_key_sql(),
            buy_item_sql(),
            bought_with_key_sql(),
            list_items_sql(&Listing::default()),
            list_items_sql(&Listing {
                search: crate::domain::listing::SearchTerms::parse("lamp").unwrap(),
                include_sold_out: true,
            }),
            find_item_sql(),
        ] {
            assert!(
                sql.contains("FROM (SELECT 1) AS one LEFT JOIN ("),
                "not padded to one row: {sql}"
            );
        }
        assert!(SCHEMA_VERSION_SQL.starts_with("SELECT max("));
    }
}
