//! The email sender when delivery fails: a relay that is down is retried with backoff
//! and the email arrives once it is back; what is too old, refused, or unwanted is given
//! up, its token erased; a relay over TLS with a sign-in; Postgres restarting; the
//! healthcheck and named configuration errors.

use std::time::{Duration, Instant};

use market_tests::cluster::PgCluster;
use market_tests::maildev::MailDev;
use market_tests::mailer::{
    Queued, add_item, add_order, add_person, add_person_with_address, environment, link_token,
    mail_database, outbox, queue, run_to_end, with,
};
use market_tests::testing::{connect, create_database};

use crate::email_support::*;

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
