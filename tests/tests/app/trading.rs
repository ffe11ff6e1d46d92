//! A trade from question to review under the real Spin: the order's state machine as a
//! table (each state × each action × each party), stock returned exactly once under
//! racing cancels, two racing reviews making one, blind reviews becoming visible, the
//! 14-day automatic receipt, conversations between exactly two people, sending limited,
//! notices, and profiles with their ratings.

use hyper::{Method, StatusCode};
use market_tests::testing::{TestApp, TestPerson, spawn_app};
use market_tests::trade::{Trade, api};
use serde_json::{Value, json};

/// Who acts in a cell of the state table.
#[derive(Debug, Clone, Copy)]
enum Who {
    Buyer,
    Seller,
    Other,
}

fn person(trade: &Trade, who: Who) -> &TestPerson {
    match who {
        Who::Buyer => &trade.buyer,
        Who::Seller => &trade.seller,
        Who::Other => &trade.other,
    }
}

/// What each (state, action, who) must answer, and the state after it.
fn expected(state: &str, action: &str, who: Who) -> (u16, &'static str) {
    let same = |state: &str| -> &'static str {
        match state {
            "placed" => "placed",
            "shipped" => "shipped",
            "received" => "received",
            _ => "cancelled",
        }
    };
    let allowed = matches!(
        (action, who),
        ("ship", Who::Seller) | ("receive", Who::Buyer) | ("cancel", Who::Buyer | Who::Seller)
    );
    if !allowed {
        return (404, same(state));
    }
    match (action, state) {
        ("ship", "placed") => (200, "shipped"),
        ("receive", "shipped") => (200, "received"),
        ("cancel", "placed") => (200, "cancelled"),
        // Idempotent: the same action again changes nothing.
        ("ship", "shipped") | ("receive", "received") | ("cancel", "cancelled") => {
            (200, same(state))
        }
        _ => (409, same(state)),
    }
}

async fn state_of(app: &TestApp, trade: &Trade) -> String {
    app.db
        .query_one("SELECT state FROM purchases WHERE id = $1", &[&trade.order])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn the_order_state_machine_answers_each_state_action_and_party_as_the_table_says() {
    let app = spawn_app().await;
    let mut table = vec!["| state | action | party | status | state after |".to_owned()];
    for state in ["placed", "shipped", "received", "cancelled"] {
        for action in ["ship", "receive", "cancel"] {
            for who in [Who::Buyer, Who::Seller, Who::Other] {
                let trade = Trade::start(&app, 3, 1).await;
                trade.bring_to(&app, state).await;
                let stock_before = trade.stock(&app).await;
                let response = trade.act(&app, person(&trade, who), action).await;
                let (status, after) = expected(state, action, who);
                let cell = format!("{state} × {action} × {who:?}");
                assert_eq!(
                    response.status.as_u16(),
                    status,
                    "{cell}: {}",
                    response.text()
                );
                assert_eq!(state_of(&app, &trade).await, after, "{cell}");
                match status {
                    200 => assert_eq!(response.json()["state"], after, "{cell}"),
                    409 => {
                        let message = response.json()["error"].as_str().unwrap().to_owned();
                        assert!(
                            message.contains(&format!("This order is {state}")),
                            "{cell}: {message}"
                        );
                    }
                    _ => {}
                }
                let returned = trade.stock(&app).await - stock_before;
                let cancelled_now = state == "placed" && after == "cancelled";
                assert_eq!(returned, i32::from(cancelled_now), "{cell}: units returned");
                table.push(format!(
                    "| {state} | {action} | {who:?} | {status} | {after} |"
                ));
            }
        }
    }
    println!("order state machine:\n{}", table.join("\n"));
}

#[tokio::test]
async fn racing_cancels_return_the_units_exactly_once_and_a_cancel_racing_a_ship_leaves_one() {
    let app = spawn_app().await;
    let trade = Trade::start(&app, 10, 4).await;
    assert_eq!(trade.stock(&app).await, 6);
    let cancels = (0..8).map(|n| {
        let who = if n % 2 == 0 {
            &trade.buyer
        } else {
            &trade.seller
        };
        trade.act(&app, who, "cancel")
    });
    let answers = futures::future::join_all(cancels).await;
    assert!(
        answers.iter().all(|r| r.status == StatusCode::OK),
        "all see it cancelled"
    );
    assert_eq!(trade.stock(&app).await, 10, "4 units back, once");
    let cancelled: i64 = app
        .db
        .query_one(
            "SELECT count(*) FROM purchases WHERE id = $1 AND state = 'cancelled'",
            &[&trade.order],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(cancelled, 1);

    for _ in 0..5 {
        let trade = Trade::start(&app, 5, 2).await;
        let (ship, cancel) = tokio::join!(
            trade.act(&app, &trade.seller, "ship"),
            trade.act(&app, &trade.buyer, "cancel")
        );
        let state = state_of(&app, &trade).await;
        let mut statuses = [ship.status.as_u16(), cancel.status.as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "one wins: {state}");
        let stock = trade.stock(&app).await;
        match state.as_str() {
            "shipped" => assert_eq!(stock, 3, "shipped: nothing returned"),
            "cancelled" => assert_eq!(stock, 5, "cancelled: returned once"),
            other => panic!("state {other}"),
        }
    }
}

async fn profile(app: &TestApp, person: &TestPerson) -> Value {
    let id: i64 = app
        .db
        .query_one("SELECT id FROM accounts WHERE email = $1", &[&person.email])
        .await
        .unwrap()
        .get(0);
    let response = app.get(&format!("/api/people/{id}")).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()
}

#[tokio::test]
async fn reviews_are_blind_until_both_write_or_fourteen_days_pass_and_one_per_party() {
    let app = spawn_app().await;
    let trade = Trade::start(&app, 3, 1).await;
    let early = trade.review(&app, &trade.buyer, 5, "Great").await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.text());
    assert!(early.text().contains("once it is received"));
    trade.bring_to(&app, "received").await;
    assert_eq!(
        trade.review(&app, &trade.other, 1, "Bad").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        trade.review(&app, &trade.buyer, 6, "").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // Two racing clicks: one review.
    let (first, second) = tokio::join!(
        trade.review(&app, &trade.buyer, 5, "Exactly as described, well packed."),
        trade.review(&app, &trade.buyer, 4, "Double click")
    );
    let mut statuses = [first.status.as_u16(), second.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 409]);
    let written = if first.status == StatusCode::CREATED {
        first
    } else {
        second
    };
    let rating = written.json()["rating"].as_i64().unwrap();
    assert_eq!(
        written.json()["visible"],
        false,
        "blind until the seller writes"
    );

    let seller_profile = profile(&app, &trade.seller).await;
    assert_eq!(seller_profile["as_seller"]["count"], 0, "not visible yet");
    assert_eq!(seller_profile["reviews"], json!([]));

    let answer = trade.review(&app, &trade.seller, 4, "Quick payment.").await;
    assert_eq!(answer.status, StatusCode::CREATED);
    let seller_profile = profile(&app, &trade.seller).await;
    assert_eq!(seller_profile["as_seller"]["count"], 1);
    assert_eq!(
        seller_profile["as_seller"]["average"],
        format!("{rating}.0")
    );
    assert_eq!(
        seller_profile["reviews"][0]["author"]["display_name"],
        "Buyer"
    );
    let buyer_profile = profile(&app, &trade.buyer).await;
    assert_eq!(buyer_profile["as_buyer"]["count"], 1);
    assert_eq!(buyer_profile["as_buyer"]["average"], "4.0");

    // Alone, a review shows 14 days after receipt.
    let lone = Trade::start(&app, 3, 1).await;
    lone.bring_to(&app, "received").await;
    assert_eq!(
        lone.review(&app, &lone.buyer, 2, "Late").await.status,
        StatusCode::CREATED
    );
    assert_eq!(profile(&app, &lone.seller).await["as_seller"]["count"], 0);
    lone.age(&app, 15).await;
    let shown = profile(&app, &lone.seller).await;
    assert_eq!(shown["as_seller"]["count"], 1, "{shown}");
    assert_eq!(shown["reviews"][0]["text"], "Late");
}

#[tokio::test]
async fn a_shipped_order_counts_as_received_after_fourteen_days() {
    let app = spawn_app().await;
    let trade = Trade::start(&app, 3, 1).await;
    trade.bring_to(&app, "shipped").await;
    trade.age(&app, 15).await;
    let order = api(
        &app,
        Some(&trade.buyer),
        Method::GET,
        &format!("/api/orders/{}", trade.order),
        None,
    )
    .await;
    assert_eq!(order.json()["state"], "received");
    assert_eq!(order.json()["received_automatically"], true);
    assert_eq!(
        trade.review(&app, &trade.seller, 5, "").await.status,
        StatusCode::CREATED
    );
    let receive = trade.act(&app, &trade.buyer, "receive").await;
    assert_eq!(
        receive.status,
        StatusCode::OK,
        "already received: {}",
        receive.text()
    );
}

#[tokio::test]
async fn a_conversation_is_between_the_asker_and_the_seller_only() {
    let app = spawn_app().await;
    let trade = Trade::start(&app, 3, 1).await;
    let ask = |person: &TestPerson, text: &str| {
        let body = json!({ "text": text });
        let path = format!("/api/items/{}/conversations", trade.item);
        let app = &app;
        let person = person.clone();
        async move { api(app, Some(&person), Method::POST, &path, Some(body)).await }
    };
    let first = ask(&trade.buyer, "Does it suit someone 1.80 m tall?").await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    let conversation = first.json()["id"].as_i64().unwrap();
    let again = ask(&trade.buyer, "And is the saddle leather?").await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(
        again.json()["id"],
        conversation,
        "one per listing and asker"
    );
    assert_eq!(again.json()["messages"].as_array().unwrap().len(), 2);
    assert_eq!(
        ask(&trade.seller, "Me?").await.status,
        StatusCode::CONFLICT,
        "nobody asks themselves"
    );
    assert_eq!(
        ask(&trade.buyer, "   ").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        ask(&trade.buyer, &"x".repeat(2_001)).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let path = format!("/api/conversations/{conversation}");
    let home = app
        .get_with_cookie("/", &trade.seller.session_cookie())
        .await
        .text();
    assert!(
        home.contains("Inbox (2 unread)"),
        "the header counts unread messages"
    );
    let inbox = api(
        &app,
        Some(&trade.seller),
        Method::GET,
        "/api/conversations",
        None,
    )
    .await;
    assert_eq!(inbox.json()["conversations"][0]["unread"], 2);
    let reply = api(
        &app,
        Some(&trade.seller),
        Method::POST,
        &format!("{path}/messages"),
        Some(json!({"text": "Yes: the frame is 58 cm. <script>alert(1)</script> https://example.com"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let seen = api(&app, Some(&trade.buyer), Method::GET, &path, None)
        .await
        .json();
    let texts: Vec<&str> = seen["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts.len(), 3);
    assert!(
        texts[2].starts_with("Yes: the frame"),
        "oldest to newest: {texts:?}"
    );
    for stranger in [&trade.other] {
        assert_eq!(
            api(&app, Some(stranger), Method::GET, &path, None)
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        let post = api(
            &app,
            Some(stranger),
            Method::POST,
            &format!("{path}/messages"),
            Some(json!({"text": "hi"})),
        )
        .await;
        assert_eq!(post.status, StatusCode::NOT_FOUND);
    }
    let messages: i64 = app
        .db
        .query_one("SELECT count(*) FROM messages", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(messages, 3, "nothing from anyone else");

    // The page shows the text as text.
    let page = app
        .get_with_cookie(
            &format!("/conversations/{conversation}"),
            &trade.buyer.session_cookie(),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(
        !html.contains("href=\"https://example.com\""),
        "links are not made clickable"
    );
}

#[tokio::test]
async fn sending_is_limited_per_person() {
    let app = spawn_app().await;
    let trade = Trade::start(&app, 3, 1).await;
    let path = format!("/api/items/{}/conversations", trade.item);
    let mut statuses = Vec::new();
    for n in 0..12 {
        let response = api(
            &app,
            Some(&trade.buyer),
            Method::POST,
            &path,
            Some(json!({"text": format!("Question {n}")})),
        )
        .await;
        statuses.push(response.status.as_u16());
    }
    assert_eq!(
        &statuses[..10],
        &[201, 200, 200, 200, 200, 200, 200, 200, 200, 200]
    );
    assert_eq!(&statuses[10..], &[429, 429]);
    let limited = api(
        &app,
        Some(&trade.buyer),
        Method::POST,
        &path,
        Some(json!({"text": "more"})),
    )
    .await;
    assert_eq!(limited.header("retry-after"), Some("60"));
    // Someone else may still write.
    let other = api(
        &app,
        Some(&trade.other),
        Method::POST,
        &path,
        Some(json!({"text": "Hi"})),
    )
    .await;
    assert_eq!(other.status, StatusCode::CREATED);
}

#[tokio::test]
async fn notices_tell_of_orders_messages_and_reviews_until_seen() {
    let app = spawn_app().await;
    let trade = Trade::start(&app, 3, 1).await;
    let unseen = |person: &TestPerson| {
        let email = person.email.clone();
        let app = &app;
        async move {
            app.db
                .query(
                    "SELECT kind FROM notices JOIN accounts ON accounts.id = account_id
                     WHERE email = $1 AND seen_at IS NULL ORDER BY notices.id",
                    &[&email],
                )
                .await
                .unwrap()
                .iter()
                .map(|row| row.get::<_, String>(0))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(unseen(&trade.seller).await, ["order_to_ship"]);
    let home = app
        .get_with_cookie("/", &trade.seller.session_cookie())
        .await
        .text();
    assert!(
        home.contains("Notices (1 unseen)"),
        "the header counts them"
    );
    trade.bring_to(&app, "shipped").await;
    assert_eq!(unseen(&trade.buyer).await, ["order_shipped"]);
    let order_page = app
        .get_with_cookie(
            &format!("/orders/{}", trade.order),
            &trade.buyer.session_cookie(),
        )
        .await;
    assert_eq!(order_page.status, StatusCode::OK);
    assert_eq!(
        unseen(&trade.buyer).await,
        Vec::<String>::new(),
        "seen on the order page"
    );
    let path = format!("/api/items/{}/conversations", trade.item);
    for text in ["One", "Two", "Three"] {
        api(
            &app,
            Some(&trade.buyer),
            Method::POST,
            &path,
            Some(json!({"text": text})),
        )
        .await;
    }
    assert_eq!(
        unseen(&trade.seller).await,
        ["order_to_ship", "message"],
        "one per conversation until seen"
    );
    trade.bring_to(&app, "received").await;
    trade.review(&app, &trade.buyer, 5, "Fine").await;
    assert_eq!(
        unseen(&trade.seller).await,
        ["order_to_ship", "message", "review"]
    );
    let seen = app
        .post_form(Some(&trade.seller.session_cookie()), "/notices/seen", &[])
        .await;
    assert_eq!(seen.status, StatusCode::SEE_OTHER);
    assert_eq!(unseen(&trade.seller).await, Vec::<String>::new());
}

#[tokio::test]
async fn a_new_password_ends_every_other_session_and_keeps_tokens_only_if_asked() {
    let app = spawn_app().await;
    let person = app.add_person("Changer").await;
    let wrong = app
        .post_form(
            Some(&person.session_cookie()),
            "/account/password",
            &[
                ("current_password", "not my password at all"),
                ("new_password", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.text().contains("not your current password"));
    // A second session of theirs, on another browser.
    app.db
        .execute(
            "INSERT INTO sessions (token_hash, account_id)
             SELECT $1, id FROM accounts WHERE email = $2",
            &[&"0".repeat(64), &person.email],
        )
        .await
        .unwrap();
    let changed = app
        .post_form(
            Some(&person.session_cookie()),
            "/account/password",
            &[
                ("current_password", market_tests::testing::TEST_PASSWORD),
                ("new_password", "a brand new passphrase"),
                ("keep_tokens", "yes"),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.text());
    let sessions: i64 = app
        .db
        .query_one("SELECT count(*) FROM sessions JOIN accounts ON accounts.id = account_id WHERE email = $1", &[&person.email])
        .await
        .unwrap()
        .get(0);
    assert_eq!(sessions, 1, "only this browser's");
    let me = api(&app, Some(&person), Method::GET, "/api/conversations", None).await;
    assert_eq!(me.status, StatusCode::OK, "the token was kept");
    let again = app
        .post_form(
            Some(&person.session_cookie()),
            "/account/password",
            &[
                ("current_password", "a brand new passphrase"),
                ("new_password", "yet another passphrase"),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let me = api(&app, Some(&person), Method::GET, "/api/conversations", None).await;
    assert_eq!(
        me.status,
        StatusCode::UNAUTHORIZED,
        "tokens revoked when not kept"
    );

    let renamed = app
        .post_form(
            Some(&person.session_cookie()),
            "/account/profile",
            &[("display_name", "New Name")],
        )
        .await;
    assert_eq!(renamed.status, StatusCode::SEE_OTHER);
    let page = app
        .get_with_cookie("/", &person.session_cookie())
        .await
        .text();
    assert!(
        page.contains("New Name"),
        "the header shows the new name at once"
    );
}
