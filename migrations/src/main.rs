//! `migrate`: brings the database named by `DATABASE_URL` up to the latest schema, over
//! TLS when the connection string asks for it (`sslmode=require`, `verify-ca` or
//! `verify-full` with `sslrootcert=<CA file>`).
//!
//! The password may instead come from a file named by `DATABASE_PASSWORD_FILE` (a
//! Docker secret), so it never appears in the environment or the image. With
//! `APP_PASSWORD_FILE`, it also gives the app's role (`market_app`) that file's password;
//! with `MAILER_PASSWORD_FILE`, the email sender's role (`market_mailer`) that file's.

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
    let mut target = migrations::Target::parse(&url).map_err(|e| format!("DATABASE_URL: {e}"))?;
    if let Ok(path) = std::env::var("DATABASE_PASSWORD_FILE") {
        target
            .config
            .password(read_secret(&path, "DATABASE_PASSWORD_FILE")?);
    }
    let mut client = migrations::connect_using(&target.config, target.tls, Duration::from_secs(60))
        .await
        .map_err(|e| format!("connecting: {e}"))?;
    let applied = migrations::apply(&mut client)
        .await
        .map_err(|e| format!("applying migrations: {e}"))?;
    if let Ok(path) = std::env::var("APP_PASSWORD_FILE") {
        let password = read_secret(&path, "APP_PASSWORD_FILE")?;
        migrations::set_app_password(&client, &password)
            .await
            .map_err(|e| format!("setting the password of {}: {e}", migrations::APP_ROLE))?;
    }
    if let Ok(path) = std::env::var("MAILER_PASSWORD_FILE") {
        let password = read_secret(&path, "MAILER_PASSWORD_FILE")?;
        migrations::set_role_password(&client, migrations::MAILER_ROLE, &password)
            .await
            .map_err(|e| format!("setting the password of {}: {e}", migrations::MAILER_ROLE))?;
    }
    Ok(applied)
}

/// A secret file's content, without the line break an editor may have added.
fn read_secret(path: &str, variable: &str) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|text| text.trim_end_matches(['\r', '\n']).to_owned())
        .map_err(|e| format!("reading {variable} {path}: {e}"))
}
