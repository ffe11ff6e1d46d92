//! Applies the embedded migrations: each in its own transaction, recorded in
//! `schema_migrations` with the SHA-256 of its file, under an advisory lock so that two
//! runners started at once apply each migration exactly once.
//!
//! A migration waits at most `LOCK_TIMEOUT` for a table lock, then gives up and tries
//! again later: while a DDL statement waits for its lock, every query of the app on that
//! table queues behind it, so a long wait would turn into the app's 5 s statement
//! timeouts (503s). An applied migration whose file changed stops the runner.

use std::fmt::Write;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio_postgres::error::SqlState;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{Client, NoTls, Socket};

use crate::{MIGRATIONS, Migration};

/// Identifies this app's migration lock among Postgres advisory locks ("mkt" "migr").
const LOCK_KEY: i64 = 0x6d6b_7400_6d69_6772;
/// How long one statement of a migration may wait for a lock.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(1);
/// How many times a migration is tried when it could not get its locks.
const LOCK_ATTEMPTS: u32 = 30;

/// The role the app connects as (created by migrations/sql/0006).
pub const APP_ROLE: &str = "market_app";
/// The role the email sender connects as (created by migrations/sql/0011).
pub const MAILER_ROLE: &str = "market_mailer";

/// Why the runner stopped.
#[derive(Debug)]
pub enum MigrateError {
    Postgres(tokio_postgres::Error),
    /// An applied migration's file is not what was applied.
    Changed {
        version: i64,
        name: &'static str,
        applied: String,
        file: String,
    },
    /// A migration never got its locks.
    Locked {
        version: i64,
        attempts: u32,
    },
}

impl std::fmt::Display for MigrateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Postgres(e) => write!(f, "{e}"),
            Self::Changed {
                version,
                name,
                applied,
                file,
            } => write!(
                f,
                "migration {version:04}_{name}.sql was changed after it was applied \
                 (applied sha256 {applied}, file sha256 {file}): restore the file and put \
                 the change in a new migration"
            ),
            Self::Locked { version, attempts } => write!(
                f,
                "migration {version:04} could not get its locks in {attempts} tries of \
                 {LOCK_TIMEOUT:?}: something holds them for long; try again later"
            ),
        }
    }
}

impl std::error::Error for MigrateError {}

impl From<tokio_postgres::Error> for MigrateError {
    fn from(error: tokio_postgres::Error) -> Self {
        Self::Postgres(error)
    }
}

/// The SHA-256 of a migration's SQL, in hex.
pub fn checksum(sql: &str) -> String {
    Sha256::digest(sql.as_bytes())
        .iter()
        .fold(String::new(), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// Connects without TLS, retrying while the server is still starting, for up to
/// `patience`.
pub async fn connect(
    config: &tokio_postgres::Config,
    patience: Duration,
) -> Result<Client, tokio_postgres::Error> {
    connect_using(config, NoTls, patience).await
}

/// The same with the TLS connector `tls` (see [`crate::Target`]).
pub async fn connect_using<T>(
    config: &tokio_postgres::Config,
    tls: T,
    patience: Duration,
) -> Result<Client, tokio_postgres::Error>
where
    T: MakeTlsConnect<Socket> + Clone,
    T::Stream: Send + 'static,
    T::TlsConnect: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    let started = Instant::now();
    loop {
        match config.connect(tls.clone()).await {
            Ok((client, connection)) => {
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        eprintln!("migrate: connection ended: {e}");
                    }
                });
                return Ok(client);
            }
            Err(e) if started.elapsed() < patience => {
                eprintln!("migrate: waiting for Postgres: {e}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Sets the app role's password, so the app can log in with it.
pub async fn set_app_password(
    client: &Client,
    password: &str,
) -> Result<(), tokio_postgres::Error> {
    set_role_password(client, APP_ROLE, password).await
}

/// Sets `role`'s password (the app's or the sender's), so it can log in with it.
pub async fn set_role_password(
    client: &Client,
    role: &str,
    password: &str,
) -> Result<(), tokio_postgres::Error> {
    // ALTER ROLE takes no parameters: let the server quote the literal.
    let statement: String = client
        .query_one(
            "SELECT format('ALTER ROLE %I PASSWORD %L', $1::text, $2::text)",
            &[&role, &password],
        )
        .await?
        .get(0);
    client.batch_execute(&statement).await
}

/// Applies every embedded migration the database does not have yet; returns the
/// versions applied.
pub async fn apply(client: &mut Client) -> Result<Vec<i64>, MigrateError> {
    apply_migrations(client, MIGRATIONS).await
}

/// Applies those of `migrations` the database does not have yet, in order.
pub async fn apply_migrations(
    client: &mut Client,
    migrations: &[Migration],
) -> Result<Vec<i64>, MigrateError> {
    // The database's statement timeout is for the app: waiting for another runner's
    // advisory lock, or a long migration, must not be cut off by it.
    client.batch_execute("SET statement_timeout = 0").await?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&LOCK_KEY])
        .await?;
    let result = apply_locked(client, migrations).await;
    // The lock also ends with the session; unlocking early just lets a waiter go sooner.
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
        .await;
    result
}

async fn apply_locked(
    client: &mut Client,
    migrations: &[Migration],
) -> Result<Vec<i64>, MigrateError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    bigint      PRIMARY KEY,
                 name       text        NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now()
             );
             ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum text",
        )
        .await?;
    let applied: Vec<(i64, Option<String>)> = client
        .query("SELECT version, checksum FROM schema_migrations", &[])
        .await?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let mut newly_applied = Vec::new();
    for migration in migrations {
        let file = checksum(migration.sql);
        match applied
            .iter()
            .find(|(version, _)| *version == migration.version)
        {
            Some((_, Some(stored))) if *stored != file => {
                return Err(MigrateError::Changed {
                    version: migration.version,
                    name: migration.name,
                    applied: stored.clone(),
                    file,
                });
            }
            Some((_, Some(_))) => {}
            Some((version, None)) => {
                // Applied before checksums were kept: what is there now is taken as
                // what was applied.
                client
                    .execute(
                        "UPDATE schema_migrations SET checksum = $2 WHERE version = $1",
                        &[version, &file],
                    )
                    .await?;
            }
            None => {
                apply_one(client, migration, &file).await?;
                newly_applied.push(migration.version);
            }
        }
    }
    Ok(newly_applied)
}

/// Applies one migration in its own transaction, trying again while its locks are held
/// by others.
async fn apply_one(
    client: &mut Client,
    migration: &Migration,
    checksum: &str,
) -> Result<(), MigrateError> {
    for attempt in 1..=LOCK_ATTEMPTS {
        let transaction = client.transaction().await?;
        let result = async {
            transaction
                .batch_execute(&format!(
                    "SET LOCAL lock_timeout = '{}ms'",
                    LOCK_TIMEOUT.as_millis()
                ))
                .await?;
            transaction.batch_execute(migration.sql).await?;
            transaction
                .execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    &[&migration.version, &migration.name, &checksum],
                )
                .await?;
            Ok::<_, tokio_postgres::Error>(())
        }
        .await;
        match result {
            Ok(()) => {
                transaction.commit().await?;
                return Ok(());
            }
            Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => {
                transaction.rollback().await?;
                eprintln!(
                    "migrate: {:04}_{} waited {LOCK_TIMEOUT:?} for a lock (try {attempt}); \
                     trying again",
                    migration.version, migration.name
                );
                tokio::time::sleep(Duration::from_millis(200) * attempt.min(10)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(MigrateError::Locked {
        version: migration.version,
        attempts: LOCK_ATTEMPTS,
    })
}
