//! `mailer`: delivers the outbox over SMTP until SIGTERM (see the crate's documentation
//! and `mailer::config` for the environment it reads).
//!
//! `mailer healthcheck` exits 0 if the database answers and the outbox is readable (a
//! container healthcheck), 1 otherwise; it needs only `DATABASE_URL` (and
//! `DATABASE_PASSWORD_FILE`).

use std::process::ExitCode;

use mailer::config::{Config, Database};
use mailer::log::{self, Level};
use mailer::relay::Relay;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    match arguments.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => serve().await,
        ["healthcheck"] => healthcheck().await,
        _ => {
            eprintln!("usage: mailer [healthcheck]");
            ExitCode::from(2)
        }
    }
}

async fn serve() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(message) => {
            eprintln!("mailer: {message}");
            return ExitCode::FAILURE;
        }
    };
    let relay = match Relay::new(&config.smtp) {
        Ok(relay) => relay,
        Err(message) => {
            eprintln!("mailer: SMTP_URL: {message}");
            return ExitCode::FAILURE;
        }
    };
    let (stop, stopping) = watch::channel(false);
    let (mut terminate, mut interrupt) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(terminate), Ok(interrupt)) => (terminate, interrupt),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("mailer: listening for signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        log::service(
            Level::Info,
            "stopping",
            &format!("{name}: finishing the email in hand"),
        );
        let _ = stop.send(true);
    });
    log::service(
        Level::Info,
        "started",
        &format!(
            "relay {}:{} ({:?}), links to {}",
            config.smtp.host,
            config.smtp.port,
            config.smtp.security,
            config.public_url.as_str()
        ),
    );
    mailer::service::run(&config, &relay, stopping).await;
    log::service(Level::Info, "stopped", "");
    ExitCode::SUCCESS
}

async fn healthcheck() -> ExitCode {
    let database = match Database::from_lookup(&|name| std::env::var(name).ok()) {
        Ok(database) => database,
        Err(message) => {
            eprintln!("mailer healthcheck: {message}");
            return ExitCode::FAILURE;
        }
    };
    match mailer::service::healthcheck(&database).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("mailer healthcheck: {message}");
            ExitCode::FAILURE
        }
    }
}
