//! Configuration, read from Spin variables (`SPIN_VARIABLE_*` or the runtime's provider).

use crate::error::AppError;

/// The Postgres connection string, from the `db_url` variable.
pub fn database_url() -> Result<String, AppError> {
    spin_sdk::variables::get("db_url")
        .map_err(|e| AppError::Internal(format!("reading variable db_url: {e}")))
}
