use hyper::{Method, StatusCode};
use market_tests::testing::{json_headers, shopper, spawn_app};

use crate::assert_no_internals;

#[tokio::test]
async fn a_broken_schema_gives_a_500_that_shows_no_internals() {
    let app = spawn_app().await;
    app.db
        .batch_execute("ALTER TABLE items RENAME COLUMN description TO details")
        .await
        .unwrap();

    let page = app.get("/").await;
    let list = app.get("/api/items").await;
    let create = app
        .post_json(
            "/api/items",
            r#"{"name":"n","quantity":1,"price":"9.99","description":"d"}"#,
        )
        .await;

    assert_eq!(page.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(page.text().contains("Something went wrong on our side"));
    for response in [&page, &list, &create] {
        assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_no_internals(&response.text());
        assert!(!response.text().contains("details"), "{}", response.text());
    }
}

#[tokio::test]
async fn error_responses_show_no_sql_connection_strings_or_panics() {
    let app = spawn_app().await;
    let json = json_headers();
    let responses = [
        app.post_json("/api/items", "{").await,
        app.post_json(
            "/api/items",
            r#"{"name":"'; DROP TABLE items; --","quantity":"1; SELECT 1"}"#,
        )
        .await,
        app.send(Method::POST, "/api/items", &[], "x").await,
        app.send(Method::POST, "/api/items", &json, "x".repeat(70_000))
            .await,
        app.get("/api/items?limit=1%27%20OR%201=1").await,
        app.get("/api/items/1%20OR%201=1").await,
        app.get("/?before=1%27--").await,
        app.send(
            Method::POST,
            "/items",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("cookie", &shopper().session_cookie()),
            ],
            "name=x",
        )
        .await,
        app.send(Method::PATCH, "/api/items", &[], "").await,
    ];
    for response in responses {
        assert!(
            response.status.is_client_error(),
            "{}: {}",
            response.status,
            response.text()
        );
        assert_no_internals(&response.text());
    }
    assert_eq!(app.item_count().await, 0);
}
