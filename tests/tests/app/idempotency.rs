use futures::future::join_all;
use hyper::{Method, StatusCode};
use market_tests::testing::spawn_app;

use market_tests::shop::{buy_with_key, create_with_key, list_item, purchases, stock};

const ITEM: &str = r#"{"name":"Bike","quantity":2,"price":"9.99","description":"Blue"}"#;

#[tokio::test]
async fn a_retried_create_with_the_same_key_returns_the_first_item_and_writes_nothing() {
    let app = spawn_app().await;

    let first = create_with_key(&app, "create-1", ITEM).await;
    let retry = create_with_key(&app, "create-1", ITEM).await;
    let other_key = create_with_key(&app, "create-2", ITEM).await;

    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(retry.status, StatusCode::CREATED);
    assert_eq!(retry.json(), first.json());
    assert_eq!(retry.header("location"), first.header("location"));
    assert_ne!(other_key.json()["id"], first.json()["id"]);
    assert_eq!(app.item_count().await, 2);
}

#[tokio::test]
async fn a_key_reused_for_a_different_request_gets_409_and_writes_nothing() {
    let app = spawn_app().await;
    assert_eq!(
        create_with_key(&app, "k", ITEM).await.status,
        StatusCode::CREATED
    );

    let reused = create_with_key(
        &app,
        "k",
        r#"{"name":"Car","quantity":1,"price":"9.99","description":"Red"}"#,
    )
    .await;

    assert_eq!(reused.status, StatusCode::CONFLICT);
    assert!(
        reused.json()["error"]
            .as_str()
            .unwrap()
            .contains("different request")
    );
    assert_eq!(app.item_count().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_duplicates_with_one_key_create_one_item() {
    let app = spawn_app().await;

    let responses = join_all((0..10).map(|_| create_with_key(&app, "double-click", ITEM))).await;

    for response in &responses {
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
        assert_eq!(response.json(), responses[0].json());
    }
    assert_eq!(app.item_count().await, 1);
}

#[tokio::test]
async fn a_retried_buy_returns_the_first_purchase_and_takes_stock_once() {
    let app = spawn_app().await;
    let id = list_item(&app, "Stool", 5).await;

    let first = buy_with_key(&app, id, "buy-1", 2).await;
    let retry = buy_with_key(&app, id, "buy-1", 2).await;

    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(retry.status, StatusCode::OK);
    assert_eq!(
        retry.json(),
        first.json(),
        "the original purchase and remaining stock"
    );
    assert_eq!(stock(&app, id).await, 3);
    assert_eq!(purchases(&app, id).await, 1);
    let other_item = list_item(&app, "Bench", 5).await;
    assert_eq!(
        buy_with_key(&app, other_item, "buy-1", 2).await.status,
        StatusCode::CONFLICT
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_of_one_buy_take_stock_once() {
    let app = spawn_app().await;
    let id = list_item(&app, "Lamp", 10).await;

    let responses = join_all((0..10).map(|_| buy_with_key(&app, id, "same-buy", 1))).await;

    assert!(responses.iter().all(|r| r.status == StatusCode::OK));
    assert!(responses.iter().all(|r| r.json() == responses[0].json()));
    assert_eq!(stock(&app, id).await, 9);
    assert_eq!(purchases(&app, id).await, 1);
}

#[tokio::test]
async fn a_double_submitted_sell_form_creates_one_item() {
    let app = spawn_app().await;
    let (cookie, token) = app.csrf().await;
    let page = app
        .send(Method::GET, "/", &[("cookie", &cookie)], "")
        .await
        .text();
    let key = page
        .split(r#"name="idempotency_key" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the sell form carries an idempotency key")
        .to_owned();
    let body = format!(
        "csrf_token={token}&idempotency_key={key}&name=Desk&quantity=1&price=9.99&description=Oak"
    );
    let headers = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("cookie", cookie.as_str()),
    ];

    let first = app
        .send(Method::POST, "/items", &headers, body.clone())
        .await;
    let second = app.send(Method::POST, "/items", &headers, body).await;

    assert_eq!(first.status, StatusCode::SEE_OTHER);
    assert_eq!(second.status, StatusCode::SEE_OTHER);
    assert_eq!(first.cookies(), second.cookies(), "the same confirmation");
    assert_eq!(app.item_count().await, 1);
    let next_page = app
        .send(Method::GET, "/", &[("cookie", &cookie)], "")
        .await
        .text();
    assert!(!next_page.contains(&key), "each rendering gets a new key");
}

#[tokio::test]
async fn malformed_idempotency_keys_get_400() {
    let app = spawn_app().await;
    let long = "k".repeat(256);
    for key in ["", "with space", long.as_str()] {
        let response = create_with_key(&app, key, ITEM).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{key:?}");
        assert!(
            response.json()["error"]
                .as_str()
                .unwrap()
                .contains("Idempotency-Key")
        );
    }
    assert_eq!(app.item_count().await, 0);
}

#[tokio::test]
async fn a_key_older_than_a_day_is_new_again_and_expired_keys_are_removed_as_writes_go() {
    let app = spawn_app().await;
    let first = create_with_key(&app, "old-key", ITEM).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let within = create_with_key(&app, "old-key", ITEM).await;
    assert_eq!(within.json(), first.json(), "a replay within the day");
    app.db
        .batch_execute(
            "UPDATE idempotency_keys SET created_at = now() - interval '25 hours';
             INSERT INTO idempotency_keys (operation, key, request, created_at)
             SELECT 'buy_item', 'stale-' || n, '[]', now() - interval '2 days'
             FROM generate_series(1, 25) AS n",
        )
        .await
        .unwrap();
    let other_body = r#"{"name":"Other","quantity":1,"price":"9.99","description":"New"}"#;

    let reused = create_with_key(&app, "old-key", other_body).await;
    let replay = create_with_key(&app, "old-key", other_body).await;
    for n in 0..2 {
        let body = format!(r#"{{"name":"More {n}","quantity":1,"price":"1","description":"d"}}"#);
        assert_eq!(
            app.post_json("/api/items", &body).await.status,
            StatusCode::CREATED
        );
    }
    let expired: i64 = app
        .db
        .query_one(
            "SELECT count(*) FROM idempotency_keys WHERE created_at < now() - interval '24 hours'",
            &[],
        )
        .await
        .unwrap()
        .get(0);

    assert_eq!(reused.status, StatusCode::CREATED, "{}", reused.text());
    assert_ne!(reused.json()["id"], first.json()["id"], "treated as new");
    assert_eq!(
        replay.json(),
        reused.json(),
        "and a replay of the new request"
    );
    println!("expired keys: 25 stale rows, {expired} left after 4 writes");
    assert_eq!(expired, 0, "each write removes up to 10 expired keys");
}
