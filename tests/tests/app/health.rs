use std::collections::HashMap;

use hyper::StatusCode;
use market_tests::testing::{spawn_app, spawn_app_with_variables};
use serde_json::json;

#[tokio::test]
async fn liveness_answers_200() {
    let app = spawn_app().await;
    let response = app.get("/health").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json(), json!({ "status": "ok" }));
}

#[tokio::test]
async fn readiness_is_200_when_postgres_answers_and_the_schema_is_current() {
    let app = spawn_app().await;
    let response = app.get("/health/ready").await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.json()["status"], "ready");
}

#[tokio::test]
async fn readiness_names_the_schema_check_when_migrations_are_missing() {
    let app = spawn_app().await;
    app.db
        .batch_execute("DELETE FROM schema_migrations")
        .await
        .unwrap();

    let behind = app.get("/health/ready").await;

    assert_eq!(behind.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(behind.json()["failed"], "schema");
    assert!(behind.header("retry-after").is_some());
    app.db
        .batch_execute("DROP TABLE schema_migrations")
        .await
        .unwrap();
    let missing = app.get("/health/ready").await;
    assert_eq!(missing.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(missing.json()["failed"], "schema");
    crate::assert_no_internals(&missing.text());
}

#[tokio::test]
async fn liveness_stays_200_and_readiness_names_the_database_when_it_is_unreachable() {
    let unused_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = spawn_app_with_variables(HashMap::from([
        (
            "db_url",
            format!("postgres://postgres@127.0.0.1:{unused_port}/x?sslmode=disable"),
        ),
        ("db_port", unused_port.to_string()),
    ]))
    .await;

    assert_eq!(app.get("/health").await.status, StatusCode::OK);
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.json()["failed"], "database");
    crate::assert_no_internals(&ready.text());
}

#[tokio::test]
async fn readiness_connects_with_a_connection_string_of_its_own_so_it_never_queues_behind_pages() {
    let app = spawn_app().await;
    assert_eq!(app.get("/").await.status, StatusCode::OK);

    assert_eq!(app.get("/health/ready").await.status, StatusCode::OK);

    // Spin pools per connection string: the readiness check's differs by its
    // application_name, which Postgres shows for each of Spin's open connections.
    let names: Vec<String> = app
        .db
        .query(
            "SELECT DISTINCT application_name FROM pg_stat_activity
             WHERE datname = current_database() AND usename = $1",
            &[&migrations::APP_ROLE],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert!(
        names.contains(&market::storage::config::READINESS_APPLICATION_NAME.to_owned()),
        "{names:?}"
    );
    assert!(
        names.iter().any(|name| name.is_empty()),
        "the pages' own pool: {names:?}"
    );
}
