//! Configuration, read from Spin variables (`SPIN_VARIABLE_*` or the runtime's provider).

use crate::domain::error::AppError;
use crate::domain::item::Currency;

/// The Postgres connection string, from the `db_url` variable.
pub fn database_url() -> Result<String, AppError> {
    spin_sdk::variables::get("db_url")
        .map_err(|e| AppError::Internal(format!("reading variable db_url: {e}")))
}

/// The `application_name` the readiness check connects with. It makes the check's
/// connection string its own, and Spin pools connections per connection string: on the
/// Spin 3.6.3 of SpinKube's shim, whose one pool per string serves every component of a
/// process, readiness then never queues behind the pages for their 64 connections (Spin
/// 4.0 pools per component anyway). It also names the check in `pg_stat_activity`.
pub const READINESS_APPLICATION_NAME: &str = "market-readiness";

/// `url` (a `postgres://` URL or a libpq `key=value` string) with `application_name`
/// set to `name`; a later setting wins in both forms.
pub fn with_application_name(url: &str, name: &str) -> String {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}application_name={name}")
    } else {
        format!("{url} application_name={name}")
    }
}

/// The shop's currency, from the `currency` variable (an ISO 4217 code).
pub fn currency() -> Result<Currency, AppError> {
    let code = spin_sdk::variables::get("currency")
        .map_err(|e| AppError::Internal(format!("reading variable currency: {e}")))?;
    Currency::parse(&code).map_err(AppError::Internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_application_name_is_added_to_each_form_of_connection_string() {
        // (connection string, with the name, why)
        let cases = [
            (
                "postgres://u@db:5432/market",
                "postgres://u@db:5432/market?application_name=n",
                "URL without parameters",
            ),
            (
                "postgresql://u@db/market?sslmode=disable",
                "postgresql://u@db/market?sslmode=disable&application_name=n",
                "URL with parameters",
            ),
            (
                "host=db user=u password='p q' dbname=market",
                "host=db user=u password='p q' dbname=market application_name=n",
                "libpq key=value, as the container's entrypoint builds it",
            ),
        ];
        for (url, expected, why) in cases {
            assert_eq!(with_application_name(url, "n"), expected, "{why}");
        }
    }
}
