//! Applies the embedded migrations: each in its own transaction, recorded in
//! `schema_migrations`, under an advisory lock so that two runners started at once
//! apply each migration exactly once.

use std::time::{Duration, Instant};

use tokio_postgres::{Client, NoTls};

use crate::MIGRATIONS;

/// Identifies this app's migration lock among Postgres advisory locks ("mkt" "migr").
const LOCK_KEY: i64 = 0x6d6b_7400_6d69_6772;

/// Connects, retrying while the server is still starting, for up to `patience`.
pub async fn connect(
    config: &tokio_postgres::Config,
    patience: Duration,
) -> Result<Client, tokio_postgres::Error> {
    let started = Instant::now();
    loop {
        match config.connect(NoTls).await {
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

/// The role the app connects as (created by migrations/sql/0006).
pub const APP_ROLE: &str = "market_app";

/// Sets the app role's password, so the app can log in with it.
pub async fn set_app_password(
    client: &Client,
    password: &str,
) -> Result<(), tokio_postgres::Error> {
    // ALTER ROLE takes no parameters: let the server quote the literal.
    let statement: String = client
        .query_one(
            "SELECT format('ALTER ROLE %I PASSWORD %L', $1::text, $2::text)",
            &[&APP_ROLE, &password],
        )
        .await?
        .get(0);
    client.batch_execute(&statement).await
}

/// Applies every migration the database does not have yet; returns the versions applied.
pub async fn apply(client: &mut Client) -> Result<Vec<i64>, tokio_postgres::Error> {
    // The database's statement timeout is for the app: waiting for another runner's lock,
    // or a long migration, must not be cut off by it.
    client.batch_execute("SET statement_timeout = 0").await?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&LOCK_KEY])
        .await?;
    let result = apply_locked(client).await;
    // The lock also ends with the session; unlocking early just lets a waiter go sooner.
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
        .await;
    result
}

async fn apply_locked(client: &mut Client) -> Result<Vec<i64>, tokio_postgres::Error> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    bigint      PRIMARY KEY,
                 name       text        NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now()
             )",
        )
        .await?;
    let applied: Vec<i64> = client
        .query("SELECT version FROM schema_migrations", &[])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let mut newly_applied = Vec::new();
    for migration in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
        let transaction = client.transaction().await?;
        transaction.batch_execute(migration.sql).await?;
        transaction
            .execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                &[&migration.version, &migration.name],
            )
            .await?;
        transaction.commit().await?;
        newly_applied.push(migration.version);
    }
    Ok(newly_applied)
}
