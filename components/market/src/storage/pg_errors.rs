//! Which Postgres failures are an outage (503, retry) and which are the app's or the
//! deployment's fault (500), from what Spin passes to the guest.

use spin_sdk::pg4::{PgError, QueryError};

use crate::domain::error::AppError;

/// SQLSTATE classes that mean "Postgres cannot serve right now", not "the app is wrong":
/// 08 connection exception, 53 insufficient resources, 57 operator intervention
/// (shutdown, statement timeout).
fn is_transient_sqlstate(code: &str) -> bool {
    ["08", "53", "57"]
        .iter()
        .any(|class| code.starts_with(class))
}

/// The SQLSTATE inside the text of an error that Spin passes as `QueryError::Text`: a
/// database error raised while rows streamed arrives debug-formatted, with its
/// `code: "57014"` (Spin's own error) or `code: SqlState(E57014)` (tokio-postgres').
fn sqlstate_in_text(text: &str) -> Option<&str> {
    ["code: \"", "code: SqlState(E"].iter().find_map(|marker| {
        let start = text.find(marker)? + marker.len();
        let code = text.get(start..start + 5)?;
        code.bytes()
            .all(|byte| byte.is_ascii_alphanumeric())
            .then_some(code)
    })
}

/// Whether a tokio-postgres error without a Postgres code (Spin passes its `{:?}` text)
/// is a broken or refused transport, rather than a conversion the app got wrong.
fn is_transport_failure(text: &str) -> bool {
    ["kind: Closed", "kind: Io", "kind: Connect", "kind: Timeout"]
        .iter()
        .any(|kind| text.contains(kind))
}

/// Whether a statement broke a unique constraint (SQLSTATE 23505), e.g. two writes
/// racing for the same place.
pub fn is_unique_violation(error: &PgError) -> bool {
    match error {
        PgError::QueryFailed(QueryError::DbError(db)) => db.code == "23505",
        PgError::QueryFailed(QueryError::Text(detail)) => sqlstate_in_text(detail) == Some("23505"),
        _ => false,
    }
}

impl From<PgError> for AppError {
    fn from(error: PgError) -> Self {
        match error {
            // A host missing from allowed_outbound_hosts is a deployment mistake, not an
            // outage: retrying will not help.
            PgError::ConnectionFailed(detail) if detail.contains("is not permitted") => {
                AppError::Internal(format!("Postgres address refused by Spin: {detail}"))
            }
            PgError::ConnectionFailed(detail) => {
                AppError::Unavailable(format!("connecting to Postgres: {detail}"))
            }
            PgError::QueryFailed(QueryError::DbError(db)) if is_transient_sqlstate(&db.code) => {
                AppError::Unavailable(format!("Postgres {}: {}", db.code, db.message))
            }
            PgError::QueryFailed(QueryError::DbError(db)) => {
                AppError::Internal(format!("Postgres {}: {}", db.code, db.message))
            }
            PgError::QueryFailed(QueryError::Text(detail))
                if sqlstate_in_text(&detail).is_some_and(is_transient_sqlstate)
                    || is_transport_failure(&detail) =>
            {
                AppError::Unavailable(format!("talking to Postgres: {detail}"))
            }
            other => AppError::Internal(format!("Postgres call failed: {other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_timeout_passed_as_text_is_found_by_its_sqlstate() {
        let spin = r#"QueryFailed(DbError(DbError { as_text: "Error { kind: Db, cause: Some(DbError { code: SqlState(E57014) }) }", severity: "ERROR", code: "57014", message: "canceling statement due to statement timeout" }))"#;
        assert_eq!(sqlstate_in_text(spin), Some("57014"));
        let tokio = "Error { kind: Db, cause: Some(DbError { code: SqlState(E23505) }) }";
        assert_eq!(sqlstate_in_text(tokio), Some("23505"));
        assert_eq!(sqlstate_in_text("query result exceeds limit"), None);
    }

    #[test]
    fn a_timeout_is_unavailable_and_a_unique_violation_is_a_bug() {
        let text = |code: &str| {
            PgError::QueryFailed(QueryError::Text(format!("DbError {{ code: \"{code}\" }}")))
        };
        assert!(matches!(
            AppError::from(text("57014")),
            AppError::Unavailable(_)
        ));
        assert!(matches!(
            AppError::from(text("23505")),
            AppError::Internal(_)
        ));
    }
}
