//! Accounts under the real Spin: signing up and in (the rules of each field, one message
//! for a wrong email or password, in about the same time), sessions (a new id at each
//! sign-in, sign-out here and everywhere, idle and absolute expiry, one statement to
//! read), the growing delay after failed sign-ins, and passwords never in a log.

use std::time::{Duration, Instant};

use futures::future::join_all;
use hyper::StatusCode;
use market_tests::testing::{TEST_PASSWORD, TestApp, TestResponse, shopper, spawn_app};

use crate::assert_no_internals;

async fn sign_up(app: &TestApp, email: &str, name: &str, password: &str) -> TestResponse {
    app.post_form(
        None,
        "/account/sign-up",
        &[
            ("email", email),
            ("display_name", name),
            ("password", password),
        ],
    )
    .await
}

async fn sign_in(app: &TestApp, cookie: Option<&str>, email: &str, password: &str) -> TestResponse {
    app.post_form(
        cookie,
        "/account/sign-in",
        &[
            ("email", email),
            ("password", password),
            ("next", "/account"),
        ],
    )
    .await
}

/// The session id a response hands the browser.
fn new_session(response: &TestResponse) -> String {
    response
        .cookie("session")
        .unwrap_or_else(|| panic!("no session cookie: {} {}", response.status, response.text()))
}

/// Whether the browser with this session cookie is signed in (the account page answers
/// instead of sending it to sign in).
async fn is_signed_in(app: &TestApp, session: &str) -> bool {
    let page = app.get_with_cookie("/account", session).await;
    match page.status {
        StatusCode::OK => true,
        StatusCode::SEE_OTHER => false,
        other => panic!("/account answered {other}"),
    }
}

#[tokio::test]
async fn signing_up_signs_in_and_a_form_with_mistakes_comes_back_without_the_password() {
    let app = spawn_app().await;
    // (email, display name, password, the field that is wrong, why)
    let long = "x".repeat(1_001);
    let cases = [
        ("ada", "Ada", TEST_PASSWORD, "email", "no @"),
        (
            "ada@example.com",
            "  ",
            TEST_PASSWORD,
            "display_name",
            "a blank name",
        ),
        (
            "ada@example.com",
            "Ada",
            "eleven char",
            "password",
            "11 characters",
        ),
        (
            "ada@example.com",
            "Ada",
            long.as_str(),
            "password",
            "1,001 characters",
        ),
    ];
    for (email, name, password, field, why) in cases {
        let response = sign_up(&app, email, name, password).await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{why}");
        let html = response.text();
        assert!(
            html.contains(&format!(r#"id="{field}-error""#)),
            "{why}: {html}"
        );
        assert!(
            html.contains(&format!(r#"value="{email}""#)),
            "{why}: email kept"
        );
        assert!(
            !html.contains(password),
            "{why}: the password is never echoed"
        );
        assert!(response.cookie("session").is_none(), "{why}");
    }
    assert_eq!(
        count(&app, "accounts").await,
        2,
        "only the shopper and the merchant"
    );

    let response = sign_up(&app, " Ada@Example.com ", "Ada Lovelace", TEST_PASSWORD).await;
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{}",
        response.text()
    );
    let set_cookie = response
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|cookie| cookie.starts_with("session="))
        .unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=2592000"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    let home = app
        .get_with_cookie("/", &new_session(&response))
        .await
        .text();
    assert!(home.contains("Signed in as <strong>Ada Lovelace</strong>"));
    let stored: String = app
        .db
        .query_one(
            "SELECT password_hash FROM accounts WHERE email = 'ada@example.com'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        stored.starts_with("$argon2id$v=19$m=9216,t=4,p=1$"),
        "{stored}"
    );
    assert!(
        !app.log().contains(TEST_PASSWORD),
        "no password in any log line"
    );
}

#[tokio::test]
async fn an_email_has_one_account_whatever_its_case_even_when_sign_ups_race() {
    let app = spawn_app().await;
    let first = sign_up(&app, "grace@example.com", "Grace", TEST_PASSWORD).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);

    let again = sign_up(&app, "GRACE@Example.COM", "Grace H", TEST_PASSWORD).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        again
            .text()
            .contains("An account with this email already exists")
    );

    let racing = join_all((0..8).map(|n| {
        let email = if n % 2 == 0 {
            "Linus@example.com"
        } else {
            "linus@EXAMPLE.com"
        };
        sign_up(&app, email, "Linus", TEST_PASSWORD)
    }))
    .await;
    let created = racing
        .iter()
        .filter(|r| r.status == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(
        created, 1,
        "the unique index decides, not a check before the insert"
    );
    assert!(racing.iter().all(|r| r.status.as_u16() < 500));
    assert_eq!(
        count(&app, "accounts").await,
        4,
        "the shopper, the merchant, Grace and Linus"
    );
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_one_answer_in_about_the_same_time() {
    let app = spawn_app().await;
    let person = app.add_person("Known").await;

    let mut timings = [Vec::new(), Vec::new()];
    let mut bodies = Vec::new();
    for round in 0..4 {
        for (n, email) in [person.email.as_str(), "nobody@example.com"]
            .into_iter()
            .enumerate()
        {
            let started = Instant::now();
            let response = sign_in(&app, None, email, &format!("wrong password {round}")).await;
            timings[n].push(started.elapsed());
            assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(response.cookie("session").is_none());
            bodies.push(response.text().replace(email, "EMAIL"));
        }
    }
    assert!(
        bodies.windows(2).all(|pair| pair[0] == pair[1]),
        "one answer for both"
    );
    assert!(bodies[0].contains("The email or the password is not right."));
    let median = |times: &mut Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    let (known, unknown) = (median(&mut timings[0]), median(&mut timings[1]));
    println!("sign-in refused: known email {known:?}, unknown email {unknown:?} (medians)");
    // Without the stand-in hash an unknown email answers in a few milliseconds, against
    // the tens to hundreds a hash takes: the bound tells those apart, not noise.
    assert!(
        unknown * 2 > known && known * 2 > unknown,
        "known {known:?} vs unknown {unknown:?}"
    );
}

#[tokio::test]
async fn each_sign_in_gets_a_new_session_id_and_ends_the_one_the_browser_had() {
    let app = spawn_app().await;
    let victim = app.add_person("Victim").await;
    // An id an attacker planted (never issued), and a live session of someone else.
    let planted = format!("session={}", "ab".repeat(32));
    let other = app.add_person("Other").await;
    for before in [planted.clone(), other.session_cookie()] {
        let response = sign_in(&app, Some(&before), &victim.email, TEST_PASSWORD).await;
        assert_eq!(
            response.status,
            StatusCode::SEE_OTHER,
            "{}",
            response.text()
        );
        assert_eq!(
            response.header("location"),
            Some("/account"),
            "next is kept"
        );
        let after = new_session(&response);
        assert_ne!(
            after, before,
            "a new id, never the one the browser came with"
        );
        assert!(is_signed_in(&app, &after).await);
        assert!(
            !is_signed_in(&app, &before).await,
            "the old id signs nobody in"
        );
    }
    let stored: i64 = app
        .db
        .query_one(
            "SELECT count(*) FROM sessions WHERE token_hash = $1",
            &[&victim.session],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        stored, 0,
        "the table holds digests, never the ids themselves"
    );
}

#[tokio::test]
async fn signing_out_ends_the_session_and_everywhere_ends_them_all() {
    let app = spawn_app().await;
    let person = app.add_person("Two devices").await;
    let laptop = person.session_cookie();
    let phone = new_session(&sign_in(&app, None, &person.email, TEST_PASSWORD).await);
    let tablet = new_session(&sign_in(&app, None, &person.email, TEST_PASSWORD).await);

    let out = app.post_form(Some(&tablet), "/account/sign-out", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(
        out.cookie("session").as_deref(),
        Some("session="),
        "forgotten"
    );
    assert!(!is_signed_in(&app, &tablet).await);
    assert!(is_signed_in(&app, &laptop).await && is_signed_in(&app, &phone).await);

    let everywhere = app
        .post_form(Some(&phone), "/account/sign-out-everywhere", &[])
        .await;
    assert_eq!(everywhere.status, StatusCode::SEE_OTHER);
    assert!(!is_signed_in(&app, &phone).await);
    assert!(!is_signed_in(&app, &laptop).await, "every device");
    assert!(
        is_signed_in(&app, &shopper().session_cookie()).await,
        "nobody else's"
    );
}

#[tokio::test]
async fn a_session_ends_when_idle_too_long_or_too_old() {
    let app = spawn_app().await;
    let idle = app.add_person("Idle").await;
    let old = app.add_person("Old").await;
    let live = app.add_person("Live").await;
    let age = |person: &market_tests::testing::TestPerson, column: &str, interval: &str| {
        format!(
            "UPDATE sessions SET {column} = now() - interval '{interval}'
             WHERE account_id = (SELECT id FROM accounts WHERE email = '{}')",
            person.email
        )
    };
    app.db
        .batch_execute(&age(&idle, "last_seen_at", "7 days 1 minute"))
        .await
        .unwrap();
    app.db
        .batch_execute(&age(&old, "created_at", "30 days 1 minute"))
        .await
        .unwrap();
    app.db
        .batch_execute(&age(&live, "last_seen_at", "6 days 23 hours"))
        .await
        .unwrap();
    app.db
        .batch_execute(&age(&live, "created_at", "29 days"))
        .await
        .unwrap();

    assert!(
        !is_signed_in(&app, &idle.session_cookie()).await,
        "idle 7 days"
    );
    assert!(
        !is_signed_in(&app, &old.session_cookie()).await,
        "30 days after sign-in"
    );
    assert!(is_signed_in(&app, &live.session_cookie()).await);
    let seen: bool = app
        .db
        .query_one(
            "SELECT last_seen_at > now() - interval '1 minute' FROM sessions
             WHERE account_id = (SELECT id FROM accounts WHERE email = $1)",
            &[&live.email],
        )
        .await
        .unwrap()
        .get(0);
    assert!(seen, "using a session keeps it alive");
}

#[tokio::test]
async fn a_signed_in_visitor_reads_the_cached_first_page_with_at_most_one_statement() {
    let app = spawn_app().await;
    market_tests::shop::list_item(&app, "Cached for everyone", 2).await;
    app.get("/").await;
    let session = shopper().session_cookie();

    // The first page from the cache; the session from Postgres once, then from the
    // sessions cache; the header's count of unseen notices from Postgres each time.
    let mut statements = Vec::new();
    let mut lines = Vec::new();
    for _ in 0..3 {
        let before = app.pg_work().await;
        let page = app.get_with_cookie("/", &session).await;
        statements.push(app.pg_work().await.statements - before.statements);
        assert!(
            page.text()
                .contains("Signed in as <strong>Shopper</strong>")
        );
        assert!(page.text().contains("Cached for everyone"));
        lines.push(page.header("x-request-id").unwrap().to_owned());
    }

    assert_eq!(
        statements,
        [2, 1, 1],
        "the session once, the notice count each time, nothing else"
    );
    let ids: Vec<&str> = lines.iter().map(String::as_str).collect();
    let log = app.log_lines_after(&ids).await;
    for id in lines {
        let line = log
            .iter()
            .find(|line| line["kind"] == "request" && line["request_id"] == id.as_str())
            .unwrap();
        assert_eq!(line["cache"], "hit", "{line}");
    }
    // Signing out reaches the sessions cache before it is acknowledged.
    app.post_form(Some(&session), "/account/sign-out", &[])
        .await;
    assert!(!is_signed_in(&app, &session).await);
}

#[tokio::test]
async fn failed_sign_ins_make_the_next_wait_longer_and_a_success_clears_them() {
    let app = spawn_app().await;
    let person = app.add_person("Guessed").await;
    for email in [person.email.as_str(), "nobody-at-all@example.com"] {
        for attempt in 1..=5 {
            let refused = sign_in(&app, None, email, "guess guess guess").await;
            assert_eq!(
                refused.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "attempt {attempt}"
            );
        }
        // The sixth failure starts the delay (1 s, then 2 s, 4 s …).
        sign_in(&app, None, email, "guess guess guess").await;
        let waiting = sign_in(&app, None, email, TEST_PASSWORD).await;
        assert_eq!(waiting.status, StatusCode::TOO_MANY_REQUESTS, "{email}");
        assert!(waiting.header("retry-after").is_some());
        assert!(
            waiting
                .text()
                .contains("Too many failed sign-ins with this email")
        );
        assert!(
            waiting.cookie("session").is_none(),
            "even the right password waits"
        );
        assert_no_internals(&waiting.text());
    }
    let failures: i32 = app
        .db
        .query_one(
            "SELECT failures FROM sign_in_failures WHERE email = $1",
            &[&person.email],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(failures, 6);

    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let signed_in = sign_in(&app, None, &person.email, TEST_PASSWORD).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "the delay is never a lockout"
    );
    let left: i64 = app
        .db
        .query_one(
            "SELECT count(*) FROM sign_in_failures WHERE email = $1",
            &[&person.email],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "a success clears the failures");
}

async fn count(app: &TestApp, table: &str) -> i64 {
    app.db
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .unwrap()
        .get(0)
}

/// Login CSRF: another site cannot sign a browser into the attacker's account. The
/// sign-in and sign-up forms carry a token bound to the pre-session cookie their pages
/// hand out (scoped to /account); a post without that cookie, or with another browser's
/// token, is refused and starts no session. The pages themselves hand one out only if
/// the browser has none.
#[tokio::test]
async fn sign_in_and_sign_up_posts_need_the_token_of_their_browsers_pre_session() {
    let app = spawn_app().await;
    let person = app.add_person("Victim of login CSRF").await;
    let page = app.get("/account/sign-in").await;
    let set = page.cookie("presession").expect("a pre-session");
    let full = page.header("set-cookie").unwrap().to_owned();
    assert!(
        full.contains("Path=/account") && full.contains("HttpOnly"),
        "{full}"
    );
    let again = app.get_with_cookie("/account/sign-in", &set).await;
    assert!(again.cookie("presession").is_none(), "kept, not replaced");

    let (mine, my_token) = market_tests::forms::presession();
    let (_, other_token) = market_tests::forms::presession();
    let form = |token: &str| {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("csrf_token", token)
            .append_pair("email", &person.email)
            .append_pair("password", TEST_PASSWORD)
            .finish()
    };
    let content = ("content-type", "application/x-www-form-urlencoded");
    for path in ["/account/sign-in", "/account/sign-up"] {
        for (cookie, token, why) in [
            (None, my_token.as_str(), "no pre-session cookie"),
            (
                Some(mine.as_str()),
                other_token.as_str(),
                "another browser's token",
            ),
            (Some(mine.as_str()), "", "no token"),
        ] {
            let mut headers = vec![content];
            if let Some(cookie) = cookie {
                headers.push(("cookie", cookie));
            }
            let response = app
                .send(hyper::Method::POST, path, &headers, form(token))
                .await;
            assert_eq!(response.status, StatusCode::FORBIDDEN, "{path}: {why}");
            assert!(response.cookie("session").is_none(), "{path}: {why}");
        }
    }
    let signed_in = app
        .send(
            hyper::Method::POST,
            "/account/sign-in",
            &[content, ("cookie", &mine)],
            form(&my_token),
        )
        .await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.text()
    );
    assert!(signed_in.cookie("session").is_some());
    assert_eq!(
        signed_in.cookie("presession").as_deref(),
        Some("presession="),
        "it has served"
    );
}
