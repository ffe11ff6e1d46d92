//! What makes it a shop people would use: prices, an item page, search, and sold-out
//! items out of the way; under the real Spin.

use std::collections::HashMap;

use hyper::{Method, StatusCode};
use market_tests::testing::{TestApp, shopper, spawn_app, spawn_app_with_variables};
use serde_json::json;

use market::domain::listing::{Listing, SearchTerms};
use market::storage::sql;

use crate::assert_no_internals;
use market_tests::shop::{ApiItem, post_buy_form};

/// Lists an item through the API and returns its id.
async fn list(app: &TestApp, name: &str, quantity: i64, price: &str, description: &str) -> i64 {
    let item = ApiItem::named(name)
        .quantity(quantity)
        .price(price)
        .description(description);
    item.list(app).await["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_price_is_entered_on_the_form_and_shown_formatted_on_every_page_and_in_the_api() {
    let app = spawn_app().await;

    let sold = app
        .sell(&[
            ("name", "Grand piano"),
            ("quantity", "1000000"),
            ("price", "1234.5"),
            ("description", "Black, polished."),
        ])
        .await;
    assert_eq!(sold.status, StatusCode::SEE_OTHER);
    let id = app
        .db
        .query_one("SELECT max(id) FROM items", &[])
        .await
        .unwrap()
        .get::<_, i64>(0);

    let home = app.get("/").await.text();
    let page = app.get(&format!("/items/{id}")).await.text();
    let api = app.get(&format!("/api/items/{id}")).await.json();
    let listed = app.get("/api/items").await.json();
    let stored: i64 = app
        .db
        .query_one("SELECT price_cents FROM items WHERE id = $1", &[&id])
        .await
        .unwrap()
        .get(0);

    assert!(home.contains("1,234.50 EUR"), "{home}");
    assert!(home.contains("1,000,000 in stock"));
    assert!(page.contains("1,234.50 EUR per unit"));
    assert!(page.contains("1,000,000 in stock"));
    assert_eq!(
        api["price"],
        json!({"amount": "1234.50", "currency": "EUR"})
    );
    assert_eq!(listed["items"][0]["price"]["amount"], "1234.50");
    assert_eq!(stored, 123_450, "stored exactly, in cents");
}

#[tokio::test]
async fn a_wrong_price_gets_a_message_beside_the_field_with_the_input_kept() {
    let app = spawn_app().await;
    // (price as typed, why it is wrong)
    let cases = [
        ("", "missing"),
        ("12.345", "three decimals"),
        ("-5", "negative"),
        ("1,50", "comma"),
        ("1000000.01", "above the maximum"),
        ("free", "not a number"),
    ];
    for (price, why) in cases {
        let form = app
            .sell(&[
                ("name", "Lamp"),
                ("quantity", "1"),
                ("price", price),
                ("description", "d"),
            ])
            .await;
        let api = app
            .post_json(
                "/api/items",
                &json!({"name": "Lamp", "quantity": 1, "price": price, "description": "d"})
                    .to_string(),
            )
            .await;

        assert_eq!(form.status, StatusCode::UNPROCESSABLE_ENTITY, "{why}");
        let html = form.text();
        assert!(html.contains(r#"id="price-error""#), "{why}");
        assert!(html.contains(r#"aria-describedby="price-error""#), "{why}");
        assert!(
            html.contains(&format!(
                r#"id="price" type="text" name="price" value="{price}""#
            )),
            "{why}: kept"
        );
        assert_eq!(api.status, StatusCode::UNPROCESSABLE_ENTITY, "{why}");
        assert!(api.json()["errors"]["price"].is_string(), "{why}");
    }
    assert_eq!(app.item_count().await, 0);
}

#[tokio::test]
async fn the_shops_currency_is_a_spin_variable() {
    let app = spawn_app_with_variables(HashMap::from([("currency", "CHF".to_owned())])).await;
    let id = list(&app, "Clock", 1, "99", "Cuckoo").await;

    assert!(app.get("/").await.text().contains("99.00 CHF"));
    assert_eq!(
        app.get(&format!("/api/items/{id}")).await.json()["price"]["currency"],
        "CHF"
    );
}

#[tokio::test]
async fn the_item_page_shows_the_item_and_an_unknown_id_gets_the_404_page() {
    let app = spawn_app().await;
    let id = list(&app, "Brass <lamp>", 3, "15", "With a green shade.").await;

    let page = app.get(&format!("/items/{id}")).await;
    let signed_in = app
        .get_with_cookie(&format!("/items/{id}"), &shopper().session_cookie())
        .await;
    let unknown = app.get("/items/999999").await;
    let not_an_id = app.get("/items/lamp").await;
    let home = app.get("/").await.text();

    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(
        html.contains(r#"<h1 id="item-name">Brass &lt;lamp&gt;</h1>"#),
        "{html}"
    );
    assert!(html.contains("15.00 EUR per unit"));
    assert!(html.contains("3 in stock"));
    assert!(html.contains("With a green shade."));
    assert!(html.contains("Listed <time"));
    // Anonymous: no form and no cookie, a way to sign in and come back instead.
    assert!(!html.contains("<form method=\"post\""), "{html}");
    assert!(html.contains(&format!(r#"href="/account/sign-in?next=%2Fitems%2F{id}""#)));
    assert!(page.cookies().is_empty());
    // Signed in: the buy form, with the session's token.
    let html = signed_in.text();
    assert!(html.contains(&format!(r#"action="/items/{id}/buy""#)));
    let token = shopper().csrf_token();
    assert!(html.contains(&format!(r#"name="csrf_token" value="{token}""#)));
    assert!(home.contains(&format!(r#"<a href="/items/{id}">Brass &lt;lamp&gt;</a>"#)));
    for response in [&unknown, &not_an_id] {
        assert_eq!(response.status, StatusCode::NOT_FOUND);
        assert!(
            response
                .text()
                .contains("There is nothing at this address.")
        );
    }
}

#[tokio::test]
async fn a_buy_from_the_item_page_lands_back_on_it_with_the_confirmation_or_the_reason() {
    let app = spawn_app().await;
    let id = list(&app, "Kettle", 2, "30", "Copper.").await;
    let token = shopper().csrf_token();
    let cookie = shopper().session_cookie();
    let form = |quantity: u32| format!("csrf_token={token}&quantity={quantity}&back=item");

    let too_many = post_buy_form(&app, id, &cookie, &form(3)).await;
    let bought = post_buy_form(&app, id, &cookie, &form(2)).await;

    assert_eq!(too_many.status, StatusCode::CONFLICT);
    let html = too_many.text();
    assert!(
        html.contains(r#"<h1 id="item-name">Kettle</h1>"#),
        "the item page again"
    );
    assert!(html.contains("Only 2 left in stock."));
    assert_eq!(bought.status, StatusCode::SEE_OTHER);
    assert_eq!(
        bought.header("location"),
        Some(format!("/items/{id}").as_str())
    );
    let notice = bought.cookie("notice").unwrap();
    let back = app
        .send(
            Method::GET,
            &format!("/items/{id}"),
            &[("cookie", &format!("{cookie}; {notice}"))],
            "",
        )
        .await
        .text();
    assert!(back.contains("You bought 2 × “Kettle”."), "{back}");
    assert!(back.contains("Sold out"));
}

#[tokio::test]
async fn search_finds_words_in_names_and_descriptions_newest_first() {
    let app = spawn_app().await;
    let by_name = list(&app, "Brass lamp", 1, "10", "Old.").await;
    list(&app, "Chair", 1, "10", "Oak.").await;
    let by_description = list(&app, "Desk light", 1, "10", "A reading lamp with a clamp.").await;
    let plural = list(&app, "Two lamps", 1, "10", "A pair.").await;
    let sold_out = list(&app, "Lamp, sold", 1, "10", "Gone.").await;
    app.post_json(&format!("/api/items/{sold_out}/buy"), r#"{"quantity":1}"#)
        .await;

    let page = app.get("/?q=lamp").await;
    let api = app.get("/api/items?q=lamp").await.json();
    let with_sold_out = app.get("/api/items?q=lamp&sold_out=show").await.json();
    let nothing = app.get("/?q=submarine").await;

    let ids = |body: &serde_json::Value| -> Vec<i64> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(
        ids(&api),
        [plural, by_description, by_name],
        "stemmed, newest first, in stock"
    );
    assert_eq!(
        ids(&with_sold_out),
        [sold_out, plural, by_description, by_name]
    );
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(
        html.contains(r#"type="search" name="q" value="lamp""#),
        "kept in the box"
    );
    assert!(html.contains("<h1>Search results for “lamp”</h1>"));
    assert!(html.contains(&format!(r#"id="item-{by_description}""#)));
    assert!(!html.contains("Chair"));
    assert_eq!(nothing.status, StatusCode::OK);
    assert!(
        nothing
            .text()
            .contains("Nothing in stock matches “submarine”.")
    );
}

#[tokio::test]
async fn search_results_page_with_the_query_kept_in_the_older_link() {
    let app = spawn_app().await;
    app.db
        .batch_execute(
            "INSERT INTO items (name, quantity, price_cents, description)
             SELECT 'Teapot ' || n, 1, 500, 'Porcelain.' FROM generate_series(1, 60) AS n;
             INSERT INTO items (name, quantity, price_cents, description)
             SELECT 'Cup ' || n, 1, 200, 'Porcelain.' FROM generate_series(1, 60) AS n",
        )
        .await
        .unwrap();

    let first = app.get("/?q=teapot").await.text();
    let api = app.get("/api/items?q=teapot&limit=50").await.json();
    let cursor = api["next"].as_i64().expect("an older page of matches");
    let second = app.get(&format!("/?q=teapot&before={cursor}")).await.text();
    let api_second = app
        .get(&format!("/api/items?q=teapot&before={cursor}"))
        .await
        .json();

    assert!(
        first.contains(&format!(r#"href="/?q=teapot&amp;before={cursor}""#)),
        "{first}"
    );
    assert_eq!(first.matches("<li class=\"item\"").count(), 50);
    assert_eq!(second.matches("<li class=\"item\"").count(), 10);
    assert!(!second.contains("Cup "), "only matches on older pages too");
    assert_eq!(api_second["items"].as_array().unwrap().len(), 10);
    assert_eq!(api_second["next"], serde_json::Value::Null);
}

#[tokio::test]
async fn hostile_searches_answer_200_or_400_escaped_never_5xx() {
    let app = spawn_app().await;
    list(&app, "Lamp", 1, "10", "Brass.").await;
    let long = "lamp ".repeat(400);
    let cases = [
        ("<script>alert(1)</script>", "markup"),
        ("'; DROP TABLE items; --", "SQL"),
        ("lamp' OR '1'='1", "SQL quote"),
        ("\\ % _ & | ! : * ( )", "tsquery and LIKE metacharacters"),
        ("\"unterminated", "open quote"),
        ("lamp\0brass", "NUL"),
        ("-lamp", "negation only"),
        ("the", "a stop word only"),
        ("ünïcödé 🪔", "unicode"),
        (long.as_str(), "2,000 characters"),
    ];
    for (search, why) in cases {
        let query: String = form_urlencoded::byte_serialize(search.as_bytes()).collect();
        let page = app.get(&format!("/?q={query}")).await;
        let api = app.get(&format!("/api/items?q={query}")).await;

        for response in [&page, &api] {
            assert!(
                response.status == StatusCode::OK || response.status == StatusCode::BAD_REQUEST,
                "{why}: {} {}",
                response.status,
                response.text()
            );
            assert_no_internals(&response.text());
        }
        let html = page.text();
        assert!(!html.contains("<script>alert(1)"), "{why}: escaped");
        if search.chars().count() > 200 {
            assert_eq!(page.status, StatusCode::BAD_REQUEST, "{why}");
            assert!(
                api.json()["error"]
                    .as_str()
                    .unwrap()
                    .contains("200 characters")
            );
        }
    }
    assert_eq!(app.item_count().await, 1, "the table is still there");
}

#[tokio::test]
async fn at_100000_items_search_and_the_in_stock_listing_read_their_indexes() {
    let app = spawn_app().await;
    app.db
        .batch_execute(
            "INSERT INTO items (name, quantity, price_cents, description)
             SELECT 'Item ' || n || CASE WHEN n % 1000 = 0 THEN ' brass lamp' ELSE '' END,
                    n % 7, n, 'Word' || (n % 500) || ' in good condition.'
             FROM generate_series(1, 100000) AS n;
             ANALYZE items",
        )
        .await
        .unwrap();
    let search = |terms: &str| Listing {
        search: SearchTerms::parse(terms).unwrap(),
        include_sold_out: false,
    };
    // (listing, search words, what it shows)
    let cases = [
        (Listing::default(), None, "the in-stock listing"),
        (search("lamp"), Some("lamp"), "a rare word (100 matches)"),
        (
            search("condition"),
            Some("condition"),
            "a word in every item",
        ),
    ];
    for (listing, terms, what) in cases {
        let sql = format!(
            "EXPLAIN (ANALYZE, COSTS OFF) {}",
            sql::list_items_sql(&listing)
        );
        let before = i64::MAX;
        let limit = 51_i64;
        let rows = match terms {
            Some(terms) => app.db.query(&sql, &[&before, &limit, &terms]).await,
            None => app.db.query(&sql, &[&before, &limit]).await,
        }
        .unwrap();
        let plan: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
        let plan = plan.join("\n");
        println!("-- {what}\n{plan}");
        assert!(
            !plan.contains("Seq Scan on items"),
            "{what} reads the whole table:\n{plan}"
        );
    }
}
