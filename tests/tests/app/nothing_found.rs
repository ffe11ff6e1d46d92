//! Every path where Postgres finds nothing, or refuses as expected, answers at once
//! under the real Spin. Spin 4.0 never answers a `query` that yields no rows
//! (spinframework/spin#3671), so each of these once hung until the client gave up.

use std::time::{Duration, Instant};

use hyper::StatusCode;
use market_tests::testing::{TestApp, TestResponse, spawn_app};

use market_tests::shop::{
    buy_with_key, create_with_key, list_item, post_buy_form, purchases, stock,
};

/// The most a path that finds nothing may take.
const PROMPT: Duration = Duration::from_secs(2);

/// Sends the request, prints how long it took, and fails when it took longer than
/// [`PROMPT`].
async fn promptly(
    app: &TestApp,
    what: &str,
    request: impl std::future::Future<Output = TestResponse>,
) -> TestResponse {
    let started = Instant::now();
    let response = request.await;
    let took = started.elapsed();
    println!("{what}: {} in {took:?}", response.status);
    assert!(took < PROMPT, "{what} took {took:?}\n{}", app.log());
    response
}

#[tokio::test]
async fn an_empty_shop_answers_at_once_on_the_page_and_the_api() {
    let app = spawn_app().await;

    let page = promptly(&app, "empty listing, page", app.get("/")).await;
    let older = promptly(&app, "empty older page", app.get("/?before=42")).await;
    let api = promptly(&app, "empty listing, API", app.get("/api/items")).await;

    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("Nothing is for sale right now"));
    assert_eq!(older.status, StatusCode::OK);
    assert!(older.text().contains("There are no older items."));
    assert_eq!(api.status, StatusCode::OK);
    assert_eq!(api.json(), serde_json::json!({"items": [], "next": null}));
}

#[tokio::test]
async fn an_unknown_item_answers_404_at_once_on_the_page_and_the_api() {
    let app = spawn_app().await;
    let (cookie, token) = app.csrf().await;
    let form = format!("csrf_token={token}&quantity=1");

    let show = promptly(&app, "unknown item, API", app.get("/api/items/999999")).await;
    let buy_api = promptly(
        &app,
        "unknown item, API buy",
        app.post_json("/api/items/999999/buy", r#"{"quantity":1}"#),
    )
    .await;
    let buy_form = promptly(
        &app,
        "unknown item, buy form",
        post_buy_form(&app, 999_999, &cookie, &form),
    )
    .await;

    assert_eq!(show.status, StatusCode::NOT_FOUND);
    assert_eq!(buy_api.status, StatusCode::NOT_FOUND);
    assert!(buy_api.json()["error"].is_string());
    assert_eq!(buy_form.status, StatusCode::NOT_FOUND);
    assert!(buy_form.text().contains("This item is no longer for sale."));
}

#[tokio::test]
async fn too_little_stock_answers_409_at_once_through_the_form_and_the_api() {
    let app = spawn_app().await;
    let id = list_item(&app, "Vase", 2).await;
    let (cookie, token) = app.csrf().await;
    let form = |quantity: u32| format!("csrf_token={token}&quantity={quantity}");
    let buy_path = format!("/api/items/{id}/buy");
    let quantity = |quantity: u32| format!(r#"{{"quantity":{quantity}}}"#);

    let (three, one) = (quantity(3), quantity(1));
    let api = |what, body| promptly(&app, what, app.post_json(&buy_path, body));

    let few_api = api("only N left, API", &three).await;
    let few_form = promptly(
        &app,
        "only N left, form",
        post_buy_form(&app, id, &cookie, &form(3)),
    )
    .await;
    let last = app.post_json(&buy_path, &quantity(2)).await;
    assert_eq!(last.status, StatusCode::OK);
    let sold_out_api = api("sold out, API", &one).await;
    let sold_out_form = promptly(
        &app,
        "sold out, form",
        post_buy_form(&app, id, &cookie, &form(1)),
    )
    .await;

    assert_eq!(few_api.status, StatusCode::CONFLICT);
    assert_eq!(few_api.json()["error"], "Only 2 left in stock.");
    assert_eq!(few_form.status, StatusCode::CONFLICT);
    assert!(few_form.text().contains("Only 2 left in stock."));
    assert_eq!(sold_out_api.status, StatusCode::CONFLICT);
    assert_eq!(sold_out_api.json()["error"], "This item is sold out.");
    assert_eq!(sold_out_form.status, StatusCode::CONFLICT);
    assert!(sold_out_form.text().contains("This item is sold out."));
    assert_eq!(stock(&app, id).await, 0);
    assert_eq!(purchases(&app, id).await, 1);
}

#[tokio::test]
async fn a_retried_buy_that_took_the_last_units_replays_the_first_purchase() {
    let app = spawn_app().await;
    let id = list_item(&app, "Last lamp", 2).await;

    let first = buy_with_key(&app, id, "last-units", 2).await;
    let retry = promptly(
        &app,
        "retried buy of the last units",
        buy_with_key(&app, id, "last-units", 2),
    )
    .await;

    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.text());
    assert_eq!(retry.body, first.body, "the identical body");
    assert_eq!(stock(&app, id).await, 0);
    assert_eq!(purchases(&app, id).await, 1);
}

#[tokio::test]
async fn a_retried_buy_that_found_too_little_stock_takes_nothing_the_second_time() {
    let app = spawn_app().await;
    let id = list_item(&app, "Rare book", 1).await;

    let first = buy_with_key(&app, id, "too-many", 2).await;
    let retry = promptly(
        &app,
        "retried buy that found too little",
        buy_with_key(&app, id, "too-many", 2),
    )
    .await;

    assert_eq!(first.status, StatusCode::CONFLICT);
    assert_eq!(retry.status, StatusCode::CONFLICT);
    // The same answer (each with its own request's reference).
    assert_eq!(retry.json()["error"], first.json()["error"]);
    assert_eq!(stock(&app, id).await, 1);
    assert_eq!(purchases(&app, id).await, 0);
}

#[tokio::test]
async fn a_key_reused_for_another_request_answers_409_at_once() {
    let app = spawn_app().await;
    let id = list_item(&app, "Kettle", 5).await;
    let item = r#"{"name":"Bike","quantity":2,"price":"9.99","description":"Blue"}"#;
    let other_item = r#"{"name":"Bike","quantity":3,"price":"9.99","description":"Blue"}"#;
    assert_eq!(
        create_with_key(&app, "key-a", item).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        buy_with_key(&app, id, "key-b", 1).await.status,
        StatusCode::OK
    );

    let create = promptly(
        &app,
        "same key, other create",
        create_with_key(&app, "key-a", other_item),
    )
    .await;
    let buy = promptly(
        &app,
        "same key, other buy",
        buy_with_key(&app, id, "key-b", 2),
    )
    .await;

    for response in [&create, &buy] {
        assert_eq!(response.status, StatusCode::CONFLICT);
        assert_eq!(
            response.json()["error"],
            "This Idempotency-Key was already used for a different request."
        );
    }
    assert_eq!(app.item_count().await, 2);
    assert_eq!(stock(&app, id).await, 4);
}

#[tokio::test]
async fn a_replayed_create_answers_201_with_the_first_item_at_once() {
    let app = spawn_app().await;
    let item = r#"{"name":"Desk","quantity":1,"price":"9.99","description":"Oak"}"#;
    let first = create_with_key(&app, "create-once", item).await;

    let replay = promptly(
        &app,
        "replayed create",
        create_with_key(&app, "create-once", item),
    )
    .await;

    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(replay.status, StatusCode::CREATED);
    assert_eq!(replay.body, first.body);
    assert_eq!(replay.header("location"), first.header("location"));
    assert_eq!(app.item_count().await, 1);
}
