//! Listings that belong to their seller and purchases to their buyer, under the real
//! Spin: changing and withdrawing a listing, items from before accounts, a buy at a price
//! that changed, "My purchases" and "My listings", and API tokens shown once.

use hyper::{Method, StatusCode};
use market_tests::shop::{ApiItem, list_item, stock};
use market_tests::testing::{
    TestApp, TestPerson, connect, create_database_with, merchant, shopper, shown_token, spawn_app,
};
use migrations::MIGRATIONS;

use crate::assert_no_internals;

/// `PATCH` or `DELETE /api/items/{id}` with `person`'s token.
async fn api_as(
    app: &TestApp,
    person: &TestPerson,
    method: Method,
    id: i64,
    body: &str,
) -> market_tests::testing::TestResponse {
    app.send(
        method,
        &format!("/api/items/{id}"),
        &[
            ("content-type", "application/json"),
            ("authorization", &person.bearer()),
        ],
        body.to_owned(),
    )
    .await
}

#[tokio::test]
async fn a_seller_changes_price_stock_and_description_but_not_the_name() {
    let app = spawn_app().await;
    // `list_item` lists as the merchant: they are the seller here.
    let seller = merchant();
    let id = list_item(&app, "Teapot", 2).await;
    let session = seller.session_cookie();

    let form = app
        .get_with_cookie(&format!("/items/{id}/edit"), &session)
        .await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.text().contains(r#"value="9.99""#),
        "filled in with what it says now"
    );
    let wrong = app
        .post_form(
            Some(&session),
            &format!("/items/{id}/edit"),
            &[
                ("quantity", "-1"),
                ("price", "1.005"),
                ("description", "Kept as typed"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = wrong.text();
    assert!(html.contains(r#"id="quantity-error""#) && html.contains(r#"id="price-error""#));
    assert!(html.contains("Kept as typed"));
    assert_eq!(stock(&app, id).await, 2, "nothing half-written");

    let saved = app
        .post_form(
            Some(&session),
            &format!("/items/{id}/edit"),
            &[
                ("quantity", "7"),
                ("price", "12.50"),
                ("description", "Now with a lid"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert_eq!(
        saved.header("location"),
        Some(format!("/items/{id}").as_str())
    );
    let item = app.get(&format!("/api/items/{id}")).await.json();
    assert_eq!(item["quantity"], 7);
    assert_eq!(item["price"]["amount"], "12.50");
    assert_eq!(item["description"], "Now with a lid");
    assert_eq!(item["name"], "Teapot");
    assert_eq!(item["seller"], "Merchant");

    let by_api = api_as(
        &app,
        seller,
        Method::PATCH,
        id,
        r#"{"quantity":3,"price":"8.00","description":"Through the API","name":"Renamed"}"#,
    )
    .await;
    assert_eq!(by_api.status, StatusCode::OK, "{}", by_api.text());
    assert_eq!(by_api.json()["price"]["amount"], "8.00");
    assert_eq!(by_api.json()["name"], "Teapot", "the name stays");
    let home = app.get("/").await.text();
    assert!(
        home.contains("8.00 EUR") && home.contains("3 in stock"),
        "the cache shows it"
    );
    let invalid = api_as(&app, seller, Method::PATCH, id, r#"{"quantity":3}"#).await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(invalid.json()["errors"]["price"].is_string());
}

#[tokio::test]
async fn a_withdrawn_item_leaves_the_listing_and_search_says_so_on_its_page_and_is_not_sold() {
    let app = spawn_app().await;
    let kept = list_item(&app, "Kept kettle", 2).await;
    let id = list_item(&app, "Withdrawn kettle", 2).await;
    app.get("/").await;
    // The merchant (`list_item`'s seller) withdraws it; the shopper then tries to buy it.
    let seller = merchant();

    let withdrawn = app
        .post_form(
            Some(&seller.session_cookie()),
            &format!("/items/{id}/withdraw"),
            &[],
        )
        .await;
    assert_eq!(withdrawn.status, StatusCode::SEE_OTHER);
    let again = api_as(&app, seller, Method::DELETE, id, "").await;
    assert_eq!(
        again.status,
        StatusCode::NO_CONTENT,
        "withdrawing again changes nothing"
    );

    for path in [
        "/",
        "/?q=kettle",
        "/?sold_out=show",
        "/api/items",
        "/api/items?q=kettle",
    ] {
        let body = app.get(path).await.text();
        assert!(!body.contains("Withdrawn kettle"), "{path} still lists it");
        assert!(body.contains("Kept kettle"), "{path}");
    }
    let page = app.get(&format!("/items/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("withdrawn by its seller"));
    assert!(
        !page
            .text()
            .contains(&format!(r#"action="/items/{id}/buy""#))
    );
    assert_eq!(
        app.get(&format!("/api/items/{id}")).await.json()["withdrawn"],
        true
    );

    let by_form = app
        .post_form(
            Some(&shopper().session_cookie()),
            &format!("/items/{id}/buy"),
            &[("quantity", "1"), ("back", "item")],
        )
        .await;
    let by_api = app
        .post_json(&format!("/api/items/{id}/buy"), r#"{"quantity":1}"#)
        .await;
    for refused in [&by_form, &by_api] {
        assert_eq!(refused.status, StatusCode::CONFLICT);
        assert!(refused.text().contains("withdrawn by its seller"));
    }
    let change = api_as(
        &app,
        seller,
        Method::PATCH,
        id,
        r#"{"quantity":3,"price":"8.00","description":"d"}"#,
    )
    .await;
    assert_eq!(change.status, StatusCode::CONFLICT);
    assert_eq!(stock(&app, id).await, 2);
    assert_eq!(stock(&app, kept).await, 2);
}

#[tokio::test]
async fn a_buy_at_a_price_that_changed_since_the_page_was_shown_is_refused_with_the_new_price() {
    let app = spawn_app().await;
    let id = list_item(&app, "Clock", 3).await;
    let buyer = app.add_person("Buyer").await;
    let page = app
        .get_with_cookie(&format!("/items/{id}"), &buyer.session_cookie())
        .await
        .text();
    assert!(
        page.contains(r#"name="shown_price" value="9.99""#),
        "the form carries it"
    );
    // Its seller (the merchant: `list_item`) changes the price.
    let changed = api_as(
        &app,
        merchant(),
        Method::PATCH,
        id,
        r#"{"quantity":3,"price":"12.00","description":"Dearer now"}"#,
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());

    let by_form = app
        .post_form(
            Some(&buyer.session_cookie()),
            &format!("/items/{id}/buy"),
            &[("quantity", "1"), ("shown_price", "9.99"), ("back", "item")],
        )
        .await;
    assert_eq!(by_form.status, StatusCode::CONFLICT);
    assert!(
        by_form.text().contains("The price changed to 12.00 EUR"),
        "{}",
        by_form.text()
    );
    assert!(
        by_form
            .text()
            .contains(r#"name="shown_price" value="12.00""#),
        "buy again"
    );
    let by_api = app
        .send(
            Method::POST,
            &format!("/api/items/{id}/buy"),
            &[
                ("content-type", "application/json"),
                ("authorization", &buyer.bearer()),
            ],
            r#"{"quantity":1,"price":"9.99"}"#,
        )
        .await;
    assert_eq!(by_api.status, StatusCode::CONFLICT);
    assert!(
        by_api.json()["error"]
            .as_str()
            .unwrap()
            .contains("12.00 EUR")
    );
    assert_eq!(stock(&app, id).await, 3, "nothing bought");

    let at_new_price = app
        .post_form(
            Some(&buyer.session_cookie()),
            &format!("/items/{id}/buy"),
            &[
                ("quantity", "1"),
                ("shown_price", "12.00"),
                ("back", "item"),
            ],
        )
        .await;
    assert_eq!(at_new_price.status, StatusCode::SEE_OTHER);
    let paid: i64 = app
        .db
        .query_one(
            "SELECT price_cents FROM purchases WHERE item_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(paid, 1200, "the purchase keeps what was paid");
}

#[tokio::test]
async fn my_purchases_lists_what_a_person_bought_newest_first_a_page_at_a_time() {
    let app = spawn_app().await;
    let buyer = app.add_person("Collector").await;
    let id = list_item(&app, "Stamp", 60).await;
    let other = list_item(&app, "Postcard", 5).await;
    for _ in 0..51 {
        let bought = app
            .send(
                Method::POST,
                &format!("/api/items/{id}/buy"),
                &[
                    ("content-type", "application/json"),
                    ("authorization", &buyer.bearer()),
                ],
                r#"{"quantity":1}"#,
            )
            .await;
        assert_eq!(bought.status, StatusCode::OK);
    }
    app.post_json(&format!("/api/items/{other}/buy"), r#"{"quantity":2}"#)
        .await;

    let first = app
        .get_with_cookie("/account/purchases", &buyer.session_cookie())
        .await;
    assert_eq!(first.status, StatusCode::OK);
    let html = first.text();
    assert_eq!(html.matches(r#"<tr id="purchase-"#).count(), 50);
    assert!(!html.contains("Postcard"), "only their own purchases");
    assert!(html.contains("9.99 EUR"));
    let ids: Vec<i64> = html
        .split(r#"<tr id="purchase-"#)
        .skip(1)
        .map(|row| row.split('"').next().unwrap().parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|pair| pair[0] > pair[1]), "newest first");
    let older = format!("/account/purchases?before={}", ids.last().unwrap());
    assert!(
        html.contains(&older.replace('&', "&amp;")),
        "a link to the older page"
    );
    let second = app
        .get_with_cookie(&older, &buyer.session_cookie())
        .await
        .text();
    assert_eq!(second.matches(r#"<tr id="purchase-"#).count(), 1);
    let signed_out = app.get("/account/purchases").await;
    assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn my_listings_shows_a_seller_their_stock_and_what_sold() {
    let app = spawn_app().await;
    let seller = app.add_person("Seller").await;
    let create = async |name: &str| -> i64 {
        let body = ApiItem::named(name).quantity(4).json();
        let bearer = seller.bearer();
        let created = app
            .send(
                Method::POST,
                "/api/items",
                &[
                    ("content-type", "application/json"),
                    ("authorization", &bearer),
                ],
                body,
            )
            .await;
        created.json()["id"].as_i64().unwrap()
    };
    let chair = create("Chair").await;
    let table = create("Table").await;
    app.post_json(&format!("/api/items/{chair}/buy"), r#"{"quantity":3}"#)
        .await;
    api_as(&app, &seller, Method::DELETE, table, "").await;
    list_item(&app, "Someone else's", 1).await;

    let page = app
        .get_with_cookie("/account/listings", &seller.session_cookie())
        .await
        .text();
    let row = |id: i64| {
        let start = page.find(&format!(r#"<tr id="listing-{id}""#)).unwrap();
        page[start..].split("</tr>").next().unwrap().to_owned()
    };
    let (chair_row, table_row) = (row(chair), row(table));
    assert!(
        chair_row.contains("<td>1</td><td>3</td>"),
        "1 left, 3 sold: {chair_row}"
    );
    assert!(table_row.contains("Withdrawn"), "{table_row}");
    assert!(!page.contains("Someone else"));
}

#[tokio::test]
async fn items_listed_before_accounts_stay_listed_and_buyable_and_nobody_can_change_them() {
    let app = spawn_app().await;
    // The migration to accounts on a database that already holds an item and a purchase.
    let (server, query) = app.db_url.rsplit_once('/').unwrap();
    let admin_url = format!("{server}/postgres?{}", query.split_once('?').unwrap().1);
    let before_accounts = MIGRATIONS
        .iter()
        .position(|m| m.name == "create_accounts_and_owners")
        .unwrap();
    let old_url = create_database_with(&admin_url, &MIGRATIONS[..before_accounts]).await;
    let mut old = connect(&old_url).await;
    old.batch_execute(
        "INSERT INTO items (name, quantity, price_cents, description)
         VALUES ('Heirloom', 2, 500, 'Listed long ago');
         INSERT INTO purchases (item_id, quantity, remaining)
         SELECT id, 1, 2 FROM items",
    )
    .await
    .unwrap();
    migrations::apply(&mut old).await.unwrap();
    let row = old
        .query_one(
            "SELECT seller_id IS NULL, withdrawn_at IS NULL,
                    (SELECT buyer_id IS NULL AND price_cents IS NULL FROM purchases)
             FROM items",
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0) && row.get::<_, bool>(1) && row.get::<_, bool>(2));

    // The same kind of row in the app's database: listed, buyable, nobody's to change.
    let id: i64 = app
        .db
        .query_one(
            "INSERT INTO items (name, quantity, price_cents, description)
             VALUES ('Heirloom', 2, 500, 'Listed long ago') RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let home = app.get("/").await.text();
    assert!(home.contains("Heirloom"));
    let page = app
        .get_with_cookie(&format!("/items/{id}"), &shopper().session_cookie())
        .await;
    assert!(!page.text().contains(" by "), "no seller to show");
    assert!(
        !page.text().contains("seller-actions"),
        "nobody may change it"
    );
    for (method, body) in [
        (
            Method::PATCH,
            r#"{"quantity":9,"price":"1.00","description":"mine now"}"#,
        ),
        (Method::DELETE, ""),
    ] {
        let response = api_as(&app, shopper(), method.clone(), id, body).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{method}");
        assert_no_internals(&response.text());
    }
    let bought = app
        .post_json(&format!("/api/items/{id}/buy"), r#"{"quantity":1}"#)
        .await;
    assert_eq!(bought.status, StatusCode::OK);
    assert_eq!(stock(&app, id).await, 1);
}

#[tokio::test]
async fn a_token_is_shown_once_stored_as_a_digest_and_works_until_revoked() {
    let app = spawn_app().await;
    let person = app.add_person("Scripter").await;
    let session = person.session_cookie();
    let created = app
        .post_form(
            Some(&session),
            "/account/tokens",
            &[("token_name", "stock script")],
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let token = shown_token(&created.text()).unwrap();
    assert!(token.starts_with("mkt_") && token.len() == 68, "{token}");
    let account = app.get_with_cookie("/account", &session).await.text();
    assert!(
        account.contains("stock script") && !account.contains(&token),
        "shown once"
    );
    let stored: i64 = app
        .db
        .query_one(
            "SELECT count(*) FROM api_tokens WHERE token_hash = $1 OR name = $1",
            &[&token],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, 0, "never stored as it is");

    let list = |token: String| {
        let app = &app;
        async move {
            app.send(
                Method::POST,
                "/api/items",
                &[
                    ("content-type", "application/json"),
                    ("authorization", &format!("Bearer {token}")),
                ],
                ApiItem::named("Scripted").json(),
            )
            .await
            .status
        }
    };
    assert_eq!(list(token.clone()).await, StatusCode::CREATED);
    let id: i64 = app
        .db
        .query_one("SELECT max(id) FROM api_tokens", &[])
        .await
        .unwrap()
        .get(0);
    let revoked = app
        .post_form(Some(&session), &format!("/account/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert_eq!(list(token).await, StatusCode::UNAUTHORIZED);
    let account = app.get_with_cookie("/account", &session).await.text();
    assert!(account.contains("Revoked "), "{account}");
    assert!(!app.log().contains("mkt_"), "no token in any log line");
}
