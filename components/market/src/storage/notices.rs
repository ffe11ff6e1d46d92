//! The statements of notices (migrations/sql/0010): a person's unseen ones and how many,
//! and marking them seen.

use spin_sdk::pg4::{Connection, ParameterValue};

use crate::domain::account::AccountId;
use crate::domain::error::AppError;
use crate::domain::notice::{Notice, NoticeKind, Unseen};
use crate::storage::{db, rows, sql};

/// How many notices `account` has not seen, and how many messages from others they have
/// not read, in one statement (the header's counts).
pub fn counts(conn: &Connection, account: AccountId) -> Result<Unseen, AppError> {
    let rows = db::query(
        conn,
        "SELECT (SELECT count(*) FROM notices
                 WHERE account_id = $1::bigint AND seen_at IS NULL) AS notices,
                (SELECT count(*) FROM conversations AS c JOIN messages AS m ON m.conversation_id = c.id
                 WHERE $1::bigint IN (c.asker_id, c.seller_id) AND m.author_id <> $1::bigint
                   AND m.id > coalesce((SELECT read_up_to FROM conversation_reads AS r
                       WHERE r.conversation_id = c.id AND r.account_id = $1::bigint), 0)) AS messages",
        &[ParameterValue::Int64(account.get())],
    )?;
    let row = rows::single(&rows, "unseen")?;
    Ok(Unseen {
        notices: row.int64("notices")?,
        messages: row.int64("messages")?,
    })
}

/// The notices `account` has not seen, newest first (at most `limit`).
pub fn unseen(conn: &Connection, account: AccountId, limit: u32) -> Result<Vec<Notice>, AppError> {
    let statement = format!(
        "{} ORDER BY found.id DESC",
        sql::at_least_one_row(
            "found.id, found.kind, found.order_id, found.conversation_id, found.item_name, found.created_at",
            "SELECT n.id, n.kind, n.order_id, n.conversation_id, \
                    coalesce(oi.name, ci.name) AS item_name, \
                    n.created_at AT TIME ZONE 'UTC' AS created_at \
             FROM notices AS n \
             LEFT JOIN purchases AS p ON p.id = n.order_id LEFT JOIN items AS oi ON oi.id = p.item_id \
             LEFT JOIN conversations AS c ON c.id = n.conversation_id \
             LEFT JOIN items AS ci ON ci.id = c.item_id \
             WHERE n.account_id = $1::bigint AND n.seen_at IS NULL ORDER BY n.id DESC LIMIT $2",
        )
    );
    let rows = db::query(
        conn,
        &statement,
        &[
            ParameterValue::Int64(account.get()),
            ParameterValue::Int64(i64::from(limit)),
        ],
    )?;
    rows::found(&rows, "unseen notices", "id")
        .map(|row| {
            let kind = row.text("kind")?;
            Ok(Notice {
                id: row.int64("id")?,
                kind: NoticeKind::parse(&kind)
                    .ok_or_else(|| AppError::Internal(format!("notice kind {kind}")))?,
                order_id: row.optional_int64("order_id")?,
                conversation_id: row.optional_int64("conversation_id")?,
                item_name: row.text("item_name")?,
                created_at: row.utc_time("created_at")?,
            })
        })
        .collect()
}

/// Marks seen the notices of `account` about order `order` (none: all of them).
pub fn mark_seen(
    conn: &Connection,
    account: AccountId,
    order: Option<i64>,
) -> Result<(), AppError> {
    db::execute(
        conn,
        "UPDATE notices SET seen_at = now() WHERE account_id = $1::bigint AND seen_at IS NULL \
         AND ($2::bigint IS NULL OR order_id = $2::bigint)",
        &[
            ParameterValue::Int64(account.get()),
            order.map_or(ParameterValue::DbNull, ParameterValue::Int64),
        ],
    )
}
