use hyper::{Method, StatusCode};
use market_tests::shop::ApiItem;
use market_tests::testing::{json_headers, merchant, spawn_app};
use serde_json::{Value, json};

const ITEM: &str = r#"{"name":"Desk","quantity":2,"price":"9.99","description":"Oak, 120 cm."}"#;

#[tokio::test]
async fn creating_an_item_returns_201_with_the_stored_item_and_its_location() {
    let app = spawn_app().await;

    let response = app.post_json("/api/items", ITEM).await;

    assert_eq!(response.status, StatusCode::CREATED);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let item = response.json();
    assert_eq!(item["name"], "Desk");
    assert_eq!(item["quantity"], 2);
    assert_eq!(item["description"], "Oak, 120 cm.");
    let id = item["id"].as_i64().expect("numeric id");
    let added = item["date_added"].as_str().unwrap();
    chrono::DateTime::parse_from_rfc3339(added).expect("date_added is RFC 3339");
    let location = response.header("location").unwrap().to_owned();
    assert_eq!(location, format!("/api/items/{id}"));
    let fetched = app.get(&location).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.json(), item);
}

#[tokio::test]
async fn listing_pages_newest_first_with_a_cursor_to_the_next_page() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for n in 1..=3 {
        let item = ApiItem::named(&format!("Item {n}")).quantity(n);
        ids.push(item.list(&app).await["id"].as_i64().unwrap());
    }

    let first = app.get("/api/items?limit=2").await;

    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.header("content-type"), Some("application/json"));
    let first = first.json();
    let names: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Item 3", "Item 2"]);
    assert_eq!(first["next"], json!(ids[1]));
    let second = app
        .get(&format!("/api/items?limit=2&before={}", ids[1]))
        .await
        .json();
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(second["items"][0]["id"], json!(ids[0]));
    assert_eq!(second["next"], Value::Null);
    let all = app.get("/api/items").await.json();
    assert_eq!(
        all["items"].as_array().unwrap().len(),
        3,
        "default limit covers all three"
    );
}

#[tokio::test]
async fn an_empty_shop_lists_no_items_and_no_cursor() {
    let app = spawn_app().await;
    assert_eq!(
        app.get("/api/items").await.json(),
        json!({ "items": [], "next": null })
    );
}

#[tokio::test]
async fn invalid_items_get_422_naming_each_wrong_field_and_store_nothing() {
    let app = spawn_app().await;
    let long = "x".repeat(257);
    // (body, the fields that must be named, why it is invalid)
    let cases = [
        (
            json!({}),
            vec!["description", "name", "price", "quantity"],
            "all fields missing",
        ),
        (
            json!({"name": "", "quantity": 1, "price": "9.99", "description": "d"}),
            vec!["name"],
            "empty name",
        ),
        (
            json!({"name": long, "quantity": 1, "price": "9.99", "description": "d"}),
            vec!["name"],
            "name too long",
        ),
        (
            json!({"name": 5, "quantity": 1, "price": "9.99", "description": "d"}),
            vec!["name"],
            "name not a string",
        ),
        (
            json!({"name": "n", "quantity": -1, "price": "9.99", "description": "d"}),
            vec!["quantity"],
            "negative",
        ),
        (
            json!({"name": "n", "quantity": 1_000_001, "price": "9.99", "description": "d"}),
            vec!["quantity"],
            "above the maximum",
        ),
        (
            json!({"name": "n", "quantity": 2_147_483_648_i64, "price": "9.99", "description": "d"}),
            vec!["quantity"],
            "past i32",
        ),
        (
            json!({"name": "n", "quantity": 1.5, "price": "9.99", "description": "d"}),
            vec!["quantity"],
            "fraction",
        ),
        (
            json!({"name": "n", "quantity": "1", "price": "9.99", "description": "d"}),
            vec!["quantity"],
            "number as a string",
        ),
        (
            json!({"name": "n", "quantity": 1, "price": "9.99", "description": " "}),
            vec!["description"],
            "blank description",
        ),
        (
            json!({"name": "n", "quantity": 1, "price": "9.99", "description": "x".repeat(2001)}),
            vec!["description"],
            "description too long",
        ),
        (
            json!({"name": "a\u{0}b", "quantity": 1, "price": "9.99", "description": "d"}),
            vec!["name"],
            "NUL byte",
        ),
    ];
    for (body, fields, reason) in cases {
        let response = app.post_json("/api/items", &body.to_string()).await;

        assert_eq!(
            response.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{reason}"
        );
        let errors = response.json()["errors"].clone();
        let named: Vec<&str> = errors
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(named, fields, "{reason}");
        assert!(
            errors
                .as_object()
                .unwrap()
                .values()
                .all(|m| m.as_str().is_some_and(|m| !m.is_empty()))
        );
    }
    assert_eq!(app.item_count().await, 0);
}

#[tokio::test]
async fn bodies_that_are_not_json_get_400() {
    let app = spawn_app().await;
    for body in ["", "{", "not json", "[1,2]", "\"Desk\"", "\u{FEFF}{}"] {
        let response = app.post_json("/api/items", body).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{body:?}");
        assert!(response.json()["error"].as_str().is_some());
    }
    let invalid_utf8 = app
        .send(
            Method::POST,
            "/api/items",
            &json_headers(),
            &b"{\"name\":\"\xff\"}"[..],
        )
        .await;
    assert_eq!(invalid_utf8.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.item_count().await, 0);
}

#[tokio::test]
async fn other_content_types_get_415() {
    let app = spawn_app().await;
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/jsonx"),
    ] {
        let headers: Vec<(&str, &str)> = content_type
            .map(|c| ("content-type", c))
            .into_iter()
            .chain([json_headers()[1]])
            .collect();
        let response = app.send(Method::POST, "/api/items", &headers, ITEM).await;
        assert_eq!(
            response.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}"
        );
        assert_eq!(response.header("content-type"), Some("application/json"));
    }
    let with_charset = app
        .send(
            Method::POST,
            "/api/items",
            &[
                ("content-type", "application/json; charset=utf-8"),
                json_headers()[1],
            ],
            ITEM,
        )
        .await;
    assert_eq!(with_charset.status, StatusCode::CREATED);
}

#[tokio::test]
async fn bodies_over_64_kib_get_413_and_smaller_ones_are_read() {
    let app = spawn_app().await;
    let padding = |size: usize| {
        let overhead = r#"{"name":"n","quantity":1,"price":"9.99","description":""}"#.len();
        format!(
            r#"{{"name":"n","quantity":1,"price":"9.99","description":"{}"}}"#,
            " ".repeat(size - overhead)
        )
    };

    let too_large = app.post_json("/api/items", &padding(64 * 1024 + 1)).await;
    let at_limit = app.post_json("/api/items", &padding(64 * 1024)).await;

    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        too_large.json()["error"]
            .as_str()
            .unwrap()
            .contains("64 KiB")
    );
    // Read in full, then refused for its blank description.
    assert_eq!(at_limit.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn invalid_list_queries_get_400_naming_the_parameter() {
    let app = spawn_app().await;
    for (query, parameter) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("before=-4", "before"),
        ("before=x", "before"),
    ] {
        let response = app.get(&format!("/api/items?{query}")).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(
            response.json()["error"]
                .as_str()
                .unwrap()
                .contains(parameter),
            "{query}"
        );
    }
}

#[tokio::test]
async fn unknown_api_paths_get_a_json_404() {
    let app = spawn_app().await;
    for path in [
        "/api",
        "/api/",
        "/api/nope",
        "/api/items/999999",
        "/api/items/abc",
        "/api/items/1/x",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            response.header("content-type"),
            Some("application/json"),
            "{path}"
        );
        assert!(response.json()["error"].is_string());
    }
}

/// A sell and a buy through the API are one statement each, the token's check included,
/// on one connection checkout (whose clean-up is Spin's: at most 7 statements); a
/// revoked token's write is refused by that same statement and writes nothing. The
/// shopper sells, the merchant buys (nobody buys their own listing).
#[tokio::test]
async fn a_sell_and_a_buy_through_the_api_are_one_statement_each_token_check_included() {
    let app = spawn_app().await;
    app.post_json("/api/items", ITEM).await; // a pooled connection to reuse
    let id_of = |response: &market_tests::testing::TestResponse| response.json()["id"].as_i64();

    let before = app.pg_work().await;
    let sold = app.post_json("/api/items", ITEM).await;
    let after_sell = app.pg_work().await;
    let id = id_of(&sold).expect("an item");
    let bought = app
        .post_json_as(
            merchant(),
            &format!("/api/items/{id}/buy"),
            r#"{"quantity":1}"#,
        )
        .await;
    let after_buy = app.pg_work().await;

    assert_eq!(sold.status, StatusCode::CREATED);
    assert_eq!(bought.status, StatusCode::OK, "{}", bought.text());
    for (what, from, to) in [("sell", before, after_sell), ("buy", after_sell, after_buy)] {
        let statements = to.statements - from.statements;
        let clean_up = (to.all_calls - to.statements) - (from.all_calls - from.statements);
        println!("{what}: {statements} statement, {clean_up} of the checkout's clean-up");
        assert_eq!(statements, 1, "{what}");
        assert!(clean_up <= 7, "{what}: one checkout at most ({clean_up})");
    }

    let revoked = app.add_person("Revoked").await;
    app.db
        .execute(
            "UPDATE api_tokens SET revoked_at = now()
             WHERE account_id = (SELECT id FROM accounts WHERE email = $1)",
            &[&revoked.email],
        )
        .await
        .unwrap();
    let items = app.item_count().await;
    for (path, body) in [
        ("/api/items".to_owned(), ITEM),
        (format!("/api/items/{id}/buy"), r#"{"quantity":1}"#),
    ] {
        let bearer = revoked.bearer();
        let headers = [
            ("content-type", "application/json"),
            ("authorization", &bearer),
        ];
        let refused = app.send(Method::POST, &path, &headers, body).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(
            refused
                .header("www-authenticate")
                .is_some_and(|h| h.contains("invalid_token")),
            "{path}"
        );
    }
    assert_eq!(app.item_count().await, items, "nothing listed");
    assert_eq!(
        market_tests::shop::stock(&app, id).await,
        1,
        "nothing bought"
    );
}
