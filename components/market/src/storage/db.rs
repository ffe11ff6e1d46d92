//! The app's use of Postgres through Spin: open a connection, run a statement of
//! `storage::sql`, and report what it came to as data (`Created`, `Bought`): an unknown
//! item, too little stock or a key already used are outcomes, not errors.

use spin_sdk::pg4::{Connection, ParameterValue, RowSet};

use crate::domain::error::AppError;
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::item::{Item, ItemId, NewItem, Purchase, PurchaseQuantity};
use crate::domain::listing::Listing;
use crate::observe::record;
use crate::storage::rows::{self, Row};
use crate::storage::{config, sql};

/// Sends a statement built by `sql::at_least_one_row` (or an aggregate, which always
/// yields one row) and returns its rows: the only caller of `Connection::query`, so the
/// request's time in Postgres is measured here.
fn query(db: &Connection, sql: &str, params: &[ParameterValue]) -> Result<RowSet, AppError> {
    let started = std::time::Instant::now();
    let rows = db.query(sql, params);
    record::database_call(started.elapsed());
    Ok(rows?)
}

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
    /// The item as stored, new.
    Item(Item),
    /// The item a request with the same key and the same fields first created.
    Replayed(Item),
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
    let rows = query(db, &sql::insert_item_sql(), &params)?;
    if let Some(row) = rows::found(&rows, "insert item", "id").next() {
        return Item::try_from(&row).map(Created::Item);
    }
    let Some(key) = key else {
        return Err(AppError::Internal(
            "an item without an idempotency key was not inserted".into(),
        ));
    };
    // The key was already claimed: answer with what it first created.
    let rows = query(
        db,
        &sql::created_with_key_sql(),
        &[key_parameter(Some(key))],
    )?;
    let row = rows::single(&rows, "idempotency key lookup")?;
    match first_request(&row)? {
        first if first == request => Item::try_from(&row).map(Created::Replayed),
        _ => Ok(Created::KeyReused),
    }
}

/// What a buy came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bought {
    /// The purchase, new.
    Purchase(Purchase),
    /// The purchase a request with the same key and the same fields first made.
    Replayed(Purchase),
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
    let rows = query(db, &sql::buy_item_sql(), &params)?;
    let row = rows::single(&rows, "buy")?;
    if row.optional_int64("id")?.is_some() {
        return Purchase::try_from(&row).map(Bought::Purchase);
    }
    let stock = row.optional_int32("stock")?;
    match (key, row.boolean("key_taken")?) {
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
    let rows = query(db, &sql::bought_with_key_sql(), &params)?;
    let row = rows::single(&rows, "idempotency key lookup")?;
    if first_request(&row)? != request {
        return Ok(Bought::KeyReused);
    }
    if row.optional_int64("id")?.is_some() {
        return Purchase::try_from(&row).map(Bought::Replayed);
    }
    not_taken(db, item, quantity, row.optional_int32("stock")?)
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
    let rows = query(db, &sql::list_items_sql(listing), &params)?;
    let mut items = rows::found(&rows, "list items", "id")
        .map(|row| Item::try_from(&row))
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
    let rows = query(
        db,
        &sql::find_item_sql(),
        &[ParameterValue::Int64(id.get())],
    )?;
    rows::found(&rows, "find item", "id")
        .next()
        .map(|row| Item::try_from(&row))
        .transpose()
}

/// The newest migration applied to the database, or `None` before the first one.
pub fn schema_version(db: &Connection) -> Result<Option<i64>, AppError> {
    let rows = query(db, sql::SCHEMA_VERSION_SQL, &[])?;
    rows::single(&rows, "schema version")?.optional_int64("version")
}

fn key_parameter(key: Option<&IdempotencyKey>) -> ParameterValue {
    key.map_or(ParameterValue::DbNull, |key| {
        ParameterValue::Str(key.as_str().to_owned())
    })
}

/// The request an idempotency key was first claimed for, from a key lookup.
fn first_request<'a>(row: &'a Row<'_>) -> Result<&'a str, AppError> {
    // None: claimed by the statement that just failed to claim it, yet gone now.
    row.optional_text("request")?.ok_or_else(|| {
        AppError::Internal("an idempotency key was taken but cannot be found".into())
    })
}
