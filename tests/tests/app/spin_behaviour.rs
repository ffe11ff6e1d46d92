//! What the app relies on from Spin itself: allowed hosts, its own health endpoint,
//! its `spin-*` headers, connection pooling, HEAD.

use std::collections::HashMap;

use hyper::{Method, StatusCode};
use market_tests::testing::{spawn_app, spawn_app_with_variables};

#[tokio::test]
async fn spin_refuses_a_db_url_whose_host_is_not_allowed() {
    // The manifest allows only postgres://{{ db_host }}:{{ db_port }}; point it elsewhere.
    let app =
        spawn_app_with_variables(HashMap::from([("db_host", "db.internal".to_owned())])).await;

    let list = app.get("/api/items").await;
    let ready = app.get("/health/ready").await;

    // A deployment mistake, not an outage: 500 (no Retry-After); readiness names it.
    assert_eq!(
        list.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        list.text()
    );
    assert!(list.header("retry-after").is_none());
    assert_eq!(ready.json()["failed"], "database");
    assert_eq!(
        app.open_pg_connections().await,
        0,
        "no connection was attempted"
    );
}

#[tokio::test]
async fn spins_own_health_endpoint_answers_and_other_well_known_paths_do_not() {
    let app = spawn_app().await;
    let health = app.get("/.well-known/spin/health").await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.text(), "OK");
    assert_eq!(
        app.get("/.well-known/spin/secret").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn client_sent_spin_headers_change_nothing() {
    let app = spawn_app().await;
    let spoofed = [
        ("spin-full-url", "http://evil.example/api/items"),
        ("spin-path-info", "/../../etc/passwd"),
        ("spin-client-addr", "10.0.0.1:1"),
    ];

    let response = app.send(Method::GET, "/", &spoofed, "").await;

    assert_eq!(response.status, StatusCode::OK);
    assert!(response.text().contains("Sell an item"));
}

#[tokio::test]
async fn postgres_connections_are_pooled_across_requests() {
    let app = spawn_app().await;
    for _ in 0..20 {
        assert_eq!(app.get("/api/items").await.status, StatusCode::OK);
    }
    // One component, one connection string, sequential requests: one pooled connection.
    assert_eq!(app.open_pg_connections().await, 1);
}

#[tokio::test]
async fn head_requests_get_headers_without_a_body() {
    let app = spawn_app().await;
    let response = app.send(Method::HEAD, "/", &[], "").await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.body.is_empty());
}
