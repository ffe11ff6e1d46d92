//! The email sender as it runs in production: the real `mailer` binary (built by
//! `cargo build -p mailer`, which ./scripts/test runs), as the role `market_mailer`, on a
//! fresh database of a cluster the email tests share, sending to a [`MailDev`]. And the
//! rows its tests arrange: people, items, orders, conversations, reviews and outbox rows,
//! written directly as the schema's owner, as the app's transactions would leave them.
//!
//! [`MailDev`]: crate::maildev::MailDev

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::cluster::PgCluster;
use crate::process;
use crate::testing::{connect, create_database, json_lines, project_dir};

/// How long the sender may take to start (connect nothing yet: it only reads its
/// configuration and says so).
const STARTUP: Duration = Duration::from_secs(10);

/// The `mailer` binary, refused when missing or older than a file it was built from
/// (cargo's dep-info beside it, and Cargo.lock): the tests must never pass or fail on
/// yesterday's sender.
pub fn mailer_binary() -> anyhow::Result<PathBuf> {
    static CHECKED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let checked = CHECKED.get_or_init(|| {
        let project = project_dir().canonicalize().map_err(|e| e.to_string())?;
        let debug = project.join("target/debug");
        let binary = debug.join("mailer");
        let Some(newer) = crate::spin::newer_input(&binary, &debug.join("mailer.d"), &project)
        else {
            return Err(format!(
                "{} is missing: build it first with `cargo build -p mailer` (./scripts/test does)",
                binary.display()
            ));
        };
        if let Some(input) = newer {
            return Err(format!(
                "{} is older than {}: the tests would run a stale sender. Build it first: \
                 cargo build -p mailer (./scripts/test does)",
                binary.display(),
                input.display()
            ));
        }
        Ok(binary)
    });
    checked.clone().map_err(anyhow::Error::msg)
}

/// The cluster of the email tests (one per test process): the role `market_mailer` has
/// a connection limit of 10 for the whole cluster, which tests running several senders
/// at once must not share with the rest of the suite.
fn cluster() -> &'static PgCluster {
    static CLUSTER: OnceLock<PgCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| PgCluster::start().expect("starting a throwaway PostgreSQL"))
}

/// How many email tests run at once: each runs one or two senders, and
/// `market_mailer` may hold at most 10 connections to the cluster.
const TESTS_AT_ONCE: usize = 4;

/// A fresh, migrated database for one email test: its connection string (as the schema
/// owner), a connection to arrange and check rows with, and the test's slot among the
/// [`TESTS_AT_ONCE`] (hold it, as `_slot`, to the end of the test).
pub async fn mail_database() -> (
    String,
    tokio_postgres::Client,
    tokio::sync::SemaphorePermit<'static>,
) {
    static SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(TESTS_AT_ONCE);
    let slot = SLOTS
        .acquire()
        .await
        .expect("the semaphore is never closed");
    let db_url = create_database(&cluster().url("postgres")).await;
    let db = connect(&db_url).await;
    (db_url, db, slot)
}

/// The connection string the sender uses for the database at `db_url`: the same
/// database as `market_mailer` (the tests' clusters trust local connections).
pub fn mailer_url(db_url: &str) -> String {
    db_url.replacen(
        "://postgres@",
        &format!("://{}@", migrations::MAILER_ROLE),
        1,
    )
}

/// The public URL the tests' emails link to.
pub const PUBLIC_URL: &str = "http://shop.test:8080";
/// The shop's name in the tests' emails.
pub const SHOP_NAME: &str = "Test Shop";
/// The sender of the tests' emails.
pub const MAIL_FROM: &str = "Test Shop <shop@shop.test>";

/// The sender's environment for the database at `db_url` and the relay at `smtp_url`,
/// with short waits: a poll every 50 ms, retries after 1 s, 2 s, then every 3 s at most.
pub fn environment(db_url: &str, smtp_url: &str) -> Vec<(String, String)> {
    [
        ("DATABASE_URL", mailer_url(db_url)),
        ("SMTP_URL", smtp_url.to_owned()),
        ("MAIL_FROM", MAIL_FROM.to_owned()),
        ("PUBLIC_URL", PUBLIC_URL.to_owned()),
        ("SHOP_NAME", SHOP_NAME.to_owned()),
        ("MAILER_POLL_MS", "50".to_owned()),
        ("MAILER_RETRY_FIRST_SECS", "1".to_owned()),
        ("MAILER_RETRY_MAX_SECS", "3".to_owned()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

/// `environment` with `name` set to `value`.
pub fn with(
    mut environment: Vec<(String, String)>,
    name: &str,
    value: &str,
) -> Vec<(String, String)> {
    environment.retain(|(existing, _)| existing != name);
    environment.push((name.to_owned(), value.to_owned()));
    environment
}

/// Runs `mailer` with exactly `environment` (nothing inherited) and `args`, to its end;
/// its exit status and what it printed.
pub fn run_to_end(
    environment: &[(String, String)],
    args: &[&str],
) -> anyhow::Result<(ExitStatus, String)> {
    let output = Command::new(mailer_binary()?)
        .args(args)
        .env_clear()
        .envs(environment.iter().cloned())
        .stdin(Stdio::null())
        .output()
        .context("running mailer")?;
    let printed = [output.stdout, output.stderr].concat();
    Ok((
        output.status,
        String::from_utf8_lossy(&printed).into_owned(),
    ))
}

/// One running sender; killed when dropped.
pub struct Mailer {
    dir: PathBuf,
    child: Option<Child>,
}

impl Mailer {
    /// Starts `mailer` with exactly `environment` (nothing inherited) and waits until it
    /// says it started.
    pub fn start(environment: &[(String, String)]) -> anyhow::Result<Self> {
        let binary = mailer_binary()?;
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "market-mailer-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        let log = std::fs::File::create(dir.join("mailer.log"))?;
        let mut command = Command::new(binary);
        command
            .env_clear()
            .envs(environment.iter().cloned())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = process::own_group(&mut command)
            .spawn()
            .context("starting mailer")?;
        process::kill_group_when_this_process_exits(&child)?;
        let mut mailer = Self {
            dir,
            child: Some(child),
        };
        let started = Instant::now();
        while !mailer
            .events()
            .iter()
            .any(|line| line["event"] == "started")
        {
            if let Some(status) = mailer
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                bail!("mailer exited with {status}:\n{}", mailer.log());
            }
            if started.elapsed() > STARTUP {
                bail!("mailer did not start within {STARTUP:?}:\n{}", mailer.log());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(mailer)
    }

    /// Kills the sender at once (SIGKILL), as a crash or an evicted container goes.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            process::stop_group(&mut child, libc::SIGKILL, Duration::ZERO);
        }
    }

    /// Asks the sender to stop (SIGTERM) and waits for it, up to `patience`; its exit
    /// status.
    pub fn terminate(&mut self, patience: Duration) -> anyhow::Result<ExitStatus> {
        let mut child = self.child.take().context("mailer is not running")?;
        // SAFETY: kill(2) with a pid and a signal number has no memory effects.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        let asked = Instant::now();
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            if asked.elapsed() > patience {
                process::stop_group(&mut child, libc::SIGKILL, Duration::ZERO);
                bail!(
                    "mailer did not stop within {patience:?} of SIGTERM:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// What the sender logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("mailer.log")).unwrap_or_default()
    }

    /// Its JSON log lines so far.
    pub fn events(&self) -> Vec<serde_json::Value> {
        json_lines(&self.log())
    }
}

impl Drop for Mailer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Someone with an account and a verified address (so notices reach them by email).
#[derive(Debug, Clone)]
pub struct Person {
    pub id: i64,
    pub email: String,
    pub name: String,
}

/// Stores a person named `name` (a unique address derived from it).
pub async fn add_person(db: &tokio_postgres::Client, name: &str) -> Person {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let email = format!(
        "{}.{}@example.com",
        name.to_lowercase()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    add_person_with_address(db, name, &email).await
}

/// Stores a person named `name` with the address `email`, as it is (no checks beyond the
/// schema's).
pub async fn add_person_with_address(
    db: &tokio_postgres::Client,
    name: &str,
    email: &str,
) -> Person {
    let row = db
        .query_one(
            "INSERT INTO accounts (email, display_name, password_hash, email_verified_at)
             VALUES ($1, $2, '$argon2id$v=19$m=19456,t=2,p=1$not-a-real-hash', now())
             RETURNING id",
            &[&email, &name],
        )
        .await
        .expect("arranging a person");
    Person {
        id: row.get(0),
        email: email.to_owned(),
        name: name.to_owned(),
    }
}

/// Lists an item named `name` for `seller`; its id.
pub async fn add_item(db: &tokio_postgres::Client, seller: &Person, name: &str) -> i64 {
    db.query_one(
        "INSERT INTO items (name, quantity, description, price_cents, seller_id)
         VALUES ($1, 100, 'As new.', 1250, $2) RETURNING id",
        &[&name, &seller.id],
    )
    .await
    .expect("arranging an item")
    .get(0)
}

/// `buyer` bought `quantity` of `item` from `seller`; the order's id. `shipped_with`:
/// the order has shipped, with this note (or none).
pub async fn add_order(
    db: &tokio_postgres::Client,
    item: i64,
    buyer: &Person,
    seller: &Person,
    quantity: i32,
    shipped_with: Option<Option<&str>>,
) -> i64 {
    let (state, note) = match shipped_with {
        None => ("placed", None),
        Some(note) => ("shipped", note),
    };
    db.query_one(
        "INSERT INTO purchases (item_id, quantity, remaining, buyer_id, seller_id, price_cents,
                                state, shipped_at, ship_note)
         VALUES ($1, $2, 10, $3, $4, 1250, $5,
                 CASE WHEN $5 = 'shipped' THEN now() END, $6)
         RETURNING id",
        &[&item, &quantity, &buyer.id, &seller.id, &state, &note],
    )
    .await
    .expect("arranging an order")
    .get(0)
}

/// `asker` asked `seller` about `item` and `seller` answered; the conversation's id.
pub async fn add_conversation(
    db: &tokio_postgres::Client,
    item: i64,
    asker: &Person,
    seller: &Person,
) -> i64 {
    let id: i64 = db
        .query_one(
            "INSERT INTO conversations (item_id, asker_id, seller_id) VALUES ($1, $2, $3)
             RETURNING id",
            &[&item, &asker.id, &seller.id],
        )
        .await
        .expect("arranging a conversation")
        .get(0);
    db.execute(
        "INSERT INTO messages (conversation_id, author_id, body, sent_at)
         VALUES ($1, $2, 'Is it still available?', now() - interval '1 minute'),
                ($1, $3, 'It is: the secret price is 5.', now())",
        &[&id, &asker.id, &seller.id],
    )
    .await
    .expect("arranging messages");
    id
}

/// `author` reviewed `subject` for the order.
pub async fn add_review(
    db: &tokio_postgres::Client,
    order: i64,
    author: &Person,
    subject: &Person,
) {
    db.execute(
        "INSERT INTO reviews (order_id, author_id, subject_id, subject_role, rating, body)
         VALUES ($1, $2, $3, 'seller', 2, 'Slow to ship.')",
        &[&order, &author.id, &subject.id],
    )
    .await
    .expect("arranging a review");
}

/// What an outbox row names, as the app's transactions write them.
#[derive(Debug, Clone, Default)]
pub struct Queued<'a> {
    pub link_token: Option<&'a str>,
    pub order_id: Option<i64>,
    pub conversation_id: Option<i64>,
}

/// Writes an outbox row: an email of `kind` to `to`; its id.
pub async fn queue(
    db: &tokio_postgres::Client,
    to: &Person,
    kind: &str,
    queued: Queued<'_>,
) -> i64 {
    db.query_one(
        "INSERT INTO outbox (account_id, kind, link_token, order_id, conversation_id)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
        &[
            &to.id,
            &kind,
            &queued.link_token,
            &queued.order_id,
            &queued.conversation_id,
        ],
    )
    .await
    .expect("arranging an outbox row")
    .get(0)
}

/// A fresh link token of the shape the app makes: 64 hex characters, random (each
/// `RandomState` is seeded with fresh random keys).
pub fn link_token() -> String {
    use std::hash::BuildHasher;
    (0..4)
        .map(|_| {
            format!(
                "{:016x}",
                std::collections::hash_map::RandomState::new().hash_one(0)
            )
        })
        .collect()
}

/// An outbox row's state, as the sender left it.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    pub id: i64,
    pub kind: String,
    pub attempts: i32,
    pub sent: bool,
    pub gave_up: bool,
    pub has_token: bool,
    pub last_error: Option<String>,
    /// Seconds from now until the row is due (negative: due already).
    pub due_in_secs: f64,
}

/// Every outbox row, by id.
pub async fn outbox(db: &tokio_postgres::Client) -> Vec<OutboxRow> {
    db.query(
        "SELECT id, kind, attempts, sent_at IS NOT NULL, gave_up_at IS NOT NULL,
                link_token IS NOT NULL, last_error,
                extract(epoch FROM next_attempt_at - now())::float8
           FROM outbox ORDER BY id",
        &[],
    )
    .await
    .expect("reading the outbox")
    .iter()
    .map(|row| OutboxRow {
        id: row.get(0),
        kind: row.get(1),
        attempts: row.get(2),
        sent: row.get(3),
        gave_up: row.get(4),
        has_token: row.get(5),
        last_error: row.get(6),
        due_in_secs: row.get(7),
    })
    .collect()
}

/// The link token of the newest `kind` email (verify, reset) to the account with
/// `email`, as the app left it in the outbox for the sender (none once sent).
pub async fn mailed_link(db: &tokio_postgres::Client, email: &str, kind: &str) -> Option<String> {
    db.query_one(
        "SELECT (SELECT link_token FROM outbox JOIN accounts ON accounts.id = outbox.account_id
                 WHERE lower(accounts.email) = lower($1) AND kind = $2
                 ORDER BY outbox.id DESC LIMIT 1)",
        &[&email, &kind],
    )
    .await
    .expect("reading the outbox")
    .get(0)
}
