//! What the email sender's tests share: MailDev and the real `mailer` started off the
//! async runtime, waiting on the outbox, reading emails as MailDev gives them, and the
//! samples kept for people to read.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use market_tests::maildev::MailDev;
use market_tests::mailer::{Mailer, OutboxRow, Person, Queued, link_token, outbox, queue};
use serde_json::Value;

/// How long the tests wait for emails that should come.
pub(crate) const PATIENCE: Duration = Duration::from_secs(30);

/// MailDev, started off the async runtime (it waits for Node to listen).
pub(crate) async fn start_maildev() -> MailDev {
    tokio::task::spawn_blocking(|| MailDev::start().expect("starting MailDev"))
        .await
        .unwrap()
}

pub(crate) async fn start_mailer(environment: Vec<(String, String)>) -> Mailer {
    tokio::task::spawn_blocking(move || {
        Mailer::start(&environment).unwrap_or_else(|e| panic!("{e:#}"))
    })
    .await
    .unwrap()
}

/// Waits until `done` holds for the outbox, or fails after `patience` showing it.
pub(crate) async fn wait_for_outbox(
    db: &tokio_postgres::Client,
    patience: Duration,
    what: &str,
    done: impl Fn(&[OutboxRow]) -> bool,
) -> Vec<OutboxRow> {
    let started = Instant::now();
    loop {
        let rows = outbox(db).await;
        if done(&rows) {
            return rows;
        }
        assert!(
            started.elapsed() < patience,
            "{what}: not within {patience:?}; the outbox: {rows:#?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

pub(crate) fn text<'a>(email: &'a Value, field: &str) -> &'a str {
    email[field].as_str().unwrap_or_default()
}

pub(crate) fn header<'a>(email: &'a Value, name: &str) -> Option<&'a str> {
    email["headers"][name].as_str()
}

/// The emails by their Message-ID: how many copies of each arrived.
pub(crate) fn copies_by_message_id(emails: &[Value]) -> HashMap<String, usize> {
    let mut copies = HashMap::new();
    for email in emails {
        let id = header(email, "message-id").expect("every email has a Message-ID");
        *copies.entry(id.to_owned()).or_insert(0) += 1;
    }
    copies
}

/// The id of the outbox row a Message-ID names (`<outbox-{id}.{micros}@shop.test>`).
pub(crate) fn outbox_id_of(message_id: &str) -> i64 {
    message_id
        .strip_prefix("<outbox-")
        .and_then(|rest| rest.split('.').next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("not an outbox Message-ID: {message_id}"))
}

/// A port nothing listens on: a relay that is down.
pub(crate) fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Rows for `count` emails to `to` of the kinds that need no order: reset links.
pub(crate) async fn queue_resets(
    db: &tokio_postgres::Client,
    to: &Person,
    count: usize,
) -> Vec<i64> {
    let mut ids = Vec::with_capacity(count);
    for _ in 0..count {
        let token = link_token();
        ids.push(
            queue(
                db,
                to,
                "reset",
                Queued {
                    link_token: Some(&token),
                    ..Queued::default()
                },
            )
            .await,
        );
    }
    ids
}

/// Waits until the sender says it claimed outbox row `id`.
pub(crate) async fn wait_until_claimed(mailer: &Mailer, id: i64) {
    let started = Instant::now();
    while !mailer
        .events()
        .iter()
        .any(|line| line["event"] == "claimed" && line["outbox_id"] == id)
    {
        assert!(
            started.elapsed() < PATIENCE,
            "row {id} never claimed:\n{}",
            mailer.log()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Each email as MailDev shows it (headers, plain text, HTML), one file per subject,
/// in `target/test-artifacts/email/`: what the closing notes and reviews quote.
pub(crate) fn keep_samples(emails: &[Value]) {
    let dir = market_tests::browser::artifacts_dir()
        .parent()
        .expect("the artifacts folder")
        .join("email");
    std::fs::create_dir_all(&dir).unwrap();
    for (n, email) in emails.iter().enumerate() {
        let headers = email["headers"]
            .as_object()
            .map(|headers| {
                headers
                    .iter()
                    .map(|(name, value)| format!("{name}: {}", value.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default();
        let sample = format!(
            "{headers}\n\n--- text/plain ---\n{}\n--- text/html ---\n{}\n",
            email["text"].as_str().unwrap_or_default(),
            email["html"].as_str().unwrap_or_default()
        );
        std::fs::write(dir.join(format!("{}.txt", n + 1)), sample).unwrap();
    }
    println!("email samples: {}", dir.display());
}
