//! The listing cache: reads served without Postgres, and never a stale listing after a
//! write has been answered.

use std::collections::HashMap;

use hyper::StatusCode;
use market_tests::testing::{TestApp, merchant, spawn_app, spawn_app_with_variables};
use serde_json::json;

use market_tests::shop::{list_item, race_readers_and_writers};

/// Reads the home page and the API's default page once each: each rendering is cached
/// under its own key.
async fn fill_the_cache(app: &TestApp) {
    for path in ["/", "/api/items"] {
        assert_eq!(app.get(path).await.status, StatusCode::OK, "{path} fills");
    }
}

#[tokio::test]
async fn a_cached_first_page_is_served_without_touching_postgres() {
    let app = spawn_app().await;
    list_item(&app, "Cached", 1).await;
    // The API's default page is the home page's first page, cached rendered for each.
    fill_the_cache(&app).await;

    let before = app.pg_work().await;
    for path in ["/", "/", "/api/items?limit=50", "/api/items"] {
        assert_eq!(app.get(path).await.status, StatusCode::OK);
    }
    let after = app.pg_work().await;

    assert_eq!(after, before, "no pool checkout, no statement");
}

#[tokio::test]
async fn on_a_fresh_store_the_first_read_fills_the_cache() {
    // No write before: the store has no key yet (a write would leave tombstones).
    let app = spawn_app().await;
    fill_the_cache(&app).await;

    let before = app.pg_work().await;
    for path in ["/", "/api/items"] {
        assert_eq!(app.get(path).await.status, StatusCode::OK);
    }
    assert_eq!(app.pg_work().await, before, "served from the cache");
}

#[tokio::test]
async fn with_the_cache_off_every_read_goes_to_postgres() {
    let app = spawn_app_with_variables(HashMap::from([("listing_cache", "off".to_owned())])).await;
    list_item(&app, "Uncached", 1).await;
    let before = app.pg_work().await;
    for _ in 0..3 {
        assert!(app.get("/").await.text().contains("Uncached"));
    }
    assert_eq!(app.pg_work().await.statements - before.statements, 3);
}

#[tokio::test]
async fn a_write_is_visible_on_the_very_next_read_from_any_client() {
    let app = spawn_app().await;
    for n in 0..20 {
        let name = format!("Fresh {n}");
        let created = app
            .post_json(
                "/api/items",
                &json!({"name": name, "quantity": 3, "price": "9.99", "description": "d"})
                    .to_string(),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED);
        let id = created.json()["id"].as_i64().unwrap();

        let page = app.get("/").await.text();
        let api = app.get("/api/items?limit=50").await.json();

        assert!(
            page.contains(&name),
            "round {n}: the home page shows the new item"
        );
        assert_eq!(
            api["items"][0]["name"],
            name.as_str(),
            "round {n}: so does the API"
        );

        // Another client buys (nobody buys their own listing).
        let bought = app
            .post_json_as(
                merchant(),
                &format!("/api/items/{id}/buy"),
                r#"{"quantity":2}"#,
            )
            .await;
        assert_eq!(bought.status, StatusCode::OK, "{}", bought.text());
        assert_eq!(
            app.get("/api/items?limit=50").await.json()["items"][0]["quantity"],
            1,
            "round {n}: the purchase shows"
        );
    }
}

/// Readers that miss the cache read Postgres and install what they read; a reader that
/// read just before a write committed must not leave its older page behind. Readers
/// keep missing and refilling while writes come one after another; after each
/// acknowledged write, the next read must show it. (With the page installed without
/// compare-and-swap, this failed in 3 runs of 3; over Redis, in 1 of 2.)
#[tokio::test]
async fn readers_racing_writers_never_leave_an_older_page_in_the_cache() {
    let app = spawn_app().await;
    race_readers_and_writers(&[app.addr()]).await;
}

#[tokio::test]
async fn searches_and_the_sold_out_listing_always_ask_postgres_while_the_first_page_stays_cached() {
    let app = spawn_app().await;
    list_item(&app, "Lamp", 1).await;
    fill_the_cache(&app).await;

    let before = app.pg_work().await;
    for path in ["/", "/api/items"] {
        assert_eq!(app.get(path).await.status, StatusCode::OK);
    }
    let cached = app.pg_work().await;
    for path in ["/?q=lamp", "/api/items?q=lamp", "/?sold_out=show"] {
        assert_eq!(app.get(path).await.status, StatusCode::OK);
    }
    let uncached = app.pg_work().await;

    assert_eq!(cached, before, "the first page comes from the cache");
    assert_eq!(
        uncached.statements - cached.statements,
        3,
        "one statement each"
    );
}
