//! Faults: Postgres going away while writes flow, and statements that run too long.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hyper::{Method, StatusCode};
use market_tests::testing::{
    TestApp, TestResponse, connect, item_names, json_headers, shopper, spawn_app,
    spawn_app_with_own_cluster,
};

use crate::assert_no_internals;

/// No request may take longer than this, outage or not.
const NO_HANG: Duration = Duration::from_secs(10);

async fn within_bound(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> TestResponse {
    tokio::time::timeout(
        NO_HANG,
        app.send(method.clone(), path, headers, body.to_owned()),
    )
    .await
    .unwrap_or_else(|_| panic!("{method} {path} took longer than {NO_HANG:?}"))
}

/// How long readiness takes to turn green again after Postgres was started.
async fn readiness_recovery(app: &TestApp) -> Duration {
    let restarted = Instant::now();
    while app.get("/health/ready").await.status != StatusCode::OK {
        assert!(
            restarted.elapsed() < Duration::from_secs(30),
            "readiness did not recover"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    restarted.elapsed()
}

#[tokio::test]
async fn when_postgres_stops_requests_get_503_and_the_app_recovers_by_itself() {
    let app = spawn_app_with_own_cluster().await;
    let cluster = app.own_cluster.as_ref().unwrap();
    let before = app
        .post_json(
            "/api/items",
            r#"{"name":"Kept","quantity":1,"price":"9.99","description":"Stored before the outage"}"#,
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
    let json = json_headers();
    let list = within_bound(&app, Method::GET, "/api/items", &[], "").await;
    let create = within_bound(
        &app,
        Method::POST,
        "/api/items",
        &json,
        r#"{"name":"Lost","quantity":1,"price":"9.99","description":"d"}"#,
    )
    .await;
    for response in [&list, &create] {
        assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.header("retry-after").is_some());
        assert!(response.json()["error"].is_string());
        assert_no_internals(&response.text());
    }
    let token = shopper().csrf_token();
    let form = within_bound(
        &app,
        Method::POST,
        "/items",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("cookie", &shopper().session_cookie()),
        ],
        &format!("csrf_token={token}&name=Lost&quantity=1&price=9.99&description=d"),
    )
    .await;
    assert_eq!(form.status, StatusCode::SERVICE_UNAVAILABLE);
    let ready = within_bound(&app, Method::GET, "/health/ready", &[], "").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.json()["failed"], "database");
    assert_eq!(app.get("/health").await.status, StatusCode::OK);

    cluster.start_server().unwrap();
    let recovery = readiness_recovery(&app).await;
    println!("readiness recovered {recovery:?} after Postgres was back");

    let after = app
        .post_json(
            "/api/items",
            r#"{"name":"After","quantity":1,"price":"9.99","description":"Stored after the outage"}"#,
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

/// What one write got back.
struct Attempt {
    name: String,
    status: StatusCode,
    retry_after: bool,
}

/// Creates items named `{writer}-{n}` one after another until told to stop.
async fn write_until(app: Arc<TestApp>, writer: usize, stop: Arc<AtomicBool>) -> Vec<Attempt> {
    let mut attempts = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let name = format!("w{writer}-{n}");
        let body = format!(
            r#"{{"name":"{name}","quantity":1,"price":"9.99","description":"outage test"}}"#
        );
        let json = json_headers();
        let response = within_bound(&app, Method::POST, "/api/items", &json, &body).await;
        attempts.push(Attempt {
            name,
            status: response.status,
            retry_after: response.header("retry-after").is_some(),
        });
        n += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    attempts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_during_an_outage_are_kept_when_acknowledged_and_absent_when_refused() {
    let app = Arc::new(spawn_app_with_own_cluster().await);
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|writer| tokio::spawn(write_until(app.clone(), writer, stop.clone())))
        .collect();

    tokio::time::sleep(Duration::from_millis(700)).await;
    let cluster = app.own_cluster.as_ref().unwrap();
    cluster.stop().unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let ready_while_down = app.get("/health/ready").await;
    cluster.start_server().unwrap();
    let recovery = readiness_recovery(&app).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    stop.store(true, Ordering::Relaxed);
    let mut attempts = Vec::new();
    for writer in writers {
        attempts.extend(writer.await.unwrap());
    }

    assert_eq!(ready_while_down.status, StatusCode::SERVICE_UNAVAILABLE);
    let acknowledged: HashSet<&str> = attempts
        .iter()
        .filter(|a| a.status == StatusCode::CREATED)
        .map(|a| a.name.as_str())
        .collect();
    let refused: Vec<&Attempt> = attempts
        .iter()
        .filter(|a| a.status != StatusCode::CREATED)
        .collect();
    for attempt in &refused {
        assert_eq!(
            attempt.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{} got {}",
            attempt.name,
            attempt.status
        );
        assert!(attempt.retry_after, "503 without Retry-After");
    }
    assert!(!refused.is_empty(), "the outage was noticed");
    let db = connect(&app.db_url).await;
    let stored = item_names(&db).await;
    let stored: HashSet<&str> = stored.iter().map(String::as_str).collect();
    println!(
        "outage: {} writes, {} acknowledged, {} refused with 503; readiness back {:?} after Postgres restarted",
        attempts.len(),
        acknowledged.len(),
        refused.len(),
        recovery
    );
    assert_eq!(
        stored, acknowledged,
        "every acknowledged write kept, no refused write stored"
    );
}

#[tokio::test]
async fn a_statement_that_runs_too_long_is_cut_off_and_answered_with_503() {
    let app = spawn_app().await;
    app.db
        .batch_execute("BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();

    let started = Instant::now();
    let response = within_bound(&app, Method::GET, "/api/items", &[], "").await;
    let waited = started.elapsed();

    assert_eq!(
        response.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        response.text()
    );
    assert!(response.header("retry-after").is_some());
    assert!(
        waited >= Duration::from_secs(4),
        "cut off by the 5 s timeout, not earlier: {waited:?}"
    );
    assert_no_internals(&response.text());
    app.db.batch_execute("ROLLBACK").await.unwrap();
    let after = app.send(Method::GET, "/api/items", &[], "").await;
    assert_eq!(after.status, StatusCode::OK);
}
