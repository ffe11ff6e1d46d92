//! `migrate`: brings the database named by `DATABASE_URL` up to the latest schema.
//!
//! The password may instead come from a file named by `DATABASE_PASSWORD_FILE` (a
//! Docker secret), so it never appears in the environment or the image.

use std::process::ExitCode;
use std::time::Duration;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(applied) if applied.is_empty() => {
            println!(
                "migrate: schema already at version {}",
                migrations::LATEST_VERSION
            );
            ExitCode::SUCCESS
        }
        Ok(applied) => {
            println!(
                "migrate: applied versions {applied:?}; schema at version {}",
                migrations::LATEST_VERSION
            );
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("migrate: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<Vec<i64>, String> {
    let url = std::env::var("DATABASE_URL").map_err(|_| "set DATABASE_URL".to_owned())?;
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| format!("DATABASE_URL is not a valid connection string: {e}"))?;
    if let Ok(path) = std::env::var("DATABASE_PASSWORD_FILE") {
        let password = std::fs::read_to_string(&path)
            .map_err(|e| format!("reading DATABASE_PASSWORD_FILE {path}: {e}"))?;
        config.password(password.trim_end_matches(['\r', '\n']));
    }
    let mut client = migrations::connect(&config, Duration::from_secs(60))
        .await
        .map_err(|e| format!("connecting: {e}"))?;
    migrations::apply(&mut client)
        .await
        .map_err(|e| format!("applying migrations: {e}"))
}
