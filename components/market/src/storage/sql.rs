//! Every SQL statement of the app, as text: parameterised, columns named.
//!
//! Each write is one statement, so it is atomic without a transaction spanning calls.
//! Spin cannot read `timestamptz` columns (its host decodes timestamps as naive), so
//! times are read back as UTC `timestamp` values.
//!
//! Two behaviours of Spin 4.0's Postgres host (spinframework/spin#3671, still in the
//! v4.0.2 image) shape every statement here:
//!
//! - a `query` whose statement yields no rows never returns: the host waits for column
//!   metadata that only a first row would carry, and the request hangs. So every
//!   statement is built by [`at_least_one_row`] (or is an aggregate);
//! - a database error raised while rows stream (a unique violation inside a CTE, a
//!   statement timeout) reaches the guest as `QueryError::Text`, without a SQLSTATE
//!   field. So expected outcomes (unknown item, too little stock, a key already used)
//!   are columns of that one row, and errors are left for the unexpected.

use crate::domain::idempotency::KEY_LIFETIME;
use crate::domain::listing::Listing;

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

/// An item's columns, read from the `items` table or a CTE shaped like it, by the names
/// `storage::rows` decodes.
const ITEM_FIELDS: &str = "id, name, quantity, price_cents, description, \
     date_added AT TIME ZONE 'UTC' AS date_added";
const ITEM_COLUMNS: &str = "found.id, found.name, found.quantity, found.price_cents, \
     found.description, found.date_added";

/// A purchase's columns, likewise.
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
pub fn created_with_key_sql() -> String {
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
pub fn bought_with_key_sql() -> String {
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
pub fn find_item_sql() -> String {
    at_least_one_row(
        ITEM_COLUMNS,
        &format!("SELECT {ITEM_FIELDS} FROM items WHERE id = $1"),
    )
}

/// The newest applied migration (an aggregate: one row, NULL before the first).
pub const SCHEMA_VERSION_SQL: &str = "SELECT max(version) AS version FROM schema_migrations";

/// `fields` with each column read from `table` (`id, name` → `items.id, items.name`),
/// for joins where a column name alone would be ambiguous.
fn qualified(table: &str, fields: &str) -> String {
    fields
        .split(", ")
        .map(|field| format!("{table}.{field}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

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
