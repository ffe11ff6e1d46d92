//! The statements of orders (`purchases` with their states, migrations/sql/0010): read
//! one for a party, list a person's, and move one by one conditional statement each, so
//! two racing clicks never ship a cancelled order, cancel twice, or return units twice.

use spin_sdk::pg4::{Connection, ParameterValue};

use crate::domain::account::AccountId;
use crate::domain::error::AppError;
use crate::domain::order::{Action, Order, OrderState, Party};
use crate::storage::trade_sql::{effective_received_at, effective_state};
use crate::storage::{db, rows, sql};

fn order_select(condition: &str, order: &str) -> String {
    format!(
        "SELECT p.id, p.item_id, i.name AS item_name, p.quantity, p.price_cents, \
            p.buyer_id, b.display_name AS buyer_name, p.seller_id, s.display_name AS seller_name, \
            {state} AS state, p.purchased_at AT TIME ZONE 'UTC' AS placed_at, \
            p.shipped_at AT TIME ZONE 'UTC' AS shipped_at, p.ship_note, \
            {received} AT TIME ZONE 'UTC' AS received_at, \
            (p.received_at IS NULL AND {received} IS NOT NULL) AS received_automatically, \
            p.cancelled_at AT TIME ZONE 'UTC' AS cancelled_at, \
            CASE WHEN p.cancelled_by = p.buyer_id THEN 'buyer' \
                 WHEN p.cancelled_by = p.seller_id THEN 'seller' END AS cancelled_by \
         FROM purchases AS p JOIN items AS i ON i.id = p.item_id \
         JOIN accounts AS b ON b.id = p.buyer_id JOIN accounts AS s ON s.id = p.seller_id \
         WHERE {condition} {order}",
        state = effective_state("p"),
        received = effective_received_at("p"),
    )
}

const ORDER_COLUMNS: &str = "found.id, found.item_id, found.item_name, found.quantity, \
    found.price_cents, found.buyer_id, found.buyer_name, found.seller_id, found.seller_name, \
    found.state, found.placed_at, found.shipped_at, found.ship_note, found.received_at, \
    found.received_automatically, found.cancelled_at, found.cancelled_by";

fn order_of(row: &rows::Row<'_>) -> Result<Order, AppError> {
    let state = row.text("state")?;
    Ok(Order {
        id: row.int64("id")?,
        item_id: row.int64("item_id")?,
        item_name: row.text("item_name")?,
        quantity: row.int32("quantity")?,
        price_cents: row.optional_int64("price_cents")?,
        buyer_id: row.int64("buyer_id")?,
        buyer_name: row.text("buyer_name")?,
        seller_id: row.int64("seller_id")?,
        seller_name: row.text("seller_name")?,
        state: OrderState::parse(&state)
            .ok_or_else(|| AppError::Internal(format!("order state {state}")))?,
        placed_at: row.utc_time("placed_at")?,
        shipped_at: row.optional_utc_time("shipped_at")?,
        ship_note: row.optional_text("ship_note")?.map(str::to_owned),
        received_at: row.optional_utc_time("received_at")?,
        received_automatically: row.boolean("received_automatically")?,
        cancelled_at: row.optional_utc_time("cancelled_at")?,
        cancelled_by: row.optional_text("cancelled_by")?.and_then(Party::parse),
    })
}

/// Order `order` if `viewer` is its buyer or its seller.
pub fn find(conn: &Connection, order: i64, viewer: AccountId) -> Result<Option<Order>, AppError> {
    let statement = sql::at_least_one_row(
        ORDER_COLUMNS,
        &order_select(
            "p.id = $1::bigint AND $2::bigint IN (p.buyer_id, p.seller_id)",
            "",
        ),
    );
    let rows = db::query(
        conn,
        &statement,
        &[
            ParameterValue::Int64(order),
            ParameterValue::Int64(viewer.get()),
        ],
    )?;
    rows::found(&rows, "find order", "id")
        .next()
        .map(|row| order_of(&row))
        .transpose()
}

/// The newest orders (at most `limit`) where `viewer` is `party`; for a seller, those to
/// ship first.
pub fn of_party(
    conn: &Connection,
    viewer: AccountId,
    party: Party,
    limit: u32,
) -> Result<Vec<Order>, AppError> {
    let column = match party {
        Party::Buyer => "p.buyer_id",
        Party::Seller => "p.seller_id",
    };
    let order = match party {
        Party::Buyer => "ORDER BY p.id DESC LIMIT $2".to_owned(),
        Party::Seller => format!(
            "ORDER BY ({} = 'placed') DESC, p.id DESC LIMIT $2",
            effective_state("p")
        ),
    };
    let statement = format!(
        "{} ORDER BY found.state = 'placed' AND $3::boolean DESC, found.id DESC",
        sql::at_least_one_row(
            ORDER_COLUMNS,
            &order_select(&format!("{column} = $1::bigint"), &order),
        )
    );
    let rows = db::query(
        conn,
        &statement,
        &[
            ParameterValue::Int64(viewer.get()),
            ParameterValue::Int64(i64::from(limit)),
            ParameterValue::Boolean(party == Party::Seller),
        ],
    )?;
    rows::found(&rows, "orders of a party", "id")
        .map(|row| order_of(&row))
        .collect()
}

/// Takes `action` on `order` as `actor`, if they are its party for it and it is in the
/// state it starts from, in one statement (with its notice, and for a cancel the units
/// back to stock): whether it did. `note` is the shipping note.
pub fn act(
    conn: &Connection,
    order: i64,
    actor: AccountId,
    action: Action,
    note: &str,
) -> Result<bool, AppError> {
    let statement = match action {
        Action::Ship => {
            "WITH done AS (
                 UPDATE purchases SET state = 'shipped', shipped_at = now(),
                        ship_note = nullif($3::text, '')
                 WHERE id = $1::bigint AND seller_id = $2::bigint AND state = 'placed'
                 RETURNING id, buyer_id),
             noticed AS (
                 INSERT INTO notices (account_id, kind, order_id)
                 SELECT buyer_id, 'order_shipped', id FROM done)
             SELECT count(*) AS done FROM done"
        }
        Action::Receive => {
            "WITH done AS (
                 UPDATE purchases SET state = 'received',
                        received_at = least(now(), shipped_at + interval '14 days')
                 WHERE id = $1::bigint AND buyer_id = $2::bigint AND state = 'shipped'
                   AND $3::text IS NOT NULL
                 RETURNING id)
             SELECT count(*) AS done FROM done"
        }
        Action::Cancel => {
            "WITH done AS (
                 UPDATE purchases SET state = 'cancelled', cancelled_at = now(),
                        cancelled_by = $2::bigint
                 WHERE id = $1::bigint AND $2::bigint IN (buyer_id, seller_id)
                   AND state = 'placed' AND $3::text IS NOT NULL
                 RETURNING item_id, quantity),
             restocked AS (
                 UPDATE items SET quantity = least(items.quantity + done.quantity, 1000000)
                 FROM done WHERE items.id = done.item_id
                 RETURNING items.id)
             SELECT count(*) AS done FROM done"
        }
    };
    let rows = db::query(
        conn,
        statement,
        &[
            ParameterValue::Int64(order),
            ParameterValue::Int64(actor.get()),
            ParameterValue::Str(note.to_owned()),
        ],
    )?;
    Ok(rows::single(&rows, "order action")?.int64("done")? > 0)
}
