//! The sender's loop: take the next due email, deliver it, mark it; when nothing is due,
//! wait the poll interval. It outlives the database and the relay going away (it
//! reconnects and goes on) and stops on SIGTERM or SIGINT once the email in hand is done.
//!
//! Exactly once, as far as SMTP allows: a row is marked sent in the same transaction that
//! locked it, committed right after the relay's 250. A sender that dies before the 250
//! leaves the row due and untouched (Postgres rolls its transaction back), so the email
//! goes out once after the restart. One that dies between the 250 and the commit (one
//! round trip to Postgres, well under a millisecond on a local network), or whose commit
//! fails because Postgres went away in that moment, sends that one email again after
//! the restart, with the same Message-ID. SMTP has no way to close that window: the relay
//! cannot take an email back.

use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;
use tokio_postgres::Client;

use crate::config::Config;
use crate::log::{self, Level, RowEvent};
use crate::outbox::{self, Claimed, Loaded};
use crate::policy::Failure;
use crate::relay::Relay;
use crate::render::{self, Shop};

/// The longest one database step may take before the connection is given up as dead
/// (the role's statement timeout is 5 s; this also covers a server that froze).
const DATABASE_STEP_LIMIT: Duration = Duration::from_secs(10);
/// How long to wait before connecting again after the database failed, at first and at
/// most.
const RECONNECT_FIRST: Duration = Duration::from_millis(500);
const RECONNECT_MAX: Duration = Duration::from_secs(30);

/// What one turn of the loop did.
enum Turn {
    /// Nothing was due.
    Idle,
    /// A row was dealt with (sent, retried or given up): look for the next at once.
    Worked,
}

/// Runs until `stop` turns true, then returns once the email in hand is done.
pub async fn run(config: &Config, relay: &Relay, mut stop: watch::Receiver<bool>) {
    let mut connection: Option<Client> = None;
    let mut reconnect_wait = RECONNECT_FIRST;
    while !*stop.borrow() {
        let client = match connection.take().filter(|client| !client.is_closed()) {
            Some(client) => client,
            None => match connect(config).await {
                Ok(client) => {
                    log::service(Level::Info, "database_connected", "");
                    client
                }
                Err(e) => {
                    log::service(Level::Error, "database_unavailable", &e);
                    pause(reconnect_wait, &mut stop).await;
                    reconnect_wait = (reconnect_wait * 2).min(RECONNECT_MAX);
                    continue;
                }
            },
        };
        // The wait before reconnecting grows until a turn succeeds (not merely a
        // connection: a statement that keeps failing must not turn into a busy loop).
        match deliver_next(config, relay, &client).await {
            Ok(Turn::Worked) => {
                reconnect_wait = RECONNECT_FIRST;
                connection = Some(client);
            }
            Ok(Turn::Idle) => {
                reconnect_wait = RECONNECT_FIRST;
                connection = Some(client);
                pause(config.poll, &mut stop).await;
            }
            Err(e) => {
                // Dropping the connection ends its transaction: the row, if one was
                // claimed and not marked, is due again as it was.
                log::service(Level::Error, "database_unavailable", &e.to_string());
                drop(client);
                pause(reconnect_wait, &mut stop).await;
                reconnect_wait = (reconnect_wait * 2).min(RECONNECT_MAX);
            }
        }
    }
}

/// Waits `duration`, or less if asked to stop.
async fn pause(duration: Duration, stop: &mut watch::Receiver<bool>) {
    tokio::select! {
        _ = tokio::time::sleep(duration) => {}
        _ = stop.wait_for(|stopping| *stopping) => {}
    }
}

/// Connects to the database as `DATABASE_URL` says.
pub async fn connect(config: &Config) -> Result<Client, String> {
    let target = &config.database.target;
    let connecting = target.config.connect(target.tls.clone());
    let (client, connection) = tokio::time::timeout(DATABASE_STEP_LIMIT, connecting)
        .await
        .map_err(|_| "connecting took too long".to_owned())?
        .map_err(|e| crate::relay::error_chain(&e))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            log::service(
                Level::Warn,
                "database_connection_ended",
                &crate::relay::error_chain(&e),
            );
        }
    });
    Ok(client)
}

/// One database step, bounded: a server that stopped answering counts as gone.
async fn step<T, E: Into<outbox::Error>>(
    work: impl Future<Output = Result<T, E>>,
) -> Result<T, outbox::Error> {
    match tokio::time::timeout(DATABASE_STEP_LIMIT, work).await {
        Ok(result) => result.map_err(Into::into),
        Err(_) => Err(outbox::Error::NoAnswer(DATABASE_STEP_LIMIT)),
    }
}

/// Claims the next due row, if any, and sees it to its end: sent, to be retried, or
/// given up, committed.
async fn deliver_next(
    config: &Config,
    relay: &Relay,
    client: &Client,
) -> Result<Turn, outbox::Error> {
    step(outbox::begin(client)).await?;
    let Some(claimed) = step(outbox::claim_due(client)).await? else {
        step(outbox::rollback(client)).await?;
        return Ok(Turn::Idle);
    };
    let attempt = claimed.attempts.saturating_add(1);
    let event = |event, level, error| row_event(&claimed, attempt, event, level, error);
    event("claimed", Level::Info, None).write();
    let secrets: Vec<&str> = claimed.link_token.as_deref().into_iter().collect();

    let give_up_after = config.policy.give_up_after(claimed.kind);
    if config.policy.is_too_old(claimed.kind, claimed.age) {
        let reason = format!(
            "not delivered within {} s of being written",
            give_up_after.as_secs()
        );
        step(outbox::commit_given_up(client, claimed.id, false, &reason)).await?;
        event("gave_up", Level::Warn, Some(&reason)).write();
        return Ok(Turn::Worked);
    }

    let message = match step(outbox::read_email(client, &claimed)).await? {
        Loaded::Ready { recipient, content } => {
            let shop = Shop {
                name: &config.shop_name,
                url: &config.public_url,
            };
            let email = render::render(shop, &recipient.name, &content);
            let id =
                render::message_id(claimed.id, claimed.created_micros, config.public_url.host());
            render::message(&email, &config.from, &recipient, &id, SystemTime::now())
                .map_err(|unsendable| unsendable.0)
        }
        Loaded::TurnedOff => Err("the recipient turned these emails off".to_owned()),
        Loaded::Broken(reason) => Err(reason),
    };
    let message = match message {
        Ok(message) => message,
        Err(reason) => {
            let reason = log::redact(&reason, &secrets);
            step(outbox::commit_given_up(client, claimed.id, false, &reason)).await?;
            event("gave_up", Level::Warn, Some(&reason)).write();
            return Ok(Turn::Worked);
        }
    };

    let started = Instant::now();
    let sent = relay.send(&message).await;
    match sent {
        Ok(accepted) => {
            // The relay has it: mark it before anything else, even saying goodbye.
            step(outbox::commit_sent(client, claimed.id)).await?;
            let took = started.elapsed();
            accepted.close().await;
            RowEvent {
                took: Some(took),
                ..event("sent", Level::Info, None)
            }
            .write();
        }
        Err(Failure::Temporary(cause)) => {
            let cause = log::redact(&cause, &secrets);
            let delay = config.policy.retry_delay(attempt as u32);
            let retry_in = delay.min(give_up_after.saturating_sub(claimed.age));
            step(outbox::commit_retry(
                client,
                claimed.id,
                delay,
                give_up_after,
                &cause,
            ))
            .await?;
            RowEvent {
                retry_in: Some(retry_in),
                ..event("retry", Level::Warn, Some(&cause))
            }
            .write();
        }
        Err(Failure::Permanent(cause)) => {
            let cause = log::redact(&format!("refused: {cause}"), &secrets);
            step(outbox::commit_given_up(client, claimed.id, true, &cause)).await?;
            event("gave_up", Level::Error, Some(&cause)).write();
        }
    }
    Ok(Turn::Worked)
}

/// The log line of `event` for the claimed row's try number `attempt`.
fn row_event<'a>(
    claimed: &Claimed,
    attempt: i32,
    event: &'static str,
    level: Level,
    error: Option<&'a str>,
) -> RowEvent<'a> {
    RowEvent {
        event,
        level,
        outbox_id: claimed.id,
        kind: claimed.kind,
        attempt,
        error,
        retry_in: None,
        took: None,
    }
}

/// Whether the database at `DATABASE_URL` answers and lets this role read the outbox
/// (`mailer healthcheck`).
pub async fn healthcheck(database: &crate::config::Database) -> Result<(), String> {
    let target = &database.target;
    let connecting = target.config.connect(target.tls.clone());
    let (client, connection) = tokio::time::timeout(Duration::from_secs(5), connecting)
        .await
        .map_err(|_| "connecting took too long".to_owned())?
        .map_err(|e| crate::relay::error_chain(&e))?;
    tokio::spawn(connection);
    tokio::time::timeout(
        Duration::from_secs(5),
        client.query("SELECT 1 FROM outbox LIMIT 1", &[]),
    )
    .await
    .map_err(|_| "the database did not answer within 5 s".to_owned())?
    .map_err(|e| crate::relay::error_chain(&e))?;
    Ok(())
}
