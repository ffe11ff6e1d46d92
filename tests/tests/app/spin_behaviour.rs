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

/// Spin leaves Nagle's algorithm on: a response that reaches its socket in two writes
/// waits for the client's delayed ACK (40 ms) before the second. Every response must
/// leave in one write, so one read gets all of it, including the pages that read Spin's
/// key-value store and variables (which made the split happen on nearly every request).
#[tokio::test]
async fn each_response_leaves_spin_in_one_piece() {
    let app = spawn_app().await;
    let created = app
        .post_json(
            "/api/items",
            r#"{"name":"Lamp","quantity":2,"price":"12.50","description":"Brass."}"#,
        )
        .await;
    let id = created.json()["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{}", created.text()));
    let paths = [
        "/".to_owned(),
        "/".to_owned(),
        "/api/items".to_owned(),
        "/api/items".to_owned(),
        format!("/items/{id}"),
        format!("/api/items/{id}"),
        "/?q=lamp".to_owned(),
        "/health/ready".to_owned(),
        "/no/such/page".to_owned(),
    ];
    for path in paths {
        let first_read = read_once(app.addr(), &path).await;
        assert!(
            is_complete_response(&first_read),
            "GET {path}: the first read got {} bytes, not the whole response:\n{}",
            first_read.len(),
            String::from_utf8_lossy(&first_read[..first_read.len().min(600)])
        );
    }
}

/// Sends `GET path` and returns what one read of the socket gets.
async fn read_once(addr: std::net::SocketAddr, path: &str) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to Spin");
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    socket.write_all(request.as_bytes()).await.expect("send");
    let mut buffer = vec![0; 256 * 1024];
    let read = tokio::time::timeout(std::time::Duration::from_secs(15), socket.read(&mut buffer))
        .await
        .expect("an answer within 15 s")
        .expect("read");
    buffer.truncate(read);
    buffer
}

/// Whether `bytes` hold a whole HTTP/1.1 response: the head and all of its body, by
/// `Content-Length` or to the last chunk of a chunked body.
fn is_complete_response(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let header = |name: &str| {
        head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    };
    if let Some(length) = header("content-length") {
        return length
            .parse::<usize>()
            .is_ok_and(|length| body.len() == length);
    }
    header("transfer-encoding").is_some_and(|coding| coding.eq_ignore_ascii_case("chunked"))
        && (body == "0\r\n\r\n" || body.ends_with("\r\n0\r\n\r\n"))
}
