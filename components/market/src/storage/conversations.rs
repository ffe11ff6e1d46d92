//! The statements of conversations and messages (migrations/sql/0010). Asking starts the
//! asker's one conversation about a listing or adds to it; replying is for its two
//! people only; sending is limited per person; each message records a notice for the
//! other person unless one about that conversation is still unseen; only a person whose
//! email address is verified writes. All in one statement each.

use spin_sdk::pg4::{Connection, ParameterValue};

use crate::domain::account::AccountId;
use crate::domain::conversation::{Conversation, MESSAGES_PER_MINUTE, Message};
use crate::domain::error::AppError;
use crate::storage::db::{self, OwnPage};
use crate::storage::{rows, sql};

/// What asking about a listing came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    /// The message was added; `started`: to a new conversation.
    Added { conversation: i64, started: bool },
    /// No such listing, or one from before accounts (no seller to ask).
    NoSuchItem,
    /// The asker sells it.
    OwnListing,
    /// Over [`MESSAGES_PER_MINUTE`] in the last minute.
    TooMany,
    /// The asker's email address is not verified yet: nothing written.
    Unverified,
}

/// Whether `author` may write now, as a statement's CTE named `allowed` (one row):
/// `verified`, their email address is; `ok`, it is and the messages they sent in the
/// last minute are fewer than the limit.
fn allowed(author: &str) -> String {
    format!(
        "author AS (SELECT coalesce((SELECT email_verified_at IS NOT NULL FROM accounts \
             WHERE id = {author}), false) AS verified), \
         allowed AS (SELECT author.verified, author.verified AND count(*) < {MESSAGES_PER_MINUTE} AS ok \
             FROM author LEFT JOIN messages ON author_id = {author} \
                 AND sent_at > now() - interval '1 minute' \
             GROUP BY author.verified)"
    )
}

/// Records that `reader` has read conversation `conversation` up to message `message`,
/// as a CTE named `read`.
fn read_up_to(conversation: &str, reader: &str, message: &str, from: &str) -> String {
    format!(
        "read AS (INSERT INTO conversation_reads (conversation_id, account_id, read_up_to) \
         SELECT {conversation}, {reader}, {message} FROM {from} \
         ON CONFLICT (conversation_id, account_id) \
         DO UPDATE SET read_up_to = greatest(conversation_reads.read_up_to, excluded.read_up_to))"
    )
}

/// A notice of a new message in `conversation` for `recipient`, unless one is unseen, as
/// a CTE named `noticed`.
fn message_notice(recipient: &str, conversation: &str, from: &str) -> String {
    format!(
        "noticed AS (INSERT INTO notices (account_id, kind, conversation_id) \
         SELECT {recipient}, 'message', {conversation} FROM {from} \
         WHERE NOT EXISTS (SELECT 1 FROM notices WHERE account_id = {recipient} \
             AND conversation_id = {conversation} AND kind = 'message' AND seen_at IS NULL))"
    )
}

/// `asker` writes `text` about item `item`: to their conversation with its seller,
/// started if they had none.
pub fn ask(conn: &Connection, item: i64, asker: AccountId, text: &str) -> Result<Asked, AppError> {
    let statement = format!(
        "WITH item AS (SELECT id, seller_id FROM items WHERE id = $1::bigint AND seller_id IS NOT NULL),
         {allowed},
         conversation AS (
             INSERT INTO conversations (item_id, asker_id, seller_id)
             SELECT item.id, $2::bigint, item.seller_id FROM item, allowed
             WHERE allowed.ok AND item.seller_id <> $2::bigint
             ON CONFLICT (item_id, asker_id) DO UPDATE SET last_message_at = now()
             RETURNING id, seller_id, (xmax = 0) AS started),
         message AS (
             INSERT INTO messages (conversation_id, author_id, body)
             SELECT id, $2::bigint, $3::text FROM conversation RETURNING id, conversation_id),
         {read},
         {noticed}
         SELECT (SELECT seller_id FROM item) AS seller_id, (SELECT ok FROM allowed) AS allowed,
                (SELECT verified FROM allowed) AS verified,
                (SELECT id FROM conversation) AS conversation_id,
                (SELECT started FROM conversation) AS started",
        allowed = allowed("$2::bigint"),
        read = read_up_to("message.conversation_id", "$2::bigint", "message.id", "message"),
        noticed = message_notice("conversation.seller_id", "conversation.id", "conversation, message"),
    );
    let rows = db::query(
        conn,
        &statement,
        &[
            ParameterValue::Int64(item),
            ParameterValue::Int64(asker.get()),
            ParameterValue::Str(text.to_owned()),
        ],
    )?;
    let row = rows::single(&rows, "ask")?;
    if !row.boolean("verified")? {
        return Ok(Asked::Unverified);
    }
    let Some(seller) = row.optional_int64("seller_id")? else {
        return Ok(Asked::NoSuchItem);
    };
    if seller == asker.get() {
        return Ok(Asked::OwnListing);
    }
    if !row.boolean("allowed")? {
        return Ok(Asked::TooMany);
    }
    Ok(Asked::Added {
        conversation: row.int64("conversation_id")?,
        started: row.optional_boolean("started")?.unwrap_or(false),
    })
}

/// What replying came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replied {
    Added(i64),
    /// Not one of its two people (or no such conversation).
    NotTheirs,
    TooMany,
    /// The author's email address is not verified yet: nothing written.
    Unverified,
}

/// `author` adds `text` to conversation `conversation`, if they are one of its two.
pub fn reply(
    conn: &Connection,
    conversation: i64,
    author: AccountId,
    text: &str,
) -> Result<Replied, AppError> {
    let statement = format!(
        "WITH conversation AS (
             SELECT id, CASE WHEN asker_id = $2::bigint THEN seller_id ELSE asker_id END AS other
             FROM conversations WHERE id = $1::bigint AND $2::bigint IN (asker_id, seller_id)),
         {allowed},
         message AS (
             INSERT INTO messages (conversation_id, author_id, body)
             SELECT conversation.id, $2::bigint, $3::text FROM conversation, allowed
             WHERE allowed.ok RETURNING id, conversation_id),
         touched AS (
             UPDATE conversations SET last_message_at = now()
             FROM message WHERE conversations.id = message.conversation_id RETURNING conversations.id),
         {read},
         {noticed}
         SELECT (SELECT count(*) FROM conversation) AS theirs, (SELECT ok FROM allowed) AS allowed,
                (SELECT verified FROM allowed) AS verified, (SELECT id FROM message) AS message_id",
        allowed = allowed("$2::bigint"),
        read = read_up_to("message.conversation_id", "$2::bigint", "message.id", "message"),
        noticed = message_notice("conversation.other", "conversation.id", "conversation, message"),
    );
    let rows = db::query(
        conn,
        &statement,
        &[
            ParameterValue::Int64(conversation),
            ParameterValue::Int64(author.get()),
            ParameterValue::Str(text.to_owned()),
        ],
    )?;
    let row = rows::single(&rows, "reply")?;
    if !row.boolean("verified")? {
        return Ok(Replied::Unverified);
    }
    if row.int64("theirs")? == 0 {
        return Ok(Replied::NotTheirs);
    }
    match row.optional_int64("message_id")? {
        Some(id) => Ok(Replied::Added(id)),
        None => Ok(Replied::TooMany),
    }
}

fn conversation_select(condition: &str) -> String {
    format!(
        "SELECT c.id, c.item_id, i.name AS item_name, c.asker_id, a.display_name AS asker_name, \
            c.seller_id, s.display_name AS seller_name, \
            c.last_message_at AT TIME ZONE 'UTC' AS last_message_at, \
            (SELECT count(*) FROM messages AS m WHERE m.conversation_id = c.id \
               AND m.author_id <> $1::bigint \
               AND m.id > coalesce((SELECT read_up_to FROM conversation_reads AS r \
                   WHERE r.conversation_id = c.id AND r.account_id = $1::bigint), 0)) AS unread \
         FROM conversations AS c JOIN items AS i ON i.id = c.item_id \
         JOIN accounts AS a ON a.id = c.asker_id JOIN accounts AS s ON s.id = c.seller_id \
         WHERE $1::bigint IN (c.asker_id, c.seller_id) AND {condition}"
    )
}

const CONVERSATION_COLUMNS: &str = "found.id, found.item_id, found.item_name, found.asker_id, \
    found.asker_name, found.seller_id, found.seller_name, found.last_message_at, found.unread";

fn conversation_of(row: &rows::Row<'_>) -> Result<Conversation, AppError> {
    Ok(Conversation {
        id: row.int64("id")?,
        item_id: row.int64("item_id")?,
        item_name: row.text("item_name")?,
        asker_id: row.int64("asker_id")?,
        asker_name: row.text("asker_name")?,
        seller_id: row.int64("seller_id")?,
        seller_name: row.text("seller_name")?,
        last_message_at: row.utc_time("last_message_at")?,
        unread: row.int64("unread")?,
    })
}

/// `viewer`'s conversations, newest activity first (at most `limit`).
pub fn inbox(
    conn: &Connection,
    viewer: AccountId,
    limit: u32,
) -> Result<Vec<Conversation>, AppError> {
    let statement = format!(
        "{} ORDER BY found.last_message_at DESC, found.id DESC",
        sql::at_least_one_row(
            CONVERSATION_COLUMNS,
            &format!(
                "{} ORDER BY c.last_message_at DESC LIMIT $2",
                conversation_select("true")
            )
        )
    );
    let rows = db::query(
        conn,
        &statement,
        &[
            ParameterValue::Int64(viewer.get()),
            ParameterValue::Int64(i64::from(limit)),
        ],
    )?;
    rows::found(&rows, "inbox", "id")
        .map(|row| conversation_of(&row))
        .collect()
}

/// Conversation `id`, if `viewer` is one of its two people.
pub fn find(
    conn: &Connection,
    id: i64,
    viewer: AccountId,
) -> Result<Option<Conversation>, AppError> {
    let statement = sql::at_least_one_row(
        CONVERSATION_COLUMNS,
        &conversation_select("c.id = $2::bigint"),
    );
    let rows = db::query(
        conn,
        &statement,
        &[
            ParameterValue::Int64(viewer.get()),
            ParameterValue::Int64(id),
        ],
    )?;
    rows::found(&rows, "find conversation", "id")
        .next()
        .map(|row| conversation_of(&row))
        .transpose()
}

/// The conversation of `asker` about item `item`, if they have one.
pub fn of_asker(conn: &Connection, item: i64, asker: AccountId) -> Result<Option<i64>, AppError> {
    let rows = db::query(
        conn,
        "SELECT (SELECT id FROM conversations WHERE item_id = $1::bigint AND asker_id = $2::bigint) AS id",
        &[
            ParameterValue::Int64(item),
            ParameterValue::Int64(asker.get()),
        ],
    )?;
    rows::single(&rows, "conversation of asker")?.optional_int64("id")
}

/// A page of conversation `id`'s messages, oldest to newest: the newest `limit` before
/// message `before` (from the newest when none); `next` leads to older ones.
pub fn messages(
    conn: &Connection,
    id: i64,
    before: Option<i64>,
    limit: u32,
) -> Result<OwnPage<Message>, AppError> {
    let statement = format!(
        "{} ORDER BY found.id",
        sql::at_least_one_row(
            "found.id, found.author_id, found.author_name, found.body, found.sent_at",
            "SELECT m.id, m.author_id, a.display_name AS author_name, m.body, \
                    m.sent_at AT TIME ZONE 'UTC' AS sent_at \
             FROM messages AS m JOIN accounts AS a ON a.id = m.author_id \
             WHERE m.conversation_id = $1::bigint AND m.id < $2::bigint \
             ORDER BY m.id DESC LIMIT $3",
        )
    );
    let rows = db::query(
        conn,
        &statement,
        &[
            ParameterValue::Int64(id),
            ParameterValue::Int64(before.unwrap_or(i64::MAX)),
            ParameterValue::Int64(i64::from(limit) + 1),
        ],
    )?;
    let mut messages = rows::found(&rows, "messages", "id")
        .map(|row| {
            Ok(Message {
                id: row.int64("id")?,
                author_id: row.int64("author_id")?,
                author_name: row.text("author_name")?,
                text: row.text("body")?,
                sent_at: row.utc_time("sent_at")?,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    // Oldest first: one more than the page means there are older ones.
    let next = if messages.len() > limit as usize {
        messages.remove(0);
        messages.first().map(|message| message.id)
    } else {
        None
    };
    Ok(OwnPage {
        entries: messages,
        next,
    })
}

/// `reader` has read conversation `id` to its end: its message notices are seen.
pub fn mark_read(conn: &Connection, id: i64, reader: AccountId) -> Result<(), AppError> {
    db::execute(
        conn,
        "WITH last AS (SELECT max(id) AS id FROM messages WHERE conversation_id = $1::bigint),
         read AS (
             INSERT INTO conversation_reads (conversation_id, account_id, read_up_to)
             SELECT $1::bigint, $2::bigint, last.id FROM last WHERE last.id IS NOT NULL
             ON CONFLICT (conversation_id, account_id)
             DO UPDATE SET read_up_to = greatest(conversation_reads.read_up_to, excluded.read_up_to))
         UPDATE notices SET seen_at = now()
         WHERE account_id = $2::bigint AND conversation_id = $1::bigint AND seen_at IS NULL",
        &[ParameterValue::Int64(id), ParameterValue::Int64(reader.get())],
    )
}
