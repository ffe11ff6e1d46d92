use std::time::{Duration, Instant};

use hyper::{Method, StatusCode};
use spin_harness::testing::{TestApp, spawn_app_with_own_cluster};

use crate::assert_no_internals;

/// How long any request may take while Postgres is down before we call it a hang.
const NO_HANG: Duration = Duration::from_secs(10);

async fn within_bound(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> spin_harness::testing::TestResponse {
    tokio::time::timeout(
        NO_HANG,
        app.send(method.clone(), path, headers, body.to_owned()),
    )
    .await
    .unwrap_or_else(|_| panic!("{method} {path} hung while Postgres was down"))
}

#[tokio::test]
async fn when_postgres_stops_requests_get_503_and_the_app_recovers_by_itself() {
    let app = spawn_app_with_own_cluster().await;
    let cluster = app.own_cluster.as_ref().unwrap();
    let before = app
        .post_json(
            "/api/items",
            r#"{"name":"Kept","quantity":1,"description":"Stored before the outage"}"#,
        )
        .await;
    assert_eq!(before.status, StatusCode::CREATED);
    assert_eq!(app.get("/health/ready").await.status, StatusCode::OK);

    cluster.stop().unwrap();

    let page = within_bound(&app, Method::GET, "/", &[], "").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.header("retry-after").is_some());
    assert!(page.text().contains("briefly unavailable"));
    assert_no_internals(&page.text());
    let json = [("content-type", "application/json")];
    let list = within_bound(&app, Method::GET, "/api/items", &[], "").await;
    let create = within_bound(
        &app,
        Method::POST,
        "/api/items",
        &json,
        r#"{"name":"Lost","quantity":1,"description":"d"}"#,
    )
    .await;
    for response in [&list, &create] {
        assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.header("retry-after").is_some());
        assert!(response.json()["error"].is_string());
        assert_no_internals(&response.text());
    }
    let token = "0f".repeat(32);
    let form = within_bound(
        &app,
        Method::POST,
        "/items",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("cookie", &format!("csrf={token}")),
        ],
        &format!("csrf_token={token}&name=Lost&quantity=1&description=d"),
    )
    .await;
    assert_eq!(form.status, StatusCode::SERVICE_UNAVAILABLE);
    let ready = within_bound(&app, Method::GET, "/health/ready", &[], "").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.json()["failed"], "database");
    assert_eq!(app.get("/health").await.status, StatusCode::OK);

    cluster.start_server().unwrap();
    let restarted = Instant::now();
    while app.get("/health/ready").await.status != StatusCode::OK {
        assert!(
            restarted.elapsed() < Duration::from_secs(30),
            "readiness did not recover"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "readiness recovered {:?} after Postgres was back",
        restarted.elapsed()
    );

    let after = app
        .post_json(
            "/api/items",
            r#"{"name":"After","quantity":1,"description":"Stored after the outage"}"#,
        )
        .await;
    assert_eq!(after.status, StatusCode::CREATED);
    let items = app.get("/api/items").await.json();
    let names: Vec<&str> = items["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["After", "Kept"],
        "acknowledged writes kept, refused ones absent"
    );
}
