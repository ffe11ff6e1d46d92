//! The statements that change who someone is: their display name, and their password
//! (ending every other session, and their API tokens unless they keep them).

use spin_sdk::pg4::{Connection, ParameterValue};

use crate::domain::account::{AccountId, DisplayName, Secret};
use crate::domain::error::AppError;
use crate::storage::{db, rows, sql};

/// Sets `account`'s display name; the digests of its sessions (to forget their cached
/// person).
pub fn rename(
    conn: &Connection,
    account: AccountId,
    name: &DisplayName,
) -> Result<Vec<String>, AppError> {
    let rows = db::query(
        conn,
        &format!(
            "WITH renamed AS (UPDATE accounts SET display_name = $2::text WHERE id = $1::bigint RETURNING id) {}",
            sql::at_least_one_row(
                "found.token_hash",
                "SELECT token_hash FROM sessions WHERE account_id = (SELECT id FROM renamed)"
            )
        ),
        &[
            ParameterValue::Int64(account.get()),
            ParameterValue::Str(name.as_str().to_owned()),
        ],
    )?;
    rows::found(&rows, "rename", "token_hash")
        .map(|row| row.text("token_hash"))
        .collect()
}

/// `account`'s stored password hash.
pub fn password_hash(conn: &Connection, account: AccountId) -> Result<Option<String>, AppError> {
    let rows = db::query(
        conn,
        "SELECT (SELECT password_hash FROM accounts WHERE id = $1::bigint) AS password_hash",
        &[ParameterValue::Int64(account.get())],
    )?;
    Ok(rows::single(&rows, "password hash")?
        .optional_text("password_hash")?
        .map(str::to_owned))
}

/// Sets `account`'s password hash to `hash` if it is still `old` (no other change came
/// between), ends every session but `current`, and revokes its tokens unless
/// `keep_tokens`, in one statement: the digests of the sessions ended, or none when the
/// password had changed meanwhile.
pub fn change_password(
    conn: &Connection,
    account: AccountId,
    old: &str,
    hash: &str,
    current: &Secret,
    keep_tokens: bool,
) -> Result<Option<Vec<String>>, AppError> {
    let statement = String::from(
        "WITH changed AS (
             UPDATE accounts SET password_hash = $3::text
             WHERE id = $1::bigint AND password_hash = $2::text RETURNING id),
         ended AS (
             DELETE FROM sessions WHERE account_id = (SELECT id FROM changed)
               AND token_hash <> $4::text RETURNING token_hash),
         revoked AS (
             UPDATE api_tokens SET revoked_at = now()
             WHERE account_id = (SELECT id FROM changed) AND revoked_at IS NULL
               AND NOT $5::boolean RETURNING id)
         SELECT (SELECT count(*) FROM changed) AS changed, found.token_hash
         FROM (SELECT 1) AS one LEFT JOIN ended AS found ON true",
    );
    let rows = db::query(
        conn,
        &statement,
        &[
            ParameterValue::Int64(account.get()),
            ParameterValue::Str(old.to_owned()),
            ParameterValue::Str(hash.to_owned()),
            ParameterValue::Str(current.digest()),
            ParameterValue::Boolean(keep_tokens),
        ],
    )?;
    let all: Vec<_> = rows::rows(&rows, "change password").collect();
    if all.first().map(|row| row.int64("changed")).transpose()? != Some(1) {
        return Ok(None);
    }
    all.iter()
        .filter_map(|row| row.optional_text("token_hash").transpose())
        .map(|hash| hash.map(str::to_owned))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}
