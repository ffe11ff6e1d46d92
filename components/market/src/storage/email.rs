//! The statements of email: single-use links (address verification, password reset)
//! with the outbox rows that mail them, in one statement each; their rate limits; and
//! which notices a person gets by email. Every statement yields a row (Spin 4.0 never
//! answers a query that yields none: `sql::at_least_one_row`).

use spin_sdk::pg4::{Connection, ParameterValue};

use crate::domain::account::{AccountId, Secret};
use crate::domain::email::{
    EmailStatus, LinkPurpose, NoticeKind, Preferences, RESETS_PER_ADDRESS_PER_HOUR,
    RESETS_PER_CLIENT_PER_HOUR, VERIFY_RESENDS_PER_HOUR,
};
use crate::domain::error::AppError;
use crate::storage::{db, rows, sql};

/// Forgets link requests older than a day, a few rows a time (the limits look back one
/// hour): a CTE of the statements that count them.
const PRUNE_REQUESTS: &str = "pruned AS (
     DELETE FROM email_link_requests WHERE ctid IN (
         SELECT ctid FROM email_link_requests
         WHERE requested_at < now() - interval '1 day' LIMIT 20))";

/// What asking for a new verification link came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resent {
    Sent,
    AlreadyVerified,
    TooMany,
}

/// A new verification link (`link`) for `account`, mailed through the outbox, unless its
/// address is verified or it asked too often this hour.
pub fn resend_verification(
    conn: &Connection,
    account: AccountId,
    link: &Secret,
) -> Result<Resent, AppError> {
    let statement = format!(
        "WITH recent AS (
             SELECT count(*) AS n FROM email_link_requests
             WHERE scope = 'account' AND key = $1::bigint::text
               AND requested_at > now() - interval '1 hour'),
         unverified AS (
             SELECT id FROM accounts WHERE id = $1::bigint AND email_verified_at IS NULL),
         allowed AS (
             SELECT id FROM unverified WHERE (SELECT n FROM recent) < {VERIFY_RESENDS_PER_HOUR}),
         counted AS (
             INSERT INTO email_link_requests (scope, key) SELECT 'account', id::text FROM allowed),
         link AS (
             INSERT INTO email_links (token_hash, account_id, purpose, expires_at)
             SELECT $2::text, id, 'verify', now() + interval '{}' FROM allowed),
         mail AS (
             INSERT INTO outbox (account_id, kind, link_token)
             SELECT id, 'verify', $3::text FROM allowed),
         {PRUNE_REQUESTS}
         SELECT (SELECT count(*) FROM allowed) AS sent,
                (SELECT count(*) FROM unverified) AS unverified",
        LinkPurpose::Verify.lifetime()
    );
    let rows = db::query(
        conn,
        &statement,
        &[
            ParameterValue::Int64(account.get()),
            ParameterValue::Str(link.digest()),
            ParameterValue::Str(link.expose().to_owned()),
        ],
    )?;
    let row = rows::single(&rows, "resend verification")?;
    Ok(if row.int64("sent")? == 1 {
        Resent::Sent
    } else if row.int64("unverified")? == 0 {
        Resent::AlreadyVerified
    } else {
        Resent::TooMany
    })
}

/// What a single-use link is, as its page finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Valid: not used, not expired (a verification link has now been used).
    Valid,
    Used,
    Expired,
    /// Never issued (or mistyped).
    Unknown,
}

fn link_state(row: &rows::Row<'_>, applied: &str) -> Result<LinkState, AppError> {
    Ok(if row.int64(applied)? == 1 {
        LinkState::Valid
    } else {
        match (
            row.optional_boolean("was_used")?,
            row.optional_boolean("live")?,
        ) {
            (None, _) => LinkState::Unknown,
            (Some(true), _) => LinkState::Used,
            (Some(false), Some(false)) => LinkState::Expired,
            // Valid a moment ago, used by a racing click meanwhile.
            (Some(false), _) => LinkState::Used,
        }
    })
}

/// The columns that tell why the link `$1` of `purpose` was not taken.
fn link_facts(purpose: LinkPurpose) -> String {
    let purpose = purpose.as_str();
    format!(
        "(SELECT used_at IS NOT NULL FROM email_links
           WHERE token_hash = $1::text AND purpose = '{purpose}') AS was_used,
         (SELECT expires_at > now() FROM email_links
           WHERE token_hash = $1::text AND purpose = '{purpose}') AS live"
    )
}

/// Uses the verification link with digest `digest`: its account's address is verified.
pub fn verify(conn: &Connection, digest: &str) -> Result<LinkState, AppError> {
    let statement = format!(
        "WITH used AS (
             UPDATE email_links SET used_at = now()
             WHERE token_hash = $1::text AND purpose = 'verify'
               AND used_at IS NULL AND expires_at > now()
             RETURNING account_id),
         verified AS (
             UPDATE accounts SET email_verified_at = coalesce(email_verified_at, now())
             WHERE id = (SELECT account_id FROM used) RETURNING id)
         SELECT (SELECT count(*) FROM verified) AS applied, {}",
        link_facts(LinkPurpose::Verify)
    );
    let rows = db::query(conn, &statement, &[ParameterValue::Str(digest.to_owned())])?;
    link_state(&rows::single(&rows, "verify")?, "applied")
}

/// Counts a reset request for `email` from `client` and, within the limits, if an
/// account has that address, writes a reset link (`link`) and its email. The same work
/// and the same answer whether or not an account has it: `false` only when over a limit.
pub fn request_reset(
    conn: &Connection,
    email: &str,
    client: &str,
    link: &Secret,
) -> Result<bool, AppError> {
    let statement = format!(
        "WITH recent AS (
             SELECT (SELECT count(*) FROM email_link_requests
                     WHERE scope = 'address' AND key = lower($1::text)
                       AND requested_at > now() - interval '1 hour') AS by_address,
                    (SELECT count(*) FROM email_link_requests
                     WHERE scope = 'client' AND key = $2::text
                       AND requested_at > now() - interval '1 hour') AS by_client),
         allowed AS (
             SELECT 1 AS yes FROM recent
             WHERE by_address < {RESETS_PER_ADDRESS_PER_HOUR}
               AND by_client < {RESETS_PER_CLIENT_PER_HOUR}),
         counted AS (
             INSERT INTO email_link_requests (scope, key)
             SELECT scope, key FROM allowed,
                    (VALUES ('address', lower($1::text)), ('client', $2::text)) AS r (scope, key)),
         account AS (
             SELECT id FROM accounts
             WHERE lower(email) = lower($1::text) AND EXISTS (SELECT 1 FROM allowed)),
         link AS (
             INSERT INTO email_links (token_hash, account_id, purpose, expires_at)
             SELECT $3::text, id, 'reset', now() + interval '{}' FROM account),
         mail AS (
             INSERT INTO outbox (account_id, kind, link_token)
             SELECT id, 'reset', $4::text FROM account),
         {PRUNE_REQUESTS}
         SELECT (SELECT count(*) FROM allowed) AS allowed",
        LinkPurpose::Reset.lifetime()
    );
    let rows = db::query(
        conn,
        &statement,
        &[
            ParameterValue::Str(email.to_owned()),
            ParameterValue::Str(client.to_owned()),
            ParameterValue::Str(link.digest()),
            ParameterValue::Str(link.expose().to_owned()),
        ],
    )?;
    Ok(rows::single(&rows, "request reset")?.int64("allowed")? == 1)
}

/// What the reset link with digest `digest` is, without using it.
pub fn reset_link(conn: &Connection, digest: &str) -> Result<LinkState, AppError> {
    let statement = format!(
        "SELECT (SELECT count(*) FROM email_links
                 WHERE token_hash = $1::text AND purpose = 'reset'
                   AND used_at IS NULL AND expires_at > now()) AS valid, {}",
        link_facts(LinkPurpose::Reset)
    );
    let rows = db::query(conn, &statement, &[ParameterValue::Str(digest.to_owned())])?;
    link_state(&rows::single(&rows, "reset link")?, "valid")
}

/// Uses the reset link with digest `digest` to set its account's password hash to
/// `hash`, in one statement: every other reset link of the account is used up, every
/// session ends, and the address counts as verified (the link reached it). The link's
/// state, and the digests of the sessions ended (to forget their cached person).
pub fn reset_password(
    conn: &Connection,
    digest: &str,
    hash: &str,
) -> Result<(LinkState, Vec<String>), AppError> {
    let statement = format!(
        "WITH used AS (
             UPDATE email_links SET used_at = now()
             WHERE token_hash = $1::text AND purpose = 'reset'
               AND used_at IS NULL AND expires_at > now()
             RETURNING account_id),
         changed AS (
             UPDATE accounts SET password_hash = $2::text,
                                 email_verified_at = coalesce(email_verified_at, now())
             WHERE id = (SELECT account_id FROM used) RETURNING id, email),
         others AS (
             UPDATE email_links SET used_at = now()
             WHERE account_id = (SELECT id FROM changed) AND purpose = 'reset'
               AND used_at IS NULL AND token_hash <> $1::text),
         ended AS (
             DELETE FROM sessions WHERE account_id = (SELECT id FROM changed)
             RETURNING token_hash),
         unblocked AS (
             DELETE FROM sign_in_failures WHERE email = (SELECT lower(email) FROM changed))
         SELECT (SELECT count(*) FROM changed) AS applied, {}, found.token_hash
         FROM (SELECT 1) AS one LEFT JOIN ended AS found ON true",
        link_facts(LinkPurpose::Reset)
    );
    let rows = db::query(
        conn,
        &statement,
        &[
            ParameterValue::Str(digest.to_owned()),
            ParameterValue::Str(hash.to_owned()),
        ],
    )?;
    let first = rows::rows(&rows, "reset password")
        .next()
        .ok_or_else(|| AppError::Internal("reset password yielded no row".into()))?;
    let state = link_state(&first, "applied")?;
    let ended = rows::found(&rows, "reset password", "token_hash")
        .map(|row| row.text("token_hash"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((state, ended))
}

/// `account`'s address, whether it is verified, and its notice settings.
pub fn status(conn: &Connection, account: AccountId) -> Result<EmailStatus, AppError> {
    let statement = sql::at_least_one_row(
        "found.email, found.verified_at, found.sold, found.shipped, found.message, found.review",
        "SELECT accounts.email, accounts.email_verified_at AT TIME ZONE 'UTC' AS verified_at,
                s.sold, s.shipped, s.message, s.review
         FROM accounts JOIN email_settings AS s ON s.account_id = accounts.id
         WHERE accounts.id = $1::bigint",
    );
    let rows = db::query(conn, &statement, &[ParameterValue::Int64(account.get())])?;
    let row = rows::single(&rows, "email status")?;
    if row.optional_text("email")?.is_none() {
        return Err(AppError::NotFound);
    }
    Ok(EmailStatus {
        email: row.text("email")?,
        verified_at: row.optional_utc_time("verified_at")?,
        preferences: Preferences {
            sold: row.boolean("sold")?,
            shipped: row.boolean("shipped")?,
            message: row.boolean("message")?,
            review: row.boolean("review")?,
        },
    })
}

/// Sets which notices `account` gets by email.
pub fn set_preferences(
    conn: &Connection,
    account: AccountId,
    preferences: Preferences,
) -> Result<(), AppError> {
    db::execute(
        conn,
        "UPDATE email_settings SET sold = $2::boolean, shipped = $3::boolean,
                message = $4::boolean, review = $5::boolean
         WHERE account_id = $1::bigint",
        &[
            ParameterValue::Int64(account.get()),
            ParameterValue::Boolean(preferences.sold),
            ParameterValue::Boolean(preferences.shipped),
            ParameterValue::Boolean(preferences.message),
            ParameterValue::Boolean(preferences.review),
        ],
    )
}

/// Whether `key` is someone's unsubscribe key.
pub fn unsubscribe_key_known(conn: &Connection, key: &str) -> Result<bool, AppError> {
    let rows = db::query(
        conn,
        "SELECT EXISTS (SELECT 1 FROM email_settings WHERE unsubscribe_key = $1::text) AS known",
        &[ParameterValue::Str(key.to_owned())],
    )?;
    rows::single(&rows, "unsubscribe key")?.boolean("known")
}

/// Turns notices of `kind` off for whoever holds `key`: whether the key is known.
pub fn unsubscribe(conn: &Connection, key: &str, kind: NoticeKind) -> Result<bool, AppError> {
    // The column is one of four fixed names, never the request's text.
    let column = kind.as_str();
    let rows = db::query(
        conn,
        &format!(
            "WITH off AS (
                 UPDATE email_settings SET {column} = false
                 WHERE unsubscribe_key = $1::text RETURNING account_id)
             SELECT (SELECT count(*) FROM off) AS found"
        ),
        &[ParameterValue::Str(key.to_owned())],
    )?;
    Ok(rows::single(&rows, "unsubscribe")?.int64("found")? == 1)
}
