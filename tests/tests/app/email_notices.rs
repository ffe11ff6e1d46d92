//! Notices by email, as the app leaves them in the outbox: a sale, a shipment, a message
//! (at most one email per conversation and person per 15 minutes), a review; only to a
//! verified address, only the kinds a person keeps on; none for a write that rolled back;
//! and one-click unsubscribe (RFC 8058) without signing in.

use hyper::{Method, StatusCode};
use market_tests::testing::{TestApp, TestPerson, TestResponse};
use market_tests::trade::{Trade, api};
use serde_json::json;

/// The kinds of the emails in the outbox for `person`, oldest first.
async fn emails_to(app: &TestApp, person: &TestPerson) -> Vec<String> {
    app.db
        .query(
            "SELECT kind FROM outbox JOIN accounts ON accounts.id = outbox.account_id
             WHERE accounts.email = $1 ORDER BY outbox.id",
            &[&person.email],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

async fn unsubscribe_key(app: &TestApp, person: &TestPerson) -> String {
    app.db
        .query_one(
            "SELECT unsubscribe_key FROM email_settings JOIN accounts ON accounts.id = account_id
             WHERE accounts.email = $1",
            &[&person.email],
        )
        .await
        .unwrap()
        .get(0)
}

/// `buyer` buys `quantity` of the trade's item, through the API.
async fn buy(app: &TestApp, trade: &Trade, buyer: &TestPerson, quantity: i64) -> TestResponse {
    api(
        app,
        Some(buyer),
        Method::POST,
        &format!("/api/items/{}/buy", trade.item),
        Some(json!({ "quantity": quantity })),
    )
    .await
}

async fn write(app: &TestApp, person: &TestPerson, conversation: i64, text: &str) {
    let sent = api(
        app,
        Some(person),
        Method::POST,
        &format!("/api/conversations/{conversation}/messages"),
        Some(json!({ "text": text })),
    )
    .await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.text());
}

#[tokio::test]
async fn each_event_of_a_trade_writes_its_email_with_it() {
    let app = market_tests::testing::spawn_app().await;
    let trade = Trade::start(&app, 3, 2).await;
    assert_eq!(emails_to(&app, &trade.seller).await, ["sold"]);
    assert!(emails_to(&app, &trade.buyer).await.is_empty());

    trade.bring_to(&app, "received").await;
    assert_eq!(emails_to(&app, &trade.buyer).await, ["shipped"]);
    assert_eq!(
        trade.review(&app, &trade.buyer, 5, "Great").await.status,
        StatusCode::CREATED
    );
    assert_eq!(emails_to(&app, &trade.seller).await, ["sold", "review"]);

    // Three messages in a row: one email, however many messages.
    let asked = api(
        &app,
        Some(&trade.other),
        Method::POST,
        &format!("/api/items/{}/conversations", trade.item),
        Some(json!({"text": "Is the other one still for sale?"})),
    )
    .await;
    assert_eq!(asked.status, StatusCode::CREATED, "{}", asked.text());
    let conversation = asked.json()["id"].as_i64().unwrap();
    write(&app, &trade.other, conversation, "And does it fit 1.80 m?").await;
    write(&app, &trade.other, conversation, "Thanks!").await;
    assert_eq!(
        emails_to(&app, &trade.seller).await,
        ["sold", "review", "message"]
    );
    write(&app, &trade.seller, conversation, "Yes to both.").await;
    assert_eq!(emails_to(&app, &trade.other).await, ["message"]);
    // 15 minutes later, the next message is mailed again.
    app.db
        .execute(
            "UPDATE outbox SET created_at = created_at - interval '16 minutes' WHERE kind = 'message'",
            &[],
        )
        .await
        .unwrap();
    write(&app, &trade.other, conversation, "Great, buying it.").await;
    assert_eq!(
        emails_to(&app, &trade.seller).await,
        ["sold", "review", "message", "message"]
    );

    // A purchase refused (not enough stock) rolled back: no email.
    let refused = buy(&app, &trade, &trade.other, 5).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(
        emails_to(&app, &trade.seller).await,
        ["sold", "review", "message", "message"]
    );
}

#[tokio::test]
async fn only_the_kinds_a_person_keeps_on_reach_them_and_never_an_unverified_address() {
    let app = market_tests::testing::spawn_app().await;
    let trade = Trade::start(&app, 5, 1).await;
    // The seller keeps only "message" on, from their email page.
    let saved = app
        .post_form(
            Some(&trade.seller.session_cookie()),
            "/account/email/notices",
            &[("notice_message", "on")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let page = app
        .get_with_cookie("/account/email?done=saved", &trade.seller.session_cookie())
        .await;
    assert!(page.text().contains("Your email settings are saved"));
    assert!(
        page.text().contains(
            r#"id="notice-message" type="checkbox" name="notice_message" value="on" checked"#
        ),
        "{}",
        page.text()
    );
    assert!(
        !page
            .text()
            .contains(r#"name="notice_sold" value="on" checked"#)
    );

    let bought = buy(&app, &trade, &trade.buyer, 1).await;
    assert_eq!(bought.status, StatusCode::OK);
    assert_eq!(
        emails_to(&app, &trade.seller).await,
        ["sold"],
        "only the first sale"
    );

    // An address not verified gets no notices (it may be someone else's).
    app.db
        .execute(
            "UPDATE accounts SET email_verified_at = NULL WHERE email = $1",
            &[&trade.buyer.email],
        )
        .await
        .unwrap();
    trade.bring_to(&app, "shipped").await;
    assert!(emails_to(&app, &trade.buyer).await.is_empty());

    // Signed out, the settings form sends the browser to sign in and changes nothing.
    let signed_out = app.post_form(None, "/account/email/notices", &[]).await;
    assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
    // Another browser's token is refused.
    let forged = app
        .send(
            Method::POST,
            "/account/email/notices",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("cookie", &trade.seller.session_cookie()),
            ],
            format!("csrf_token={}", trade.buyer.csrf_token()),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn one_click_unsubscribe_works_without_signing_in_and_only_for_its_key_and_kind() {
    let app = market_tests::testing::spawn_app().await;
    let trade = Trade::start(&app, 5, 1).await;
    let key = unsubscribe_key(&app, &trade.seller).await;
    let link = format!("/account/email/unsubscribe?key={key}&kind=sold");

    // Opening the link changes nothing (mail scanners open links): a button.
    let page = app.get(&link).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("Stop emails when you sell something"));
    assert_eq!(page.header("referrer-policy"), Some("same-origin"));
    assert_eq!(trade.stock(&app).await, 4);
    let bought = buy(&app, &trade, &trade.buyer, 1).await;
    assert_eq!(bought.status, StatusCode::OK);
    assert_eq!(emails_to(&app, &trade.seller).await, ["sold", "sold"]);

    // The mail program's one-click POST (RFC 8058), no cookie, no CSRF token.
    let clicked = app
        .send(
            Method::POST,
            &link,
            &[("content-type", "application/x-www-form-urlencoded")],
            "List-Unsubscribe=One-Click",
        )
        .await;
    assert_eq!(clicked.status, StatusCode::OK, "{}", clicked.text());
    assert!(clicked.text().contains("You are unsubscribed"));
    let bought = buy(&app, &trade, &trade.buyer, 1).await;
    assert_eq!(bought.status, StatusCode::OK);
    assert_eq!(
        emails_to(&app, &trade.seller).await,
        ["sold", "sold"],
        "no more sales mailed"
    );
    // Only that kind: messages still come.
    let asked = api(
        &app,
        Some(&trade.buyer),
        Method::POST,
        &format!("/api/items/{}/conversations", trade.item),
        Some(json!({"text": "When will it ship?"})),
    )
    .await;
    assert_eq!(asked.status, StatusCode::CREATED);
    assert_eq!(
        emails_to(&app, &trade.seller).await,
        ["sold", "sold", "message"]
    );

    // Another person's settings are untouched; a wrong key or kind is refused.
    let buyer_sold: bool = app
        .db
        .query_one(
            "SELECT sold FROM email_settings JOIN accounts ON accounts.id = account_id WHERE email = $1",
            &[&trade.buyer.email],
        )
        .await
        .unwrap()
        .get(0);
    assert!(buyer_sold);
    let unknown = format!(
        "/account/email/unsubscribe?key={}&kind=sold",
        "0".repeat(64)
    );
    assert_eq!(app.get(&unknown).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.send(Method::POST, &unknown, &[], "List-Unsubscribe=One-Click")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let bad_kind = format!("/account/email/unsubscribe?key={key}&kind=password");
    let refused = app.get(&bad_kind).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.text().contains("sold, shipped, message or review"));
    assert_eq!(
        app.get("/account/email/unsubscribe?key=%27%20OR%201%3D1&kind=sold")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
