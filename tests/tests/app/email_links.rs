//! Email links under the real Spin, read where the app leaves them (the outbox, for the
//! sender): sign-up mails a verification link and, until it is opened, a person can
//! browse, buy and sign in but not list or write; "Forgot your password?" answers the
//! same whether or not an account has the address, and its single-use link sets a new
//! password and ends every session; the limits on asking for links.

use hyper::{Method, StatusCode};
use market_tests::mailer::mailed_link;
use market_tests::testing::{TestApp, TestPerson, TestResponse, sign_up_at, spawn_app};
use market_tests::trade::api;
use serde_json::json;

use crate::assert_no_internals;

/// The link token of the newest `kind` (verify, reset) email to `email` still in the
/// outbox, and how many such emails there are.
async fn newest_link(app: &TestApp, email: &str, kind: &str) -> (Option<String>, i64) {
    let count = app
        .db
        .query_one(
            "SELECT count(*) FROM outbox JOIN accounts ON accounts.id = outbox.account_id
             WHERE lower(accounts.email) = lower($1) AND kind = $2",
            &[&email, &kind],
        )
        .await
        .unwrap()
        .get(0);
    (mailed_link(&app.db, email, kind).await, count)
}

/// The SHA-256 of a link token, as `email_links` keys it.
fn sha256_hex(token: &str) -> String {
    market::domain::account::Secret::parse_session_id(token)
        .expect("a well-formed link token")
        .digest()
}

async fn list(app: &TestApp, person: &TestPerson) -> TestResponse {
    api(
        app,
        Some(person),
        Method::POST,
        "/api/items",
        Some(json!({"name": "Lamp", "quantity": 3, "price": "10.00", "description": "Brass"})),
    )
    .await
}

/// Signs in with the sign-in form, from a browser of its own.
async fn sign_in(app: &TestApp, email: &str, password: &str) -> TestResponse {
    app.post_form(
        None,
        "/account/sign-in",
        &[
            ("email", email),
            ("password", password),
            ("next", "/account"),
        ],
    )
    .await
}

/// Posts "Forgot your password?" for `email` from `client` (its address as nginx saw
/// it), from one browser (the same pre-session for every post of this process).
async fn forgot(app: &TestApp, email: &str, client: &str) -> TestResponse {
    static PRESESSION: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    let (presession, token) = PRESESSION.get_or_init(market_tests::forms::presession);
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf_token", token)
        .append_pair("email", email)
        .finish();
    app.send(
        Method::POST,
        "/account/email/forgot",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("cookie", presession.as_str()),
            ("x-real-ip", client),
        ],
        body,
    )
    .await
}

#[tokio::test]
async fn sign_up_mails_a_link_and_until_it_is_opened_a_person_buys_but_neither_lists_nor_writes() {
    let app = spawn_app().await;
    let ada = sign_up_at(app.addr(), "Ada").await.unwrap();

    // The sign-up wrote the email with the account: one verify row, its token stored in
    // email_links only as its SHA-256, valid 24 hours.
    let (token, count) = newest_link(&app, &ada.email, "verify").await;
    let token = token.expect("a verification email in the outbox");
    assert_eq!(count, 1);
    let link = app
        .db
        .query_one(
            "SELECT purpose, round(extract(epoch FROM expires_at - created_at) / 3600)::int
             FROM email_links WHERE token_hash = $1",
            &[&sha256_hex(&token)],
        )
        .await
        .unwrap();
    assert_eq!(link.get::<_, String>(0), "verify");
    assert_eq!(link.get::<_, i32>(1), 24);
    let raw_stored: i64 = app
        .db
        .query_one(
            "SELECT count(*) FROM email_links WHERE token_hash = $1",
            &[&token],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(raw_stored, 0, "the raw token is not a key");

    // Unverified: browsing, buying and the account page work; listing and writing don't.
    let account = app.get_with_cookie("/account", &ada.session_cookie()).await;
    assert!(
        account.text().contains("not verified yet"),
        "{}",
        account.text()
    );
    let refused = list(&app, &ada).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
    assert!(
        refused.json()["error"]
            .as_str()
            .unwrap()
            .contains("Confirm your email address")
    );
    let form_refused = market_tests::forms::FilledForm::from_home(
        app.addr(),
        &ada.session_cookie(),
        "/items",
        &[
            ("name", "Lamp"),
            ("quantity", "1"),
            ("price", "1.00"),
            ("description", "Brass"),
        ],
    )
    .await
    .unwrap()
    .submit(app.addr())
    .await
    .unwrap();
    assert_eq!(form_refused.status, StatusCode::FORBIDDEN);
    assert!(
        form_refused.text().contains("/account/email"),
        "offers a new link"
    );
    let item = market_tests::shop::list_item(&app, "Bike", 5).await;
    let asked = api(
        &app,
        Some(&ada),
        Method::POST,
        &format!("/api/items/{item}/conversations"),
        Some(json!({"text": "Does it fit 1.80 m?"})),
    )
    .await;
    assert_eq!(asked.status, StatusCode::FORBIDDEN, "{}", asked.text());
    let bought = api(
        &app,
        Some(&ada),
        Method::POST,
        &format!("/api/items/{item}/buy"),
        Some(json!({"quantity": 1})),
    )
    .await;
    assert_eq!(bought.status, StatusCode::OK, "{}", bought.text());
    assert_eq!(app.item_count().await, 1, "nothing listed by Ada");

    // The link verifies once; after it, Ada lists and writes.
    let opened = app
        .get(&format!("/account/email/verify?token={token}"))
        .await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.text());
    assert!(opened.text().contains("Your address is verified"));
    assert_eq!(opened.header("referrer-policy"), Some("same-origin"));
    let again = app
        .get(&format!("/account/email/verify?token={token}"))
        .await;
    assert_eq!(again.status, StatusCode::GONE);
    assert!(again.text().contains("already used"));
    assert_eq!(list(&app, &ada).await.status, StatusCode::CREATED);
    let account = app.get_with_cookie("/account", &ada.session_cookie()).await;
    assert!(
        account.text().contains("<strong>verified</strong>"),
        "{}",
        account.text()
    );
    let email_page = app
        .get_with_cookie("/account/email", &ada.session_cookie())
        .await;
    assert!(
        email_page.text().contains("Verified on "),
        "{}",
        email_page.text()
    );
}

#[tokio::test]
async fn a_verification_link_that_is_mistyped_or_expired_says_so_and_a_new_one_is_rate_limited() {
    let app = spawn_app().await;
    let bea = sign_up_at(app.addr(), "Bea").await.unwrap();
    let (first, _) = newest_link(&app, &bea.email, "verify").await;
    let first = first.unwrap();

    for token in ["", "zz", &"0".repeat(64), "' OR 1=1 --"] {
        let page = app
            .get(&format!("/account/email/verify?token={}", urlencode(token)))
            .await;
        assert_eq!(page.status, StatusCode::GONE, "{token:?}");
        assert!(page.text().contains("not valid"), "{token:?}");
        assert_no_internals(&page.text());
    }
    app.db
        .execute(
            "UPDATE email_links SET expires_at = now() - interval '1 second' WHERE token_hash = $1",
            &[&sha256_hex(&first)],
        )
        .await
        .unwrap();
    let expired = app
        .get(&format!("/account/email/verify?token={first}"))
        .await;
    assert_eq!(expired.status, StatusCode::GONE);
    assert!(expired.text().contains("expired"));

    // Three new links an hour; the fourth is refused. Each is a new outbox row.
    for n in 2..=4 {
        let resent = app
            .post_form(Some(&bea.session_cookie()), "/account/email/resend", &[])
            .await;
        assert_eq!(
            resent.status,
            StatusCode::SEE_OTHER,
            "{n}: {}",
            resent.text()
        );
        assert_eq!(resent.header("location"), Some("/account/email?done=sent"));
        assert_eq!(newest_link(&app, &bea.email, "verify").await.1, n);
    }
    let refused = app
        .post_form(Some(&bea.session_cookie()), "/account/email/resend", &[])
        .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(newest_link(&app, &bea.email, "verify").await.1, 4);

    // The newest verifies; the older ones still open (each is valid on its own) but the
    // address is verified once.
    let (newest, _) = newest_link(&app, &bea.email, "verify").await;
    let opened = app
        .get(&format!("/account/email/verify?token={}", newest.unwrap()))
        .await;
    assert_eq!(opened.status, StatusCode::OK);
    let verified = app
        .post_form(Some(&bea.session_cookie()), "/account/email/resend", &[])
        .await;
    assert_eq!(
        verified.header("location"),
        Some("/account/email?done=verified")
    );

    // Signed out: the email page and its forms send the browser to sign in.
    let page = app.get("/account/email").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let resend = app.post_form(None, "/account/email/resend", &[]).await;
    assert_eq!(resend.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn forgot_password_answers_the_same_for_any_address_and_mails_only_an_account() {
    let app = spawn_app().await;
    let cy = app.add_person("Cy").await;

    let mut bodies = Vec::new();
    let mut statements = Vec::new();
    for (email, client) in [
        (cy.email.as_str(), "192.0.2.1"),
        ("nobody@example.com", "192.0.2.2"),
        (&cy.email.to_uppercase(), "192.0.2.3"),
        ("NOBODY@example.com", "192.0.2.4"),
    ] {
        let before = app.pg_work().await;
        let answer = forgot(&app, email, client).await;
        statements.push(app.pg_work().await.statements - before.statements);
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
        assert!(answer.text().contains("If an account has this address"));
        bodies.push(answer.text().replace(email, "EMAIL"));
    }
    assert!(
        bodies.windows(2).all(|pair| pair[0] == pair[1]),
        "one answer for all"
    );
    assert!(
        statements.windows(2).all(|pair| pair[0] == pair[1]),
        "the same statements whether or not an account has the address: {statements:?}"
    );
    // Only Cy's account got emails: two reset links, valid 1 hour.
    assert_eq!(newest_link(&app, &cy.email, "reset").await.1, 2);
    let outbox: i64 = app
        .db
        .query_one("SELECT count(*) FROM outbox WHERE kind = 'reset'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(outbox, 2);
    let minutes: i32 = app
        .db
        .query_one(
            "SELECT max(round(extract(epoch FROM expires_at - created_at) / 60))::int
             FROM email_links WHERE purpose = 'reset'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(minutes, 60);

    let malformed = forgot(&app, "not an address", "192.0.2.5").await;
    assert_eq!(malformed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(malformed.text().contains("email-error"));
}

#[tokio::test]
async fn reset_requests_are_limited_per_address_and_per_client() {
    let app = spawn_app().await;
    let dee = app.add_person("Dee").await;
    // Per address: 3 an hour, from any client, whether or not it has an account.
    for address in [dee.email.as_str(), "ghost@example.com"] {
        for n in 0..3 {
            let client = format!("198.51.100.{n}");
            assert_eq!(forgot(&app, address, &client).await.status, StatusCode::OK);
        }
        let refused = forgot(&app, address, "198.51.100.99").await;
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{address}");
        assert_eq!(refused.header("retry-after"), Some("3600"));
        assert!(refused.text().contains("Try again in an hour"));
    }
    assert_eq!(newest_link(&app, &dee.email, "reset").await.1, 3);
    // Per client: 10 an hour, whatever the addresses.
    for n in 0..10 {
        let answer = forgot(&app, &format!("person{n}@example.com"), "203.0.113.7").await;
        assert_eq!(answer.status, StatusCode::OK, "{n}");
    }
    let refused = forgot(&app, "person10@example.com", "203.0.113.7").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        forgot(&app, "person10@example.com", "203.0.113.8")
            .await
            .status,
        StatusCode::OK,
        "another client is not held back"
    );
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once_and_ends_every_session_and_every_other_link() {
    let app = spawn_app().await;
    let eve = sign_up_at(app.addr(), "Eve").await.unwrap();
    let other_browser = sign_in(&app, &eve.email, &eve.password)
        .await
        .cookie("session")
        .expect("signed in on a second browser");
    assert_eq!(
        forgot(&app, &eve.email, "192.0.2.10").await.status,
        StatusCode::OK
    );
    let (older, _) = newest_link(&app, &eve.email, "reset").await;
    assert_eq!(
        forgot(&app, &eve.email, "192.0.2.10").await.status,
        StatusCode::OK
    );
    let (link, _) = newest_link(&app, &eve.email, "reset").await;
    let (older, link) = (older.unwrap(), link.unwrap());

    let page = app.get(&format!("/account/email/reset?token={link}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("Set a new password"));
    assert_eq!(page.header("referrer-policy"), Some("same-origin"));
    assert_eq!(page.header("cache-control"), Some("no-store"));

    // Sign-up's rules for the new password.
    let short = app
        .post_form(
            None,
            "/account/email/reset",
            &[("token", &link), ("password", "too short")],
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.text().contains("password-error"));

    let new_password = "a much better passphrase";
    let reset = app
        .post_form(
            None,
            "/account/email/reset",
            &[("token", &link), ("password", new_password)],
        )
        .await;
    assert_eq!(reset.status, StatusCode::SEE_OTHER, "{}", reset.text());
    assert_eq!(reset.header("location"), Some("/account/sign-in"));

    // Every session ended; the old password no longer works, the new one does.
    for session in [eve.session_cookie(), other_browser] {
        let account = app.get_with_cookie("/account", &session).await;
        assert_eq!(account.status, StatusCode::SEE_OTHER, "signed out");
    }
    let old = sign_in(&app, &eve.email, &eve.password).await;
    assert_eq!(old.status, StatusCode::UNPROCESSABLE_ENTITY);
    let new = sign_in(&app, &eve.email, new_password).await;
    assert_eq!(new.status, StatusCode::SEE_OTHER, "{}", new.text());

    // The link worked once; the other link of the account is used up with it.
    for token in [&link, &older] {
        let page = app
            .get(&format!("/account/email/reset?token={token}"))
            .await;
        assert_eq!(page.status, StatusCode::GONE);
        assert!(page.text().contains("already used"));
        assert!(
            page.text().contains("/account/email/forgot"),
            "offers a new one"
        );
        let again = app
            .post_form(
                None,
                "/account/email/reset",
                &[("token", token), ("password", "yet another passphrase")],
            )
            .await;
        assert_eq!(again.status, StatusCode::GONE);
    }
    // A reset link reached the address: it counts as verified.
    assert_eq!(list(&app, &eve).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn an_expired_reset_link_says_so_and_changes_nothing() {
    let app = spawn_app().await;
    let fay = app.add_person("Fay").await;
    forgot(&app, &fay.email, "192.0.2.20").await;
    let (link, _) = newest_link(&app, &fay.email, "reset").await;
    let link = link.unwrap();
    app.db
        .execute(
            "UPDATE email_links SET expires_at = now() - interval '1 second' WHERE token_hash = $1",
            &[&sha256_hex(&link)],
        )
        .await
        .unwrap();
    let page = app.get(&format!("/account/email/reset?token={link}")).await;
    assert_eq!(page.status, StatusCode::GONE);
    assert!(page.text().contains("expired"));
    let post = app
        .post_form(
            None,
            "/account/email/reset",
            &[("token", &link), ("password", "a much better passphrase")],
        )
        .await;
    assert_eq!(post.status, StatusCode::GONE);
    let account = app.get_with_cookie("/account", &fay.session_cookie()).await;
    assert_eq!(account.status, StatusCode::OK, "still signed in");
    // The sign-in page offers the way back in.
    let sign_in = app.get("/account/sign-in").await;
    assert!(sign_in.text().contains(r#"href="/account/email/forgot""#));
    // A reset form posted without its browser's token is refused.
    let forged = app
        .send(
            Method::POST,
            "/account/email/reset",
            &[("content-type", "application/x-www-form-urlencoded")],
            format!("token={link}&password=a+much+better+passphrase"),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn racing_clicks_on_one_reset_link_set_one_password() {
    let app = spawn_app().await;
    let gus = app.add_person("Gus").await;
    forgot(&app, &gus.email, "192.0.2.30").await;
    let (link, _) = newest_link(&app, &gus.email, "reset").await;
    let link = link.unwrap();
    let attempts = (0..8).map(|n| {
        let password = format!("racing passphrase number {n}");
        let link = link.clone();
        let app = &app;
        async move {
            app.post_form(
                None,
                "/account/email/reset",
                &[("token", &link), ("password", &password)],
            )
            .await
            .status
        }
    });
    let statuses = futures::future::join_all(attempts).await;
    let set = statuses
        .iter()
        .filter(|status| **status == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(set, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|status| [StatusCode::SEE_OTHER, StatusCode::GONE].contains(status)),
        "{statuses:?}"
    );
}
