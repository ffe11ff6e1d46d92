//! The statements of accounts: signing up, signing in (and its growing delay), sessions
//! and API tokens, and who a session or token stands for. Each yields at least one row
//! where it reads (`sql::at_least_one_row`, the rule of spinframework/spin#3671).

use crate::domain::account::{
    FREE_SIGN_IN_FAILURES, MAX_SIGN_IN_DELAY_SECONDS, SESSION_IDLE_TIMEOUT, SESSION_LIFETIME,
    SESSION_TOUCH_INTERVAL,
};
use crate::domain::email::LinkPurpose;
use crate::storage::sql::at_least_one_row;

/// A CTE that removes a few sessions past their idle or absolute expiry, as part of
/// every sign-in, so the table does not grow without bound and no job is needed.
fn remove_expired_sessions() -> String {
    format!(
        "expired AS (
             DELETE FROM sessions WHERE token_hash = ANY(ARRAY(
                 SELECT token_hash FROM sessions
                 WHERE last_seen_at < now() - interval '{SESSION_IDLE_TIMEOUT}'
                    OR created_at < now() - interval '{SESSION_LIFETIME}'
                 LIMIT 10 FOR UPDATE SKIP LOCKED))
         )"
    )
}

/// Creates the account (`$1` email, `$2` display name, `$3` password hash) unless one
/// has this email in any case, and signs it in with the session `$4`, ending the
/// browser's previous session `$5` (NULL for none); the address's verification link
/// (digest `$6`) and its email (token `$7`) go to `email_links` and the outbox in the same
/// statement. Yields the account, NULLs when the email is taken.
pub fn insert_account_sql() -> String {
    let ctes = format!(
        "WITH created AS (
             INSERT INTO accounts (email, display_name, password_hash)
             VALUES ($1::text, $2::text, $3::text)
             ON CONFLICT ((lower(email))) DO NOTHING
             RETURNING id, display_name
         ), session AS (
             INSERT INTO sessions (token_hash, account_id)
             SELECT $4::text, id FROM created
         ), ended AS (
             DELETE FROM sessions WHERE token_hash = $5::text
         ), verify_link AS (
             INSERT INTO email_links (token_hash, account_id, purpose, expires_at)
             SELECT $6::text, id, 'verify', now() + interval '{}' FROM created
         ), verify_email AS (
             INSERT INTO outbox (account_id, kind, link_token)
             SELECT id, 'verify', $7::text FROM created
         ), {}",
        LinkPurpose::Verify.lifetime(),
        remove_expired_sessions()
    );
    format!(
        "{ctes} {}",
        at_least_one_row(
            "found.id, found.display_name",
            "SELECT id, display_name FROM created"
        )
    )
}

/// The account with email `$1` (any case) and its password hash, if there is one, and
/// the seconds a sign-in with this email must still wait (`wait_seconds`, NULL or 0
/// when none).
pub fn account_for_sign_in_sql() -> String {
    let columns = "found.id, found.display_name, found.password_hash,
         (SELECT greatest(0, ceil(extract(epoch FROM blocked_until - now())))::integer
          FROM sign_in_failures WHERE email = $1::text) AS wait_seconds";
    at_least_one_row(
        columns,
        "SELECT id, display_name, password_hash FROM accounts WHERE lower(email) = lower($1::text)",
    )
}

/// Counts a failed sign-in for email `$1`: past the free failures each one doubles the
/// wait before the next (1 s, 2 s, 4 s …, at most the cap); failures a day old are
/// forgotten, and a few such rows removed.
pub fn record_failed_sign_in_sql() -> String {
    let failures = "CASE WHEN sign_in_failures.last_failed_at < now() - interval '1 day' \
                    THEN 1 ELSE sign_in_failures.failures + 1 END";
    format!(
        "WITH forgotten AS (
             DELETE FROM sign_in_failures WHERE email = ANY(ARRAY(
                 SELECT email FROM sign_in_failures
                 WHERE last_failed_at < now() - interval '1 day' AND email <> $1::text
                 LIMIT 10 FOR UPDATE SKIP LOCKED))
         )
         INSERT INTO sign_in_failures (email, failures, blocked_until)
         VALUES ($1::text, 1, now())
         ON CONFLICT (email) DO UPDATE SET
             failures = {failures},
             blocked_until = now() + make_interval(secs => {}),
             last_failed_at = now()",
        sign_in_delay(failures)
    )
}

/// The seconds to wait after the `failures`th failed sign-in.
fn sign_in_delay(failures: &str) -> String {
    format!(
        "CASE WHEN {failures} <= {FREE_SIGN_IN_FAILURES} THEN 0
              ELSE least({MAX_SIGN_IN_DELAY_SECONDS},
                         power(2, least({failures} - {FREE_SIGN_IN_FAILURES} - 1, 30)))
         END"
    )
}

/// Signs the account `$1` in with the new session `$2`, ending the browser's previous
/// session `$3` (NULL for none), and clears the failed sign-ins of its email `$4`.
pub fn start_session_sql() -> String {
    format!(
        "WITH ended AS (
             DELETE FROM sessions WHERE token_hash = $3::text
         ), cleared AS (
             DELETE FROM sign_in_failures WHERE email = $4::text
         ), {}
         INSERT INTO sessions (token_hash, account_id) VALUES ($2::text, $1::bigint)",
        remove_expired_sessions()
    )
}

/// The person whose live session has the id digest `$1` (NULLs when none: unknown,
/// signed out or expired). Notes the session's use, at most once a minute, so reading
/// it stays one statement that rarely writes.
pub fn session_person_sql() -> String {
    person_holding(
        "sessions",
        &format!(
            "sessions.last_seen_at > now() - interval '{SESSION_IDLE_TIMEOUT}'
             AND sessions.created_at > now() - interval '{SESSION_LIFETIME}'"
        ),
        "last_seen_at",
    )
}

/// The person holding the secret whose digest is `$1` in `table` (sessions or API
/// tokens), while `still_valid` holds for it (NULLs when none); notes its use in
/// `last_use`, at most once a touch interval, so reading it rarely writes.
fn person_holding(table: &str, still_valid: &str, last_use: &str) -> String {
    format!(
        "WITH live AS (
             SELECT {table}.token_hash, {table}.{last_use} AS last_use, accounts.id,
                    accounts.display_name
             FROM {table} JOIN accounts ON accounts.id = {table}.account_id
             WHERE {table}.token_hash = $1::text AND {still_valid}
         ), touched AS (
             UPDATE {table} SET {last_use} = now()
             WHERE token_hash IN (
                 SELECT token_hash FROM live
                 WHERE last_use IS NULL
                    OR last_use < now() - interval '{SESSION_TOUCH_INTERVAL}')
         ) {}",
        at_least_one_row(
            "found.id, found.display_name",
            "SELECT id, display_name FROM live"
        )
    )
}

/// Ends the session with the id digest `$1`.
pub const END_SESSION_SQL: &str = "DELETE FROM sessions WHERE token_hash = $1::text";

/// Ends every session of the account `$1`; yields their id digests as a JSON array (an
/// aggregate: one row, whatever was deleted).
pub const END_ALL_SESSIONS_SQL: &str = "WITH ended AS (
         DELETE FROM sessions WHERE account_id = $1::bigint RETURNING token_hash
     ) SELECT coalesce(json_agg(token_hash), '[]')::text AS digests FROM ended";

/// Stores a new API token of account `$1` named `$2` with the digest `$3`.
pub const INSERT_API_TOKEN_SQL: &str =
    "INSERT INTO api_tokens (account_id, name, token_hash) VALUES ($1::bigint, $2::text, $3::text)";

/// The API tokens of account `$1`, newest first.
pub fn api_tokens_of_sql() -> String {
    let found = "SELECT id, name, created_at AT TIME ZONE 'UTC' AS created_at,
                        last_used_at AT TIME ZONE 'UTC' AS last_used_at,
                        revoked_at AT TIME ZONE 'UTC' AS revoked_at
                 FROM api_tokens WHERE account_id = $1::bigint ORDER BY id DESC";
    format!(
        "{} ORDER BY found.id DESC",
        at_least_one_row(
            "found.id, found.name, found.created_at, found.last_used_at, found.revoked_at",
            found
        )
    )
}

/// Revokes the API token `$2` if account `$1` owns it (again: no change). Yields its id,
/// NULL when it is not theirs.
pub fn revoke_api_token_sql() -> String {
    format!(
        "WITH revoked AS (
             UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())
             WHERE id = $2::bigint AND account_id = $1::bigint RETURNING id
         ) {}",
        at_least_one_row("found.id", "SELECT id FROM revoked")
    )
}

/// The person whose unrevoked API token has the digest `$1` (NULLs when none). Notes the
/// token's use, at most once a minute.
pub fn token_person_sql() -> String {
    person_holding(
        "api_tokens",
        "api_tokens.revoked_at IS NULL",
        "last_used_at",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_statement_yields_a_row_even_when_nothing_is_found() {
        for sql in [
            insert_account_sql(),
            account_for_sign_in_sql(),
            session_person_sql(),
            api_tokens_of_sql(),
            revoke_api_token_sql(),
            token_person_sql(),
        ] {
            assert!(
                sql.contains("FROM (SELECT 1) AS one LEFT JOIN ("),
                "not padded to one row: {sql}"
            );
        }
        assert!(END_ALL_SESSIONS_SQL.contains("SELECT coalesce(json_agg("));
    }
}
