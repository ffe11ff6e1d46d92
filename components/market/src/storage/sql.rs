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

use crate::domain::account::SESSION_TOUCH_INTERVAL;
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

/// The `writer` CTE of a write done for `writer` (`$n` its parameter): one row, its
/// account's `id`, or none when an API token is unknown or revoked; a token's use is
/// noted as by [`token_person_sql`].
fn writer(by_token: bool, n: u8) -> String {
    if !by_token {
        return format!("writer AS (SELECT ${n}::bigint AS id)");
    }
    format!(
        "writer AS (
             SELECT account_id AS id FROM api_tokens
             WHERE token_hash = ${n}::text AND revoked_at IS NULL
         ), noted AS (
             UPDATE api_tokens SET last_used_at = now()
             WHERE token_hash = ${n}::text AND revoked_at IS NULL
               AND (last_used_at IS NULL
                    OR last_used_at < now() - interval '{SESSION_TOUCH_INTERVAL}')
         )"
    )
}

/// The request an idempotency key is claimed for: its writer's account and `$n`, the
/// request's own fields.
fn claimed_request(n: u8) -> String {
    format!("writer.id || ' ' || ${n}::text")
}

/// An item's columns, read from `table` (the `items` table or a CTE shaped like it), by
/// the names `storage::rows` decodes: with its seller's display name (none for items
/// listed before accounts existed).
/// The photos of the item whose id is the SQL expression `item_id`, as the JSON text of
/// an array of the API's photo objects in order (`domain::photo::Photo`), or NULL for
/// none: a column of every statement that reads items.
pub fn photos_json(item_id: &str) -> String {
    let url = |column: &str| format!("'/photos/' || encode(photo.{column}, 'hex') || '.jpg'");
    format!(
        "(SELECT json_agg(json_build_object(\
            'id', photo.id, 'url', {}, 'thumbnail_url', {}, \
            'width', photo.display_width, 'height', photo.display_height, \
            'thumbnail_width', photo.thumb_width, 'thumbnail_height', photo.thumb_height, \
            'description', photo.description) ORDER BY photo.position)::text \
          FROM item_photos AS photo WHERE photo.item_id = {item_id})",
        url("display_sha256"),
        url("thumb_sha256"),
    )
}

pub(crate) fn item_fields(table: &str) -> String {
    format!(
        "{table}.id, {table}.name, {table}.quantity, {table}.price_cents, \
         {table}.description, {table}.date_added AT TIME ZONE 'UTC' AS date_added, \
         {table}.seller_id, {table}.withdrawn_at IS NOT NULL AS withdrawn, \
         (SELECT display_name FROM accounts WHERE accounts.id = {table}.seller_id) AS seller_name, \
         {} AS photos, {}",
        photos_json(&format!("{table}.id")),
        crate::storage::trade_sql::summary_columns(
            &format!("{table}.seller_id"),
            "seller",
            "seller_rating"
        )
    )
}
pub(crate) const ITEM_COLUMNS: &str = "found.id, found.name, found.quantity, found.price_cents, \
     found.description, found.date_added, found.seller_id, found.withdrawn, found.seller_name, \
     found.photos, found.seller_rating_average10, found.seller_rating_count";
/// What `RETURNING` must hand on for [`item_fields`] to read a written row.
const ITEM_RETURNING: &str =
    "id, name, quantity, price_cents, description, date_added, seller_id, withdrawn_at";

/// A purchase's columns, likewise.
const PURCHASE_FIELDS: &str = "id, item_id, quantity, remaining, price_cents, \
     purchased_at AT TIME ZONE 'UTC' AS purchased_at";
const PURCHASE_COLUMNS: &str = "found.id, found.item_id, found.quantity, found.remaining, \
     found.price_cents, found.purchased_at";

/// The statement that selects `columns` from the rows of `found` (a query that may yield
/// none, its rows named `found`), padded to one row of NULLs when there are none.
///
/// This is the rule of spinframework/spin#3671 in one place: Spin 4.0 never answers a
/// `query` that yields no rows, and a one-row table left-joined to anything yields at
/// least one row. A padding row has NULL in every column of `found`.
pub(crate) fn at_least_one_row(columns: &str, found: &str) -> String {
    format!("SELECT {columns} FROM (SELECT 1) AS one LEFT JOIN ({found}) AS found ON true")
}

/// Creates an item (`$1` name, `$2` quantity, `$3` price in cents, `$4` description) for
/// its seller `$7` (their account, or the digest of their API token: `by_token`) unless
/// the idempotency key `$5` (NULL for none) is already claimed, claiming it for the
/// request `$6` (with the seller's account), in one statement; only a seller whose email
/// address is verified lists. Yields the seller's account (`writer_id`, NULL for a token
/// that is unknown or revoked: nothing written), whether their address is verified
/// (`verified`, 0: nothing written) and the new item, or NULLs when the key was already
/// claimed.
pub fn insert_item_sql(by_token: bool) -> String {
    // The item's id is drawn first so that the claim can name it: the item is inserted
    // only when the key was free, and a concurrent claim of the same key waits for this
    // one and then finds it taken.
    let ctes = format!(
        "WITH {}, lister AS (
             SELECT writer.id FROM writer JOIN accounts ON accounts.id = writer.id
             WHERE accounts.email_verified_at IS NOT NULL
         ), new_item AS (
             SELECT nextval(pg_get_serial_sequence('items', 'id')) AS id FROM lister
         ), claim AS (
             INSERT INTO idempotency_keys (operation, key, request, item_id)
             SELECT 'create_item', $5::text, {}, new_item.id FROM new_item, writer
             WHERE $5::text IS NOT NULL
             {}
             RETURNING key
         ), created AS (
             INSERT INTO items (id, name, quantity, price_cents, description, seller_id)
             OVERRIDING SYSTEM VALUE
             SELECT new_item.id, $1::text, $2::integer, $3::bigint, $4::text, writer.id
             FROM new_item, writer
             WHERE $5::text IS NULL OR EXISTS (SELECT FROM claim)
             RETURNING {ITEM_RETURNING}
         ), {}",
        writer(by_token, 7),
        claimed_request(6),
        claim_unless_live("item_id"),
        remove_expired_keys("create_item", "$5::text")
    );
    let found = format!("SELECT {} FROM created", item_fields("created"));
    let columns = format!(
        "(SELECT id FROM writer) AS writer_id, (SELECT count(*) FROM lister) AS verified, \
         {ITEM_COLUMNS}"
    );
    format!("{ctes} {}", at_least_one_row(&columns, &found))
}

/// The item and request that the live `create_item` key `$1` was first claimed for.
pub fn created_with_key_sql() -> String {
    let found = format!(
        "SELECT idempotency_keys.request, {} FROM idempotency_keys
         JOIN items ON items.id = idempotency_keys.item_id
         WHERE idempotency_keys.operation = 'create_item' AND idempotency_keys.key = $1::text",
        item_fields("items")
    );
    at_least_one_row(&format!("found.request, {ITEM_COLUMNS}"), &found)
}

/// Takes `$2` units of item `$1` for the buyer `$5` (their account, or the digest of
/// their API token: `by_token`) if that many are left, the item is for sale (not
/// withdrawn), its price is still `$6` (NULL: any) and the idempotency key `$3` (NULL
/// for none) is free; records the purchase at that price and claims the key for the
/// request `$4` (with the buyer's account), in one statement. Yields the buyer's account
/// (`writer_id`, NULL for a token that is unknown or revoked: nothing taken), whether
/// the key was already claimed, the item as it was before this statement, and the
/// purchase (NULLs when nothing was taken).
pub fn buy_item_sql(by_token: bool) -> String {
    // The claim comes first, so a concurrent buy with the same key waits for this one
    // and then takes nothing. A claim whose buy took nothing keeps the purchase id it
    // reserved with no purchase behind it: a retry finds the key and answers from the
    // stock, which only ever goes down.
    let ctes = format!(
        "WITH {}, new_purchase AS (
             SELECT nextval(pg_get_serial_sequence('purchases', 'id')) AS id FROM writer
         ), claim AS (
             INSERT INTO idempotency_keys (operation, key, request, purchase_id)
             SELECT 'buy_item', $3::text, {}, new_purchase.id FROM new_purchase, writer
             WHERE $3::text IS NOT NULL
             {}
             RETURNING key
         ), taken AS (
             UPDATE items SET quantity = quantity - $2::integer
             WHERE id = $1::bigint AND quantity >= $2::integer AND withdrawn_at IS NULL
               AND ($6::bigint IS NULL OR price_cents = $6::bigint)
               AND EXISTS (SELECT FROM writer)
               AND seller_id IS DISTINCT FROM (SELECT id FROM writer)
               AND ($3::text IS NULL OR EXISTS (SELECT FROM claim))
             RETURNING id, quantity, price_cents, seller_id
         ), bought AS (
             INSERT INTO purchases (id, item_id, quantity, remaining, buyer_id, price_cents,
                                    seller_id)
             OVERRIDING SYSTEM VALUE
             SELECT new_purchase.id, taken.id, $2::integer, taken.quantity, writer.id,
                    taken.price_cents, taken.seller_id
             FROM new_purchase, taken, writer
             RETURNING id, item_id, quantity, remaining, price_cents, purchased_at, seller_id
         ), order_to_ship AS (
             INSERT INTO notices (account_id, kind, order_id)
             SELECT seller_id, 'order_to_ship', id FROM bought WHERE seller_id IS NOT NULL
         ), {}",
        writer(by_token, 5),
        claimed_request(4),
        claim_unless_live("purchase_id"),
        remove_expired_keys("buy_item", "$3::text")
    );
    let columns = format!(
        "(SELECT id FROM writer) AS writer_id,
         $3::text IS NOT NULL AND EXISTS (SELECT FROM writer)
             AND NOT EXISTS (SELECT FROM claim) AS key_taken,
         coalesce((SELECT seller_id FROM items WHERE id = $1::bigint)
                  = (SELECT id FROM writer), false) AS own_item,
         {}, {PURCHASE_COLUMNS}",
        item_state("$1::bigint")
    );
    let found = format!("SELECT {PURCHASE_FIELDS} FROM bought");
    format!("{ctes} {}", at_least_one_row(&columns, &found))
}

/// What a buy needs to know of item `item`, as columns: its `stock` (NULL: no such
/// item), `current_price`, and whether it is `withdrawn`.
fn item_state(item: &str) -> String {
    format!(
        "(SELECT quantity FROM items WHERE id = {item}) AS stock,
         (SELECT price_cents FROM items WHERE id = {item}) AS current_price,
         coalesce((SELECT withdrawn_at IS NOT NULL FROM items WHERE id = {item}), false)
             AS withdrawn"
    )
}

/// The request that the `buy_item` key `$1` was first claimed for, item `$2` as it is
/// now, and the purchase the key made (NULLs when that buy took nothing).
pub fn bought_with_key_sql() -> String {
    let found = format!(
        "SELECT idempotency_keys.request, {} FROM idempotency_keys
         LEFT JOIN purchases ON purchases.id = idempotency_keys.purchase_id
         WHERE idempotency_keys.operation = 'buy_item' AND idempotency_keys.key = $1::text",
        qualified("purchases", PURCHASE_FIELDS)
    );
    let columns = format!(
        "found.request, {}, {PURCHASE_COLUMNS}",
        item_state("$2::bigint")
    );
    at_least_one_row(&columns, &found)
}

/// The newest `$2` items of the listing with an id below `$1`, newest first: in stock
/// unless the listing includes sold-out items, never withdrawn ones, matching the search
/// words `$3` when it has a search. The default listing uses the partial index
/// `items_for_sale` (migrations/sql/0008), search the GIN index `items_search` (0005).
pub fn list_items_sql(listing: &Listing) -> String {
    let mut conditions = vec!["id < $1", "withdrawn_at IS NULL"];
    if !listing.include_sold_out {
        conditions.push("quantity > 0");
    }
    if listing.search.is_some() {
        conditions.push("search @@ websearch_to_tsquery('english', $3::text)");
    }
    let found = format!(
        "SELECT {} FROM items WHERE {} ORDER BY id DESC LIMIT $2",
        item_fields("items"),
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
        &format!("SELECT {} FROM items WHERE id = $1", item_fields("items")),
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

/// Changes the price `$4`, stock `$3` and description `$5` of item `$1` if the account
/// `$2` sells it and has not withdrawn it. Yields the item as changed (NULLs when not),
/// and `withdrawn`: NULL when `$2` is not its seller (or there is no such item).
pub fn update_item_sql() -> String {
    let changed = "changed AS (
             UPDATE items SET quantity = $3::integer, price_cents = $4::bigint,
                              description = $5::text
             WHERE id = $1::bigint AND seller_id = $2::bigint AND withdrawn_at IS NULL
             RETURNING "
        .to_owned()
        + ITEM_RETURNING
        + ")";
    let columns = format!(
        "(SELECT withdrawn_at IS NOT NULL FROM items
          WHERE id = $1::bigint AND seller_id = $2::bigint) AS was_withdrawn, {ITEM_COLUMNS}"
    );
    let found = format!("SELECT {} FROM changed", item_fields("changed"));
    format!("WITH {changed} {}", at_least_one_row(&columns, &found))
}

/// Withdraws item `$1` if the account `$2` sells it (again: no change). Yields its id,
/// NULL when `$2` is not its seller.
pub fn withdraw_item_sql() -> String {
    format!(
        "WITH withdrawn AS (
             UPDATE items SET withdrawn_at = coalesce(withdrawn_at, now())
             WHERE id = $1::bigint AND seller_id = $2::bigint RETURNING id
         ) {}",
        at_least_one_row("found.id", "SELECT id FROM withdrawn")
    )
}

/// The newest `$3` purchases of the buyer `$1` with an id below `$2`, with the name of
/// what they bought.
pub fn purchases_of_sql() -> String {
    let found = format!(
        "SELECT {}, items.name AS item_name FROM purchases
         JOIN items ON items.id = purchases.item_id
         WHERE purchases.buyer_id = $1::bigint AND purchases.id < $2::bigint
         ORDER BY purchases.id DESC LIMIT $3",
        qualified("purchases", PURCHASE_FIELDS)
    );
    format!(
        "{} ORDER BY found.id DESC",
        at_least_one_row(&format!("{PURCHASE_COLUMNS}, found.item_name"), &found)
    )
}

/// The newest `$3` items the seller `$1` listed with an id below `$2` (sold out and
/// withdrawn ones too), with how many units of each were `sold`.
pub fn listings_of_sql() -> String {
    let found = format!(
        "SELECT {}, (SELECT coalesce(sum(purchases.quantity), 0) FROM purchases
                     WHERE purchases.item_id = items.id)::bigint AS sold
         FROM items WHERE seller_id = $1::bigint AND id < $2::bigint
         ORDER BY id DESC LIMIT $3",
        item_fields("items")
    );
    format!(
        "{} ORDER BY found.id DESC",
        at_least_one_row(&format!("{ITEM_COLUMNS}, found.sold"), &found)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_statement_yields_a_row_even_when_nothing_is_found() {
        for sql in [
            insert_item_sql(false),
            insert_item_sql(true),
            created_with_key_sql(),
            buy_item_sql(false),
            buy_item_sql(true),
            bought_with_key_sql(),
            list_items_sql(&Listing::default()),
            list_items_sql(&Listing {
                search: crate::domain::listing::SearchTerms::parse("lamp").unwrap(),
                include_sold_out: true,
            }),
            find_item_sql(),
            update_item_sql(),
            withdraw_item_sql(),
            purchases_of_sql(),
            listings_of_sql(),
        ] {
            assert!(
                sql.contains("FROM (SELECT 1) AS one LEFT JOIN ("),
                "not padded to one row: {sql}"
            );
        }
        assert!(SCHEMA_VERSION_SQL.starts_with("SELECT max("));
    }
}
