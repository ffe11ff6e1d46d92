//! The statements of reviews (migrations/sql/0010): writing one is a single conditional
//! insert (a party of a received order, once: the unique constraint decides between two
//! racing clicks), and a review is shown to others when both parties wrote theirs or 14
//! days after receipt.

use spin_sdk::pg4::{Connection, ParameterValue};

use crate::domain::account::AccountId;
use crate::domain::error::AppError;
use crate::domain::order::{OrderState, Party};
use crate::domain::review::Review;
use crate::storage::db::{self, OwnPage};
use crate::storage::trade_sql::{effective_state, visible};
use crate::storage::{rows, sql};

/// What writing a review came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Added(i64),
    /// Not a party of the order (or no such order).
    NotTheirs,
    /// The order is not received (yet, or ever).
    NotReceived(OrderState),
    /// They already reviewed this order.
    Already,
}

/// `author` reviews the other party of order `order`.
pub fn write(
    conn: &Connection,
    order: i64,
    author: AccountId,
    rating: i16,
    text: &str,
) -> Result<Written, AppError> {
    let statement = format!(
        "WITH o AS (
             SELECT p.id, p.buyer_id, p.seller_id, {state} AS state FROM purchases AS p
             WHERE p.id = $1::bigint AND $2::bigint IN (p.buyer_id, p.seller_id)),
         added AS (
             INSERT INTO reviews (order_id, author_id, subject_id, subject_role, rating, body)
             SELECT o.id, $2::bigint,
                    CASE WHEN o.buyer_id = $2::bigint THEN o.seller_id ELSE o.buyer_id END,
                    CASE WHEN o.buyer_id = $2::bigint THEN 'seller' ELSE 'buyer' END,
                    $3::smallint, $4::text
             FROM o WHERE o.state = 'received'
             ON CONFLICT (order_id, author_id) DO NOTHING
             RETURNING id, subject_id),
         noticed AS (
             INSERT INTO notices (account_id, kind, order_id)
             SELECT subject_id, 'review', $1::bigint FROM added)
         SELECT (SELECT state FROM o) AS state, (SELECT id FROM added) AS review_id",
        state = effective_state("p"),
    );
    let rows = db::query(
        conn,
        &statement,
        &[
            ParameterValue::Int64(order),
            ParameterValue::Int64(author.get()),
            ParameterValue::Int16(rating),
            ParameterValue::Str(text.to_owned()),
        ],
    )?;
    let row = rows::single(&rows, "write review")?;
    if let Some(id) = row.optional_int64("review_id")? {
        return Ok(Written::Added(id));
    }
    let Some(state) = row.optional_text("state")? else {
        return Ok(Written::NotTheirs);
    };
    match OrderState::parse(state) {
        Some(OrderState::Received) => Ok(Written::Already),
        Some(other) => Ok(Written::NotReceived(other)),
        None => Err(AppError::Internal(format!("order state {state}"))),
    }
}

fn review_select(condition: &str) -> String {
    format!(
        "SELECT r.id, r.order_id, r.author_id, a.display_name AS author_name, r.subject_id, \
            r.subject_role, r.rating::integer AS rating, r.body, r.written_at AT TIME ZONE 'UTC' AS written_at, \
            {visible} AS visible \
         FROM reviews AS r JOIN accounts AS a ON a.id = r.author_id \
         JOIN purchases AS p ON p.id = r.order_id WHERE {condition}",
        visible = visible("r", "p"),
    )
}

const REVIEW_COLUMNS: &str = "found.id, found.order_id, found.author_id, found.author_name, \
    found.subject_id, found.subject_role, found.rating, found.body, found.written_at, found.visible";

fn review_of(row: &rows::Row<'_>) -> Result<Review, AppError> {
    let role = row.text("subject_role")?;
    Ok(Review {
        id: row.int64("id")?,
        order_id: row.int64("order_id")?,
        author_id: row.int64("author_id")?,
        author_name: row.text("author_name")?,
        subject_id: row.int64("subject_id")?,
        subject_role: Party::parse(&role)
            .ok_or_else(|| AppError::Internal(format!("review role {role}")))?,
        rating: row.int32("rating")? as i16,
        text: row.text("body")?,
        written_at: row.utc_time("written_at")?,
        visible: row.boolean("visible")?,
    })
}

/// The reviews of order `order` that `viewer` may see: their own, and the other's once
/// visible.
pub fn of_order(conn: &Connection, order: i64, viewer: AccountId) -> Result<Vec<Review>, AppError> {
    let statement = format!(
        "{} ORDER BY found.id",
        sql::at_least_one_row(
            REVIEW_COLUMNS,
            &format!(
                "{} AND ({} OR r.author_id = $2::bigint)",
                review_select("r.order_id = $1::bigint"),
                visible("r", "p")
            ),
        )
    );
    let rows = db::query(
        conn,
        &statement,
        &[
            ParameterValue::Int64(order),
            ParameterValue::Int64(viewer.get()),
        ],
    )?;
    rows::found(&rows, "reviews of an order", "id")
        .map(|row| review_of(&row))
        .collect()
}

/// A page of the visible reviews of `subject`, newest first, below id `before`.
pub fn of_person(
    conn: &Connection,
    subject: AccountId,
    before: Option<i64>,
    limit: u32,
) -> Result<OwnPage<Review>, AppError> {
    let statement = format!(
        "{} ORDER BY found.id DESC",
        sql::at_least_one_row(
            REVIEW_COLUMNS,
            &format!(
                "{} AND {} ORDER BY r.id DESC LIMIT $3",
                review_select("r.subject_id = $1::bigint AND r.id < $2::bigint"),
                visible("r", "p")
            ),
        )
    );
    let rows = db::query(
        conn,
        &statement,
        &[
            ParameterValue::Int64(subject.get()),
            ParameterValue::Int64(before.unwrap_or(i64::MAX)),
            ParameterValue::Int64(i64::from(limit) + 1),
        ],
    )?;
    let mut reviews = rows::found(&rows, "reviews of a person", "id")
        .map(|row| review_of(&row))
        .collect::<Result<Vec<_>, AppError>>()?;
    let next = if reviews.len() > limit as usize {
        reviews.truncate(limit as usize);
        reviews.last().map(|review| review.id)
    } else {
        None
    };
    Ok(OwnPage {
        entries: reviews,
        next,
    })
}
