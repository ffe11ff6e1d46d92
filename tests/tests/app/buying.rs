use futures::future::join_all;
use hyper::{Method, StatusCode};
use market_tests::shop::{ApiItem, list_item, post_buy_form, purchases, stock};
use market_tests::testing::{TestApp, json_headers, merchant, shopper, spawn_app};

async fn buy(app: &TestApp, id: i64, body: &str) -> market_tests::testing::TestResponse {
    app.post_json(&format!("/api/items/{id}/buy"), body).await
}

#[tokio::test]
async fn buying_through_the_api_takes_stock_and_records_the_purchase() {
    let app = spawn_app().await;
    let id = list_item(&app, "Kettle", 5).await;

    let response = buy(&app, id, r#"{"quantity":2}"#).await;

    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let body = response.json();
    assert_eq!(body["remaining"], 3);
    assert_eq!(body["purchase"]["item_id"], id);
    assert_eq!(body["purchase"]["quantity"], 2);
    chrono::DateTime::parse_from_rfc3339(body["purchase"]["purchased_at"].as_str().unwrap())
        .unwrap();
    assert_eq!(stock(&app, id).await, 3);
    assert_eq!(purchases(&app, id).await, 1);
}

#[tokio::test]
async fn buying_more_than_is_left_gets_409_and_takes_nothing() {
    let app = spawn_app().await;
    let id = list_item(&app, "Last lamp", 1).await;

    let too_many = buy(&app, id, r#"{"quantity":2}"#).await;
    let last = buy(&app, id, r#"{"quantity":1}"#).await;
    let sold_out = buy(&app, id, r#"{"quantity":1}"#).await;

    assert_eq!(too_many.status, StatusCode::CONFLICT);
    assert_eq!(too_many.json()["error"], "Only 1 left in stock.");
    assert_eq!(last.status, StatusCode::OK);
    assert_eq!(last.json()["remaining"], 0);
    assert_eq!(sold_out.status, StatusCode::CONFLICT);
    assert_eq!(sold_out.json()["error"], "This item is sold out.");
    assert_eq!(stock(&app, id).await, 0);
    assert_eq!(purchases(&app, id).await, 1);
}

#[tokio::test]
async fn buying_ones_own_listing_gets_409_by_the_api_and_the_form_and_takes_nothing() {
    const OWN_LISTING: &str = "This is your own listing: you cannot buy it.";
    let app = spawn_app().await;
    let id = ApiItem::named("Own lamp")
        .quantity(3)
        .list_as(&app, shopper())
        .await["id"]
        .as_i64()
        .unwrap();
    let (cookie, token) = app.csrf().await;

    let by_api = buy(&app, id, r#"{"quantity":1}"#).await;
    let by_form = post_buy_form(
        &app,
        id,
        &cookie,
        &format!("csrf_token={token}&quantity=1&shown_price=9.99&back=item"),
    )
    .await;

    assert_eq!(by_api.status, StatusCode::CONFLICT, "{}", by_api.text());
    assert_eq!(by_api.json()["error"], OWN_LISTING);
    assert_eq!(by_form.status, StatusCode::CONFLICT, "{}", by_form.text());
    let html = by_form.text();
    assert!(
        html.contains(r#"<h1 id="item-name">Own lamp</h1>"#),
        "the item page again: {html}"
    );
    assert!(html.contains(&format!(r#"id="buy-error-{id}""#)), "{html}");
    assert!(html.contains(OWN_LISTING), "{html}");
    assert_eq!(stock(&app, id).await, 3, "nothing taken");
    assert_eq!(purchases(&app, id).await, 0, "no purchase recorded");
    let notices: i64 = app
        .db
        .query_one("SELECT count(*) FROM notices", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(notices, 0, "no order to ship");

    // Anyone else may buy it: the refusal is about who buys, not about the item.
    let other = app
        .post_json_as(
            merchant(),
            &format!("/api/items/{id}/buy"),
            r#"{"quantity":1}"#,
        )
        .await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.text());
    assert_eq!(stock(&app, id).await, 2);
    assert_eq!(purchases(&app, id).await, 1);
}

#[tokio::test]
async fn buying_an_unknown_item_gets_404() {
    let app = spawn_app().await;
    let api = buy(&app, 999_999, r#"{"quantity":1}"#).await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert!(api.json()["error"].is_string());
    let (cookie, token) = app.csrf().await;
    let form = app
        .send(
            Method::POST,
            "/items/999999/buy",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("cookie", &cookie),
            ],
            format!("csrf_token={token}&quantity=1"),
        )
        .await;
    assert_eq!(form.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn invalid_purchases_get_422_or_400_and_take_nothing() {
    let app = spawn_app().await;
    let id = list_item(&app, "Vase", 3).await;
    // (body, status, why)
    let cases = [
        (
            r#"{}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "quantity missing",
        ),
        (
            r#"{"quantity":0}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "zero",
        ),
        (
            r#"{"quantity":-1}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "negative",
        ),
        (
            r#"{"quantity":"1"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "string",
        ),
        (
            r#"{"quantity":1.5}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "fraction",
        ),
        (
            r#"{"quantity":9223372036854775808}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "past i64",
        ),
        (
            r#"{"quantity":1000001}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "above the maximum",
        ),
        (r#"[1]"#, StatusCode::BAD_REQUEST, "not an object"),
        (r#"{"quantity":"#, StatusCode::BAD_REQUEST, "malformed"),
    ];
    for (body, status, reason) in cases {
        let response = buy(&app, id, body).await;
        assert_eq!(response.status, status, "{reason}");
        if status == StatusCode::UNPROCESSABLE_ENTITY {
            assert!(
                response.json()["errors"]["quantity"].is_string(),
                "{reason}"
            );
        }
    }
    let wrong_type = app
        .send(
            Method::POST,
            &format!("/api/items/{id}/buy"),
            &[("content-type", "text/plain"), json_headers()[1]],
            r#"{"quantity":1}"#,
        )
        .await;
    assert_eq!(wrong_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let wrong_method = app.get(&format!("/api/items/{id}/buy")).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.header("allow"), Some("POST"));
    assert_eq!(stock(&app, id).await, 3);
}

#[tokio::test]
async fn the_buy_form_takes_stock_and_confirms_on_the_home_page() {
    let app = spawn_app().await;
    let id = list_item(&app, "Teapot", 4).await;
    let (cookie, token) = app.csrf().await;
    assert!(
        app.get_with_cookie("/", &cookie)
            .await
            .text()
            .contains(&format!(r#"action="/items/{id}/buy""#))
    );

    let response =
        post_buy_form(&app, id, &cookie, &format!("csrf_token={token}&quantity=3")).await;

    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.header("location"), Some("/"));
    let notice = response.cookie("notice").expect("a notice cookie");
    let home = app
        .send(
            Method::GET,
            "/",
            &[("cookie", &format!("{cookie}; {notice}"))],
            "",
        )
        .await;
    assert!(
        home.text().contains("You bought 3 × “Teapot”."),
        "{}",
        home.text()
    );
    assert!(home.text().contains("1 in stock"));
    assert_eq!(stock(&app, id).await, 1);
}

#[tokio::test]
async fn the_buy_form_refuses_posts_without_a_valid_csrf_token() {
    let app = spawn_app().await;
    let id = list_item(&app, "Rug", 2).await;
    let (cookie, _) = app.csrf().await;

    let without = post_buy_form(&app, id, &cookie, "quantity=1").await;
    let wrong = post_buy_form(&app, id, &cookie, "quantity=1&csrf_token=x").await;
    let no_session = app
        .send(
            Method::POST,
            &format!("/items/{id}/buy"),
            &[("content-type", "application/x-www-form-urlencoded")],
            "quantity=1&csrf_token=x",
        )
        .await;

    assert_eq!(without.status, StatusCode::FORBIDDEN);
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert_eq!(no_session.status, StatusCode::SEE_OTHER, "sent to sign in");
    assert_eq!(stock(&app, id).await, 2);
}

#[tokio::test]
async fn the_buy_form_shows_why_a_purchase_failed_on_the_item() {
    let app = spawn_app().await;
    let id = list_item(&app, "Mirror", 1).await;
    let (cookie, token) = app.csrf().await;

    let too_many =
        post_buy_form(&app, id, &cookie, &format!("csrf_token={token}&quantity=2")).await;
    let zero = post_buy_form(&app, id, &cookie, &format!("csrf_token={token}&quantity=0")).await;

    assert_eq!(too_many.status, StatusCode::CONFLICT);
    assert!(too_many.text().contains(&format!(r#"id="buy-error-{id}""#)));
    assert!(too_many.text().contains("Only 1 left in stock."));
    assert_eq!(zero.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(zero.text().contains("Buy at least 1"));
    assert_eq!(stock(&app, id).await, 1);
}

#[tokio::test]
async fn sold_out_items_leave_the_listing_and_stay_reachable_marked_without_a_buy_control() {
    let app = spawn_app().await;
    let id = list_item(&app, "Clock", 1).await;
    let other = list_item(&app, "Watch", 1).await;
    assert_eq!(
        buy(&app, id, r#"{"quantity":1}"#).await.status,
        StatusCode::OK
    );
    let card = format!(r#"id="item-{id}""#);

    let listing = app.get("/").await.text();
    let api = app.get("/api/items").await.json();
    let with_sold_out = app.get("/?sold_out=show").await.text();
    let api_with_sold_out = app.get("/api/items?sold_out=show").await.json();
    let page = app.get(&format!("/items/{id}")).await;

    assert!(!listing.contains(&card), "gone from the default listing");
    assert!(listing.contains(&format!(r#"id="item-{other}""#)));
    assert!(
        listing.contains(r#"href="/?sold_out=show""#),
        "the filter is offered"
    );
    assert_eq!(api["items"].as_array().unwrap().len(), 1);
    assert!(with_sold_out.contains(&card));
    assert!(with_sold_out.contains("Sold out"));
    assert!(!with_sold_out.contains(&format!(r#"action="/items/{id}/buy""#)));
    let sold_out = api_with_sold_out["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["id"] == id)
        .expect("listed with sold_out=show");
    assert_eq!(sold_out["quantity"], 0);
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("Sold out"));
    assert!(
        !page
            .text()
            .contains(&format!(r#"action="/items/{id}/buy""#))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_buyers_of_ten_units_leave_exactly_ten_purchases() {
    let app = spawn_app().await;
    let id = list_item(&app, "Concert ticket", 10).await;

    let buyers = (0..50).map(|_| buy(&app, id, r#"{"quantity":1}"#));
    let responses = join_all(buyers).await;

    let sold = responses
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    let refused = responses
        .iter()
        .filter(|r| r.status == StatusCode::CONFLICT)
        .count();
    println!("50 concurrent buyers of 10 units: {sold} bought, {refused} refused");
    assert_eq!((sold, refused), (10, 40));
    let mut remaining: Vec<i64> = responses
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .map(|r| r.json()["remaining"].as_i64().unwrap())
        .collect();
    remaining.sort();
    assert_eq!(
        remaining,
        (0..10).collect::<Vec<_>>(),
        "each unit sold once"
    );
    assert_eq!(stock(&app, id).await, 0);
    assert_eq!(purchases(&app, id).await, 10);
}

#[tokio::test]
async fn a_buy_from_an_older_page_answers_on_that_page() {
    let app = spawn_app().await;
    let oldest = list_item(&app, "Oldest chair", 1).await;
    app.db
        .execute(
            "INSERT INTO items (name, quantity, price_cents, description)
             SELECT 'Newer ' || n, 1, 100, 'For sale' FROM generate_series(1, 50) AS n",
            &[],
        )
        .await
        .unwrap();
    let older_page = format!("/?before={}", oldest + 1);
    let (cookie, token) = app.csrf().await;
    let page = app
        .send(Method::GET, &older_page, &[("cookie", &cookie)], "")
        .await
        .text();
    assert!(
        page.contains(&format!(r#"name="before" value="{}""#, oldest + 1)),
        "the buy form says which page it is on: {page}"
    );
    let form = |quantity: u32| {
        format!(
            "csrf_token={token}&quantity={quantity}&before={}",
            oldest + 1
        )
    };

    let too_many = post_buy_form(&app, oldest, &cookie, &form(2)).await;
    let bought = post_buy_form(&app, oldest, &cookie, &form(1)).await;

    assert_eq!(too_many.status, StatusCode::CONFLICT);
    let html = too_many.text();
    assert!(html.contains("Older items"), "the older page again: {html}");
    assert!(html.contains(&format!(r#"id="buy-error-{oldest}""#)));
    assert!(html.contains("Only 1 left in stock."));
    assert_eq!(bought.status, StatusCode::SEE_OTHER);
    assert_eq!(bought.header("location"), Some(older_page.as_str()));
    let notice = bought.cookie("notice").expect("a notice cookie");
    let back = app
        .send(
            Method::GET,
            &older_page,
            &[("cookie", &format!("{cookie}; {notice}"))],
            "",
        )
        .await
        .text();
    assert!(back.contains("You bought 1 × “Oldest chair”."), "{back}");
    assert!(
        !back.contains(&format!(r#"id="item-{oldest}""#)),
        "sold out, so it left the listing"
    );
}

#[tokio::test]
async fn a_failed_buy_of_an_item_the_page_does_not_show_is_reported_at_the_top() {
    let app = spawn_app().await;
    let (cookie, token) = app.csrf().await;

    let response = post_buy_form(
        &app,
        424_242,
        &cookie,
        &format!("csrf_token={token}&quantity=1"),
    )
    .await;

    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert!(
        response.text().contains(
            r#"<p class="alert" id="buy-error" role="alert">This item is no longer for sale.</p>"#
        ),
        "{}",
        response.text()
    );
}
