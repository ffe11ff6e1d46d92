//! The schema of the marketplace: the versioned SQL files in `sql/`, embedded at build
//! time, and (with the `runner` feature) the runner that applies them.

/// One versioned schema change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

#[cfg(feature = "runner")]
mod runner;
#[cfg(feature = "runner")]
mod tls;
#[cfg(feature = "runner")]
pub use runner::{
    APP_ROLE, LOCK_TIMEOUT, MAILER_ROLE, MigrateError, apply, apply_migrations, checksum, connect,
    connect_using, set_app_password, set_role_password,
};
#[cfg(feature = "runner")]
pub use tls::Target;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_count_up_to_the_latest() {
        let versions: Vec<i64> = MIGRATIONS.iter().map(|m| m.version).collect();
        assert_eq!(versions, (1..=LATEST_VERSION).collect::<Vec<_>>());
        assert!(MIGRATIONS.iter().all(|m| !m.sql.trim().is_empty()));
    }
}
