//! The email sender (mailer/) as it runs: the real `mailer` binary, as the role
//! `market_mailer`, delivering outbox rows the tests write directly as the app's
//! transactions would, to a real MailDev read back through its REST API.
//!
//! Each email arrives once, with both alternatives, its links and headers; a sender
//! killed mid-batch loses none and sends at most the one in flight again; one asked to
//! stop finishes the email in hand; two senders never send one row twice. Failures and
//! giving up: `email_relay.rs`.

use std::collections::HashMap;
use std::time::Duration;

use market_tests::mailer::{
    Mailer, PUBLIC_URL, Person, Queued, SHOP_NAME, add_conversation, add_item, add_order,
    add_person, add_review, environment, link_token, mail_database, outbox, queue,
};
use serde_json::Value;

use crate::email_support::*;

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
