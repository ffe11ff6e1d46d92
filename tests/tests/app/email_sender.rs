//! The email sender (mailer/) as it runs: the real `mailer` binary, as the role
//! `market_mailer`, delivering outbox rows the tests write directly as the app's
//! transactions would, to a real MailDev read back through its REST API.
//!
//! Each email arrives once, with both alternatives, its links and headers; a sender
//! killed mid-batch loses none and sends at most the one in flight again; two senders
//! never send one row twice; a relay that is down is retried with backoff and the email
//! arrives once it is back; what is too old, refused, or unwanted is given up, its
//! token erased.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use market_tests::cluster::PgCluster;
use market_tests::maildev::MailDev;
use market_tests::mailer::{
    Mailer, OutboxRow, PUBLIC_URL, Person, Queued, SHOP_NAME, add_conversation, add_item,
    add_order, add_person, add_person_with_address, add_review, environment, link_token,
    mail_database, outbox, queue, run_to_end, with,
};
use market_tests::testing::{connect, create_database};
use serde_json::Value;

/// How long the tests wait for emails that should come.
const PATIENCE: Duration = Duration::from_secs(30);

/// MailDev, started off the async runtime (it waits for Node to listen).
async fn start_maildev() -> MailDev {
    tokio::task::spawn_blocking(|| MailDev::start().expect("starting MailDev"))
        .await
        .unwrap()
}

async fn start_mailer(environment: Vec<(String, String)>) -> Mailer {
    tokio::task::spawn_blocking(move || {
        Mailer::start(&environment).unwrap_or_else(|e| panic!("{e:#}"))
    })
    .await
    .unwrap()
}

/// Waits until `done` holds for the outbox, or fails after `patience` showing it.
async fn wait_for_outbox(
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

fn text<'a>(email: &'a Value, field: &str) -> &'a str {
    email[field].as_str().unwrap_or_default()
}

fn header<'a>(email: &'a Value, name: &str) -> Option<&'a str> {
    email["headers"][name].as_str()
}

/// The emails by their Message-ID: how many copies of each arrived.
fn copies_by_message_id(emails: &[Value]) -> HashMap<String, usize> {
    let mut copies = HashMap::new();
    for email in emails {
        let id = header(email, "message-id").expect("every email has a Message-ID");
        *copies.entry(id.to_owned()).or_insert(0) += 1;
    }
    copies
}

/// The id of the outbox row a Message-ID names (`<outbox-{id}.{micros}@shop.test>`).
fn outbox_id_of(message_id: &str) -> i64 {
    message_id
        .strip_prefix("<outbox-")
        .and_then(|rest| rest.split('.').next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("not an outbox Message-ID: {message_id}"))
}

/// A port nothing listens on: a relay that is down.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Rows for `count` emails to `to` of the kinds that need no order: reset links.
async fn queue_resets(db: &tokio_postgres::Client, to: &Person, count: usize) -> Vec<i64> {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_kind_of_email_arrives_once_with_both_alternatives_its_links_and_headers() {
    let maildev = start_maildev().await;
    let (db_url, db, _slot) = mail_database().await;
    let seller = add_person(&db, "Sam <Seller>").await;
    let buyer = add_person(&db, "Bea & \"Co\"").await;
    let item = add_item(&db, &seller, "Tea <pot> & cups").await;
    let sold_order = add_order(&db, item, &buyer, &seller, 2, None).await;
    let shipped_order =
        add_order(&db, item, &buyer, &seller, 1, Some(Some("Tracking <123>"))).await;
    let conversation = add_conversation(&db, item, &buyer, &seller).await;
    add_review(&db, sold_order, &buyer, &seller).await;
    let (verify_token, reset_token) = (link_token(), link_token());
    let rows = [
        (
            "verify",
            &buyer,
            Queued {
                link_token: Some(&verify_token),
                ..Queued::default()
            },
        ),
        (
            "reset",
            &seller,
            Queued {
                link_token: Some(&reset_token),
                ..Queued::default()
            },
        ),
        (
            "sold",
            &seller,
            Queued {
                order_id: Some(sold_order),
                ..Queued::default()
            },
        ),
        (
            "shipped",
            &buyer,
            Queued {
                order_id: Some(shipped_order),
                ..Queued::default()
            },
        ),
        (
            "message",
            &buyer,
            Queued {
                conversation_id: Some(conversation),
                ..Queued::default()
            },
        ),
        (
            "review",
            &seller,
            Queued {
                order_id: Some(sold_order),
                ..Queued::default()
            },
        ),
    ];
    let mut ids = HashMap::new();
    for (kind, to, queued) in rows.clone() {
        ids.insert(kind, queue(&db, to, kind, queued).await);
    }
    let unsubscribe_key = |person: &Person| {
        let db = &db;
        let id = person.id;
        async move {
            db.query_one(
                "SELECT unsubscribe_key FROM email_settings WHERE account_id = $1",
                &[&id],
            )
            .await
            .unwrap()
            .get::<_, String>(0)
        }
    };
    let keys = HashMap::from([
        (seller.id, unsubscribe_key(&seller).await),
        (buyer.id, unsubscribe_key(&buyer).await),
    ]);

    let mut mailer = start_mailer(environment(&db_url, &maildev.smtp_url())).await;
    maildev.wait_for_emails(6, PATIENCE).await.unwrap();
    // Another few polls: nothing more comes.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let emails = maildev.emails().await.unwrap();
    assert_eq!(emails.len(), 6, "{emails:#?}");
    keep_samples(&emails);

    let order_link = |order: i64| format!("{PUBLIC_URL}/orders/{order}");
    let expected = [
        (
            "verify",
            &buyer,
            "Confirm your email address".to_owned(),
            format!("{PUBLIC_URL}/account/email/verify?token={verify_token}"),
        ),
        (
            "reset",
            &seller,
            "Reset your password".to_owned(),
            format!("{PUBLIC_URL}/account/email/reset?token={reset_token}"),
        ),
        (
            "sold",
            &seller,
            "You sold 2 × Tea <pot> & cups".to_owned(),
            order_link(sold_order),
        ),
        (
            "shipped",
            &buyer,
            "Tea <pot> & cups has shipped".to_owned(),
            order_link(shipped_order),
        ),
        (
            "message",
            &buyer,
            "New message about Tea <pot> & cups".to_owned(),
            format!("{PUBLIC_URL}/conversations/{conversation}"),
        ),
        (
            "review",
            &seller,
            "Bea & \"Co\" reviewed you".to_owned(),
            order_link(sold_order),
        ),
    ];
    for (kind, to, subject, link) in expected {
        let found: Vec<&Value> = emails
            .iter()
            .filter(|e| text(e, "subject") == subject)
            .collect();
        assert_eq!(found.len(), 1, "one email {subject:?} among {emails:#?}");
        let email = found[0];
        assert_eq!(email["to"][0]["address"], to.email.as_str(), "{kind}");
        assert_eq!(email["to"][0]["name"], to.name.as_str(), "{kind}");
        assert_eq!(email["from"][0]["address"], "shop@shop.test", "{kind}");
        assert_eq!(email["from"][0]["name"], SHOP_NAME, "{kind}");
        let (body, html) = (text(email, "text"), text(email, "html"));
        assert!(body.contains(&link), "{kind}: {link} in the text:\n{body}");
        assert!(
            html.contains(&format!("href=\"{}\"", link.replace('&', "&amp;"))),
            "{kind}: {link} in the HTML:\n{html}"
        );
        assert!(
            body.contains(SHOP_NAME) && html.contains(SHOP_NAME),
            "{kind}"
        );
        assert!(
            header(email, "content-type").is_some_and(|t| t.starts_with("multipart/alternative")),
            "{kind}: {:?}",
            email["headers"]
        );
        let message_id = header(email, "message-id").unwrap();
        assert!(
            message_id.starts_with(&format!("<outbox-{}.", ids[kind]))
                && message_id.ends_with("@shop.test>"),
            "{kind}: {message_id}"
        );
        assert!(header(email, "date").is_some(), "{kind}: a Date");
        let unsubscribe = format!(
            "<{PUBLIC_URL}/account/email/unsubscribe?key={}&kind={kind}>",
            keys[&to.id]
        );
        if matches!(kind, "verify" | "reset") {
            assert_eq!(header(email, "list-unsubscribe"), None, "{kind}");
            assert_eq!(header(email, "list-unsubscribe-post"), None, "{kind}");
        } else {
            assert_eq!(
                header(email, "list-unsubscribe"),
                Some(unsubscribe.as_str()),
                "{kind}"
            );
            assert_eq!(
                header(email, "list-unsubscribe-post"),
                Some("List-Unsubscribe=One-Click"),
                "{kind}"
            );
            let visible = unsubscribe.trim_matches(['<', '>']);
            assert!(
                body.contains(visible),
                "{kind}: the unsubscribe link in the text"
            );
        }
        // What people typed is escaped in the HTML.
        assert!(
            !html.contains("<pot>") && !html.contains("<Seller>"),
            "{kind}:\n{html}"
        );
        // Nothing private: no message text, no review, no password, no other token.
        for private in ["secret price", "Slow to ship", "correct horse"] {
            assert!(
                !body.contains(private) && !html.contains(private),
                "{kind}: {private}"
            );
        }
        for token in [&verify_token, &reset_token] {
            let its_own = link.contains(token.as_str());
            assert_eq!(body.contains(token.as_str()), its_own, "{kind}");
        }
    }
    let shipped = emails
        .iter()
        .find(|e| text(e, "subject").ends_with("has shipped"))
        .unwrap();
    assert!(
        text(shipped, "text").contains("Tracking <123>"),
        "the seller's note"
    );
    let sold = emails
        .iter()
        .find(|e| text(e, "subject").starts_with("You sold"))
        .unwrap();
    assert!(text(sold, "text").contains("to Bea & \"Co\""), "the buyer");
    assert!(text(sold, "text").contains("needs shipping"));
    let message = emails
        .iter()
        .find(|e| text(e, "subject").starts_with("New message"))
        .unwrap();
    assert!(
        text(message, "text").contains("Sam <Seller> wrote to you"),
        "the author"
    );

    let rows = outbox(&db).await;
    assert!(
        rows.iter()
            .all(|row| row.sent && !row.gave_up && !row.has_token),
        "{rows:#?}"
    );
    assert!(
        rows.iter()
            .all(|row| row.attempts == 0 && row.last_error.is_none())
    );

    // Asked to stop, it stops at once (nothing is in hand), with success.
    let status = mailer.terminate(Duration::from_secs(10)).unwrap();
    assert!(status.success(), "{status}");
    let log = mailer.log();
    let events = mailer.events();
    for (kind, id) in &ids {
        for event in ["claimed", "sent"] {
            assert!(
                events.iter().any(|line| line["event"] == event
                    && line["outbox_id"] == *id
                    && line["kind"] == *kind
                    && line["attempt"] == 1),
                "a {event} line for {kind} row {id} in:\n{log}"
            );
        }
    }
    assert!(
        events.iter().any(|line| line["event"] == "stopped"),
        "{log}"
    );
    for secret in [&verify_token, &reset_token, &buyer.email, &seller.email] {
        assert!(
            !log.contains(secret.as_str()),
            "{secret} in the log:\n{log}"
        );
    }
}

/// Counts how many emails a sender killed mid-batch (SIGKILL) and restarted sent more
/// than once: at most the one it had in hand between the relay's 250 and its commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_killed_mid_batch_loses_no_email_and_sends_at_most_the_one_in_flight_again() {
    const BATCH: usize = 60;
    let maildev = start_maildev().await;
    let (db_url, db, _slot) = mail_database().await;
    let person = add_person(&db, "Reader").await;
    let ids = queue_resets(&db, &person, BATCH).await;
    let environment = environment(&db_url, &maildev.smtp_url());

    let mut first = start_mailer(environment.clone()).await;
    wait_for_outbox(&db, PATIENCE, "a third of the batch sent", |rows| {
        rows.iter().filter(|row| row.sent).count() >= BATCH / 3
    })
    .await;
    // Killed at a random moment of an email's hand-over (each takes ~100-150 ms with
    // MailDev), so that runs of this test hit its different steps.
    let random = {
        use std::hash::BuildHasher;
        std::collections::hash_map::RandomState::new().hash_one(0)
    };
    tokio::time::sleep(Duration::from_millis(random % 150)).await;
    first.kill();
    let sent_at_kill = outbox(&db).await.iter().filter(|row| row.sent).count();
    assert!(sent_at_kill < BATCH, "the batch was over before the kill");

    let second = start_mailer(environment).await;
    wait_for_outbox(&db, PATIENCE, "the whole batch sent", |rows| {
        rows.iter().all(|row| row.sent)
    })
    .await;
    // Emails the relay took are stored by MailDev a moment later.
    maildev.wait_for_emails(BATCH, PATIENCE).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let emails = maildev.emails().await.unwrap();
    let copies = copies_by_message_id(&emails);
    let arrived: Vec<i64> = {
        let mut arrived: Vec<i64> = copies.keys().map(|id| outbox_id_of(id)).collect();
        arrived.sort();
        arrived
    };
    assert_eq!(arrived, ids, "every email arrived");
    let twice: Vec<(&String, &usize)> = copies.iter().filter(|(_, n)| **n > 1).collect();
    println!(
        "crash test: killed after {sent_at_kill} of {BATCH} were marked sent; {} emails \
         arrived, {} sent twice {twice:?}",
        emails.len(),
        twice.len()
    );
    assert!(
        twice.len() <= 1 && twice.iter().all(|(_, n)| **n == 2),
        "more than the one in flight was sent again: {twice:?}"
    );
    let rows = outbox(&db).await;
    assert!(
        rows.iter().all(|row| !row.has_token && !row.gave_up),
        "{rows:#?}"
    );
    let took: Vec<u64> = second
        .events()
        .iter()
        .filter_map(|line| line["took_ms"].as_u64())
        .collect();
    println!(
        "crash test: the relay took {:.1} ms per email on average",
        took.iter().sum::<u64>() as f64 / took.len().max(1) as f64
    );
}

/// Waits until the sender says it claimed outbox row `id`.
async fn wait_until_claimed(mailer: &Mailer, id: i64) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_killed_before_the_relay_answered_sends_that_email_exactly_once_after_restart() {
    let maildev = start_maildev().await;
    let (db_url, db, _slot) = mail_database().await;
    let person = add_person(&db, "Reader").await;
    let environment = environment(&db_url, &maildev.smtp_url());
    // The relay hangs: the sender connects and waits for its greeting, the row locked.
    maildev.freeze();
    let id = queue_resets(&db, &person, 1).await[0];
    let mut first = start_mailer(environment.clone()).await;
    wait_until_claimed(&first, id).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    first.kill();
    maildev.thaw();

    // Postgres rolled its transaction back: the row is due, untouched.
    let row = &outbox(&db).await[0];
    assert!(!row.sent && !row.gave_up && row.has_token, "{row:?}");
    assert_eq!((row.attempts, row.last_error.as_deref()), (0, None));

    let _second = start_mailer(environment).await;
    wait_for_outbox(&db, PATIENCE, "the row sent", |rows| rows[0].sent).await;
    maildev.wait_for_emails(1, PATIENCE).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let emails = maildev.emails().await.unwrap();
    assert_eq!(emails.len(), 1, "{emails:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_asked_to_stop_finishes_the_email_in_hand_then_exits_cleanly() {
    let maildev = start_maildev().await;
    let (db_url, db, _slot) = mail_database().await;
    let person = add_person(&db, "Reader").await;
    maildev.freeze();
    let id = queue_resets(&db, &person, 1).await[0];
    let mut mailer = start_mailer(environment(&db_url, &maildev.smtp_url())).await;
    wait_until_claimed(&mailer, id).await;

    // SIGTERM while the relay holds the email; the relay answers half a second later.
    let stopping = tokio::task::spawn_blocking(move || {
        let status = mailer.terminate(PATIENCE);
        (mailer, status)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    maildev.thaw();
    let (mailer, status) = stopping.await.unwrap();
    let status = status.unwrap();
    assert!(status.success(), "{status}\n{}", mailer.log());
    let row = &outbox(&db).await[0];
    assert!(
        row.sent && !row.has_token,
        "the email in hand was finished: {row:?}"
    );
    let emails = maildev.wait_for_emails(1, PATIENCE).await.unwrap();
    assert_eq!(emails.len(), 1);
    let events: Vec<String> = mailer
        .events()
        .iter()
        .filter_map(|line| line["event"].as_str().map(str::to_owned))
        .filter(|event| event != "database_connected")
        .collect();
    assert_eq!(
        events,
        ["started", "claimed", "stopping", "sent", "stopped"],
        "{}",
        mailer.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_senders_at_once_send_each_email_exactly_once() {
    const BATCH: usize = 40;
    let maildev = start_maildev().await;
    let (db_url, db, _slot) = mail_database().await;
    let person = add_person(&db, "Reader").await;
    let environment = environment(&db_url, &maildev.smtp_url());
    let mut one = start_mailer(environment.clone()).await;
    let mut other = start_mailer(environment).await;
    // Both are polling when the batch appears, in one transaction.
    db.batch_execute("BEGIN").await.unwrap();
    let ids = queue_resets(&db, &person, BATCH).await;
    db.batch_execute("COMMIT").await.unwrap();

    wait_for_outbox(&db, PATIENCE, "the whole batch sent", |rows| {
        rows.iter().all(|row| row.sent)
    })
    .await;
    maildev.wait_for_emails(BATCH, PATIENCE).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let emails = maildev.emails().await.unwrap();
    let copies = copies_by_message_id(&emails);
    assert_eq!(emails.len(), BATCH, "one email per row");
    let mut arrived: Vec<i64> = copies.keys().map(|id| outbox_id_of(id)).collect();
    arrived.sort();
    assert_eq!(arrived, ids);

    one.terminate(Duration::from_secs(10)).unwrap();
    other.terminate(Duration::from_secs(10)).unwrap();
    let sent_by = |mailer: &Mailer| {
        mailer
            .events()
            .iter()
            .filter(|line| line["event"] == "sent")
            .count()
    };
    let (by_one, by_other) = (sent_by(&one), sent_by(&other));
    println!("two senders: {by_one} and {by_other} of {BATCH}");
    assert_eq!(by_one + by_other, BATCH);
    assert!(
        by_one > 0 && by_other > 0,
        "both senders worked: {by_one}, {by_other}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_is_down_is_retried_with_backoff_and_the_email_arrives_once_it_is_back() {
    let mut maildev = start_maildev().await;
    maildev.stop();
    let (db_url, db, _slot) = mail_database().await;
    let person = add_person(&db, "Patient").await;
    let token = link_token();
    let id = queue(
        &db,
        &person,
        "verify",
        Queued {
            link_token: Some(&token),
            ..Queued::default()
        },
    )
    .await;
    let mailer = start_mailer(environment(&db_url, &maildev.smtp_url())).await;

    // Tries at 0 s, 1 s, 3 s and 6 s: waits of 1, 2, then 3 s (the cap).
    let rows = wait_for_outbox(&db, PATIENCE, "three failed tries", |rows| {
        rows[0].attempts >= 3
    })
    .await;
    let row = &rows[0];
    assert!(!row.sent && !row.gave_up && row.has_token, "{row:?}");
    let error = row.last_error.as_deref().unwrap_or_default();
    assert!(error.contains("refused"), "the cause is kept: {error}");
    assert!(row.due_in_secs > 0.0, "the next try waits: {row:?}");
    let waits: Vec<f64> = mailer
        .events()
        .iter()
        .filter(|line| line["event"] == "retry" && line["outbox_id"] == id)
        .map(|line| line["retry_in_secs"].as_f64().unwrap())
        .collect();
    assert_eq!(waits[..3], [1.0, 2.0, 3.0], "{}", mailer.log());
    assert!(mailer.events().iter().any(|line| {
        line["event"] == "retry"
            && line["attempt"] == 2
            && line["error"]
                .as_str()
                .is_some_and(|e| e.contains("refused"))
    }));

    tokio::task::block_in_place(|| maildev.start_server()).unwrap();
    let emails = maildev.wait_for_emails(1, PATIENCE).await.unwrap();
    wait_for_outbox(&db, PATIENCE, "the row marked sent", |rows| rows[0].sent).await;
    // Polls go on: nothing more comes.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let emails_now = maildev.emails().await.unwrap();
    assert_eq!(emails_now.len(), 1, "{emails_now:#?}");
    assert_eq!(text(&emails[0], "subject"), "Confirm your email address");
    assert!(text(&emails[0], "text").contains(&token));
    let row = &outbox(&db).await[0];
    assert!(row.sent && !row.has_token, "{row:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emails_past_their_kinds_age_or_turned_off_are_given_up_unsent_and_their_tokens_erased() {
    let maildev = start_maildev().await;
    let (db_url, db, _slot) = mail_database().await;
    let seller = add_person(&db, "Sam").await;
    let buyer = add_person(&db, "Bea").await;
    let item = add_item(&db, &seller, "Kettle").await;
    let order = add_order(&db, item, &buyer, &seller, 1, None).await;
    let (late_reset, fresh_verify) = (link_token(), link_token());
    let reset = queue(
        &db,
        &buyer,
        "reset",
        Queued {
            link_token: Some(&late_reset),
            ..Queued::default()
        },
    )
    .await;
    let verify = queue(
        &db,
        &buyer,
        "verify",
        Queued {
            link_token: Some(&fresh_verify),
            ..Queued::default()
        },
    )
    .await;
    let sold = queue(
        &db,
        &seller,
        "sold",
        Queued {
            order_id: Some(order),
            ..Queued::default()
        },
    )
    .await;
    let shipped = queue(
        &db,
        &buyer,
        "shipped",
        Queued {
            order_id: Some(order),
            ..Queued::default()
        },
    )
    .await;
    // A reset link 2 hours old (its link expired after 1), a verification 2 hours old
    // (valid 24), a sale notice 49 hours old (notices: 48).
    db.execute(
        "UPDATE outbox SET created_at = now() - CASE id WHEN $1 THEN interval '2 hours'
                                                        WHEN $2 THEN interval '2 hours'
                                                        ELSE interval '49 hours' END
          WHERE id IN ($1, $2, $3)",
        &[&reset, &verify, &sold],
    )
    .await
    .unwrap();
    // The buyer turned shipping emails off after the row was written.
    db.execute(
        "UPDATE email_settings SET shipped = false WHERE account_id = $1",
        &[&buyer.id],
    )
    .await
    .unwrap();

    let mailer = start_mailer(environment(&db_url, &maildev.smtp_url())).await;
    let rows = wait_for_outbox(&db, PATIENCE, "every row dealt with", |rows| {
        rows.iter().all(|row| row.sent || row.gave_up)
    })
    .await;
    let row = |id: i64| rows.iter().find(|row| row.id == id).unwrap();
    assert!(row(verify).sent, "a 2-hour-old verification is still sent");
    for (id, cause) in [
        (reset, "not delivered within 3600 s"),
        (sold, "not delivered within 172800 s"),
        (shipped, "turned these emails off"),
    ] {
        let row = row(id);
        assert!(row.gave_up && !row.sent && !row.has_token, "{row:?}");
        assert_eq!(row.attempts, 0, "the relay was never asked: {row:?}");
        let error = row.last_error.as_deref().unwrap_or_default();
        assert!(error.contains(cause), "{id}: {error}");
        assert!(
            mailer
                .events()
                .iter()
                .any(|line| line["event"] == "gave_up" && line["outbox_id"] == id)
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let emails = maildev.emails().await.unwrap();
    assert_eq!(emails.len(), 1, "{emails:#?}");
    assert_eq!(text(&emails[0], "subject"), "Confirm your email address");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_the_relay_never_takes_is_given_up_at_its_age_with_the_last_cause() {
    let (db_url, db, _slot) = mail_database().await;
    let person = add_person(&db, "Unlucky").await;
    let token = link_token();
    queue(
        &db,
        &person,
        "reset",
        Queued {
            link_token: Some(&token),
            ..Queued::default()
        },
    )
    .await;
    let relay = format!("smtp://127.0.0.1:{}", closed_port());
    let environment = with(environment(&db_url, &relay), "MAILER_GIVE_UP_SECS", "3");
    let mailer = start_mailer(environment).await;

    let rows = wait_for_outbox(&db, PATIENCE, "the row given up", |rows| rows[0].gave_up).await;
    let row = &rows[0];
    assert!(!row.sent && !row.has_token, "{row:?}");
    // Tried at 0 s and 1 s; the next wait (2 s) ends at the give-up age (3 s), where it
    // is given up without a third try.
    assert_eq!(row.attempts, 2, "{row:?}\n{}", mailer.log());
    let error = row.last_error.as_deref().unwrap_or_default();
    assert!(
        error.starts_with("not delivered within 3 s") && error.contains("refused"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_the_relay_refuses_for_good_is_given_up_after_one_try() {
    let maildev = start_maildev().await;
    let (db_url, db, _slot) = mail_database().await;
    // 254 characters, as the schema allows and lettre accepts; MailDev's SMTP server
    // refuses a path over 253 (RFC 5321) with 501: a permanent refusal.
    let long = format!(
        "{}@{}.{}.{}.com",
        "l".repeat(64),
        "a".repeat(63),
        "b".repeat(63),
        "c".repeat(57)
    );
    assert_eq!(long.len(), 254);
    let refused = add_person_with_address(&db, "Far Away", &long).await;
    let fine = add_person(&db, "Near").await;
    let (token, other_token) = (link_token(), link_token());
    let refused_row = queue(
        &db,
        &refused,
        "verify",
        Queued {
            link_token: Some(&token),
            ..Queued::default()
        },
    )
    .await;
    queue(
        &db,
        &fine,
        "verify",
        Queued {
            link_token: Some(&other_token),
            ..Queued::default()
        },
    )
    .await;
    let mailer = start_mailer(environment(&db_url, &maildev.smtp_url())).await;

    let rows = wait_for_outbox(&db, PATIENCE, "both rows dealt with", |rows| {
        rows.iter().all(|row| row.sent || row.gave_up)
    })
    .await;
    let row = rows.iter().find(|row| row.id == refused_row).unwrap();
    assert!(
        row.gave_up && !row.has_token && row.attempts == 1,
        "{row:?}\n{}",
        mailer.log()
    );
    let error = row.last_error.as_deref().unwrap_or_default();
    assert!(
        error.starts_with("refused: ") && error.contains("501"),
        "{error}"
    );
    assert!(
        !error.contains(&long),
        "the address stays out of the error: {error}"
    );
    let emails = maildev.wait_for_emails(1, PATIENCE).await.unwrap();
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0]["to"][0]["address"], fine.email.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_signing_in_with_a_password_file_outlives_postgres_restarting() {
    let maildev = start_maildev().await;
    let cluster = tokio::task::spawn_blocking(|| PgCluster::start().expect("starting PostgreSQL"))
        .await
        .unwrap();
    let db_url = create_database(&cluster.url("postgres")).await;
    let db = connect(&db_url).await;
    // As in compose: the role signs in with the password of a secret file.
    cluster.require_passwords().unwrap();
    db.batch_execute("ALTER ROLE market_mailer PASSWORD 'mailer secret'")
        .await
        .unwrap();
    let secret = std::env::temp_dir().join(format!("mailer-password-{}", std::process::id()));
    std::fs::write(&secret, "mailer secret\n").unwrap();
    let environment = with(
        environment(&db_url, &maildev.smtp_url()),
        "DATABASE_PASSWORD_FILE",
        secret.to_str().unwrap(),
    );
    let person = add_person(&db, "Reader").await;
    queue_resets(&db, &person, 1).await;
    let mailer = start_mailer(environment).await;
    wait_for_outbox(&db, PATIENCE, "the first row sent", |rows| rows[0].sent).await;

    drop(db);
    tokio::task::block_in_place(|| cluster.stop()).unwrap();
    let started = Instant::now();
    while !mailer
        .events()
        .iter()
        .any(|line| line["event"] == "database_unavailable")
    {
        assert!(started.elapsed() < PATIENCE, "{}", mailer.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::task::block_in_place(|| cluster.start_server()).unwrap();
    let db = connect(&db_url).await;
    queue_resets(&db, &person, 1).await;
    wait_for_outbox(
        &db,
        PATIENCE,
        "the row written after the restart sent",
        |rows| rows.iter().all(|row| row.sent),
    )
    .await;
    maildev.wait_for_emails(2, PATIENCE).await.unwrap();
    assert!(!mailer.log().contains("mailer secret"), "{}", mailer.log());
    let _ = std::fs::remove_file(secret);
}

/// Runs the openssl command line tool.
fn openssl(args: &[&str]) {
    let output = std::process::Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is installed");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A certificate authority of the test's own, and a certificate it signed for
/// `localhost`: the CA's certificate, the server's certificate and key.
fn relay_certificates(dir: &std::path::Path) -> [String; 3] {
    let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let (ca, ca_key) = (path("ca.crt"), path("ca.key"));
    let (cert, key, request) = (path("relay.crt"), path("relay.key"), path("relay.csr"));
    let extensions = path("relay.ext");
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &["-days", "2", "-subj", "/CN=Test relay CA"],
            &["-keyout", &ca_key, "-out", &ca],
        ]
        .concat(),
    );
    openssl(
        &[
            &["req", "-new"][..],
            &ec,
            &["-subj", "/CN=localhost"],
            &["-keyout", &key, "-out", &request],
        ]
        .concat(),
    );
    std::fs::write(
        &extensions,
        "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        &request,
        "-days",
        "2",
        "-CA",
        &ca,
        "-CAkey",
        &ca_key,
        "-CAcreateserial",
        "-extfile",
        &extensions,
        "-out",
        &cert,
    ]);
    [ca, cert, key]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_over_tls_with_a_sign_in_is_trusted_by_its_ca_and_takes_the_email() {
    let dir = std::env::temp_dir().join(format!("mailer-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let [ca, cert, key] = relay_certificates(&dir);
    let options = [
        "--incoming-secure",
        "--incoming-cert",
        &cert,
        "--incoming-key",
        &key,
        "--incoming-user",
        "shop",
        "--incoming-pass",
        "relay secret",
    ]
    .map(str::to_owned)
    .to_vec();
    let mut maildev = tokio::task::spawn_blocking(|| MailDev::start_with(options).unwrap())
        .await
        .unwrap();
    let password = dir.join("smtp-password");
    std::fs::write(&password, "relay secret\n").unwrap();
    let (db_url, db, _slot) = mail_database().await;
    let person = add_person(&db, "Reader").await;
    let id = queue_resets(&db, &person, 1).await[0];
    let relay = format!("smtps://shop@localhost:{}", maildev.smtp.port());
    let environment = with(
        environment(&db_url, &relay),
        "SMTP_PASSWORD_FILE",
        password.to_str().unwrap(),
    );

    // Without the relay's CA, its certificate is not trusted: a temporary failure (the
    // operator may fix it), the email kept for the next try.
    let mut untrusting = start_mailer(environment.clone()).await;
    let rows = wait_for_outbox(&db, PATIENCE, "a failed try", |rows| rows[0].attempts >= 1).await;
    untrusting.kill();
    let error = rows[0].last_error.clone().unwrap_or_default();
    assert!(
        error.contains("TLS with localhost") && error.contains("certificate"),
        "{error}"
    );

    // MailDev 2.2.1 dies of a client that gives up its TLS handshake, maybe a moment
    // after the kill: started again whatever it is doing now, on the same ports.
    tokio::task::block_in_place(|| maildev.start_server()).unwrap();
    db.execute(
        "UPDATE outbox SET next_attempt_at = now() WHERE id = $1",
        &[&id],
    )
    .await
    .unwrap();
    let trusting = start_mailer(with(environment, "SMTP_CA_FILE", &ca)).await;
    wait_for_outbox(&db, PATIENCE, "the row sent", |rows| rows[0].sent).await;
    let emails = maildev.wait_for_emails(1, PATIENCE).await.unwrap();
    assert_eq!(text(&emails[0], "subject"), "Reset your password");
    assert!(!trusting.log().contains("relay secret"));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_healthcheck_says_whether_the_database_answers_and_bad_configuration_is_named() {
    let (db_url, _db, _slot) = mail_database().await;
    let healthy = environment(&db_url, "smtp://127.0.0.1:1");
    let (status, printed) = run_to_end(&healthy, &["healthcheck"]).unwrap();
    assert!(status.success(), "{printed}");
    let gone = with(
        healthy.clone(),
        "DATABASE_URL",
        &format!(
            "postgres://market_mailer@127.0.0.1:{}/x?sslmode=disable",
            closed_port()
        ),
    );
    let (status, printed) = run_to_end(&gone, &["healthcheck"]).unwrap();
    assert!(!status.success(), "{printed}");
    assert!(printed.starts_with("mailer healthcheck: "), "{printed}");

    for (name, value) in [
        ("MAIL_FROM", ""),
        ("PUBLIC_URL", "shop.test"),
        ("SMTP_URL", "http://relay"),
        ("MAILER_POLL_MS", "often"),
    ] {
        let (status, printed) = run_to_end(&with(healthy.clone(), name, value), &[]).unwrap();
        assert_eq!(status.code(), Some(1), "{name}={value:?}: {printed}");
        assert!(
            printed.starts_with(&format!("mailer: {name}")),
            "{name}: {printed}"
        );
    }
}
/// Each email as MailDev shows it (headers, plain text, HTML), one file per subject,
/// in `target/test-artifacts/email/`: what the closing notes and reviews quote.
fn keep_samples(emails: &[Value]) {
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
