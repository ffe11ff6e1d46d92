//! Configuration, read from Spin variables (`SPIN_VARIABLE_*` or the runtime's provider).

use crate::error::AppError;
use crate::item::Currency;

/// The Postgres connection string, from the `db_url` variable.
pub fn database_url() -> Result<String, AppError> {
    spin_sdk::variables::get("db_url")
        .map_err(|e| AppError::Internal(format!("reading variable db_url: {e}")))
}

/// The shop's currency, from the `currency` variable (an ISO 4217 code).
pub fn currency() -> Result<Currency, AppError> {
    let code = spin_sdk::variables::get("currency")
        .map_err(|e| AppError::Internal(format!("reading variable currency: {e}")))?;
    Currency::parse(&code).map_err(AppError::Internal)
}
