//! The edge holds: the project's nginx (the real binary and config) in front of the real
//! app or of a stand-in upstream. One malformed request never affects anyone else's, no
//! request waits on a frozen dependency beyond the bound, and every error the edge
//! answers itself speaks the app's language.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::join_all;
use hyper::{Method, StatusCode};
use market_tests::nginx::Nginx;
use market_tests::testing::{
    get_at, json_headers, merchant, send_from, send_raw, send_to, spawn_app_with_own_cluster,
    spawn_replicas,
};
use market_tests::upstream::{recording_upstream, slow_upstream};
use serde_json::json;

use crate::assert_no_internals;

/// The longest nginx waits for the app (`proxy_read_timeout`), and a margin for a busy
/// machine: every answer must come within the sum.
const EDGE_BOUND: Duration = Duration::from_secs(6);
const MARGIN: Duration = Duration::from_secs(2);

/// The status code of a raw HTTP answer ("HTTP/1.1 400 Bad Request" → 400), 0 for none.
fn status_of(answer: &str) -> u16 {
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_request_without_a_host_is_answered_and_takes_no_instance_out() {
    let replicas = spawn_replicas(2).await;
    let nginx = Nginx::start_with_upstreams(&Nginx::project_conf_d(), &replicas.addrs()).unwrap();

    let mut not_ok = Vec::new();
    for round in 0..8 {
        let answer = send_raw(nginx.addr, b"GET / HTTP/1.0\r\n\r\n")
            .await
            .unwrap();
        let status = status_of(&answer);
        assert!(
            status == 200 || status == 400,
            "round {round}: a Host-less request got {status}: {answer:.200}"
        );
        for _ in 0..6 {
            let ordinary = get_at(nginx.addr, "/").await;
            if ordinary.status != StatusCode::OK {
                not_ok.push(ordinary.status);
            }
        }
    }

    assert_eq!(
        not_ok,
        Vec::<StatusCode>::new(),
        "ordinary requests alongside were refused"
    );
}

/// The headers nginx forwards to the app, each with a value the edge must refuse.
const FORWARDED: [&str; 6] = [
    "Cookie",
    "Content-Type",
    "Origin",
    "Sec-Fetch-Site",
    "Idempotency-Key",
    "X-Forwarded-For",
];
/// (bytes, why they are refused)
const BAD_BYTES: [(&[u8], &str); 4] = [
    (b"caf\xe9", "Latin-1, not UTF-8"),
    (b"\xff\xfe", "not UTF-8 at all"),
    (b"a\x01b", "a control character"),
    (b"a\x7fb", "DEL"),
];

#[tokio::test]
async fn a_bad_byte_in_a_forwarded_header_gets_400_from_the_edge_and_never_reaches_the_app() {
    let (upstream, recorded) = recording_upstream().await;
    let nginx = Nginx::start(&Nginx::project_conf_d(), upstream).unwrap();

    for header in FORWARDED {
        for (bytes, why) in BAD_BYTES {
            for (path, content_type) in [("/", "text/html"), ("/api/items", "application/json")] {
                let mut request =
                    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{header}: ").into_bytes();
                request.extend_from_slice(bytes);
                request.extend_from_slice(b"\r\nConnection: close\r\n\r\n");

                let answer = send_raw(nginx.addr, &request).await.unwrap();

                assert_eq!(status_of(&answer), 400, "{header} with {why} on {path}");
                assert!(
                    answer.contains(&format!("Content-Type: {content_type}")),
                    "{header} with {why} on {path}: {answer}"
                );
                assert!(answer.contains("a header holds a character that is not allowed"));
            }
        }
    }

    assert_eq!(
        recorded.lock().unwrap().requests.len(),
        0,
        "nothing reached the app"
    );
}

#[tokio::test]
async fn headers_the_app_does_not_read_never_reach_spin_so_a_latin_1_one_is_harmless() {
    let app = spawn_app_with_own_cluster().await;
    let nginx = Nginx::start(&Nginx::project_conf_d(), app.addr()).unwrap();

    for header in ["User-Agent", "Referer", "Accept-Language", "X-Anything"] {
        let mut request = format!("GET / HTTP/1.1\r\nHost: localhost\r\n{header}: ").into_bytes();
        request.extend_from_slice(b"caf\xe9");
        request.extend_from_slice(b"\r\nConnection: close\r\n\r\n");

        let answer = send_raw(nginx.addr, &request).await.unwrap();

        assert_eq!(status_of(&answer), 200, "{header}: {answer:.300}");
    }
    let mut cookie = b"GET /api/items HTTP/1.1\r\nHost: localhost\r\nCookie: csrf=caf\xe9".to_vec();
    cookie.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    let answer = send_raw(nginx.addr, &cookie).await.unwrap();
    assert_eq!(status_of(&answer), 400, "{answer}");
    assert!(
        answer.contains(r#"{"error":"The request is malformed"#),
        "{answer}"
    );
    assert!(
        !app.log().contains("invalid utf-8"),
        "a bad byte reached Spin:\n{}",
        app.log()
    );
}

#[tokio::test]
async fn requests_in_progress_from_one_address_are_capped_while_another_address_is_served() {
    let (upstream, recorded) = slow_upstream(Duration::from_secs(3)).await;
    let nginx = Nginx::start(&Nginx::project_conf_d(), upstream).unwrap();
    let greedy: IpAddr = "127.0.0.2".parse().unwrap();
    let visitor: IpAddr = "127.0.0.3".parse().unwrap();

    // 3,000 connections from one address that never send a request, as in the finding.
    let mut idle = Vec::new();
    for _ in 0..3000 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(greedy, 0)).unwrap();
        idle.push(socket.connect(nginx.addr).await.unwrap());
    }
    // And 100 requests at once from it, each held 3 s by the upstream (at a page the
    // edge cache never keeps: the same anonymous page would be asked of the app once).
    let flood = (0..100).map(|_| {
        send_from(
            Some(greedy),
            nginx.addr,
            Method::GET,
            "/account",
            &[],
            Bytes::new(),
        )
    });
    let visit = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let started = Instant::now();
        let answer = send_from(
            Some(visitor),
            nginx.addr,
            Method::GET,
            "/account",
            &[],
            Bytes::new(),
        )
        .await
        .unwrap();
        (answer, started.elapsed())
    };
    let (flooded, (visited, visit_took)) = tokio::join!(join_all(flood), visit);

    let statuses: Vec<StatusCode> = flooded.iter().map(|r| r.as_ref().unwrap().status).collect();
    let served = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((served, refused), (64, 36), "{statuses:?}");
    let refusal = flooded
        .iter()
        .map(|r| r.as_ref().unwrap())
        .find(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .unwrap();
    assert!(refusal.header("retry-after").is_some());
    assert_eq!(visited.status, StatusCode::OK, "{}", visited.text());
    assert!(visit_took < Duration::from_secs(4), "{visit_took:?}");
    assert_eq!(recorded.lock().unwrap().requests.len(), 65);
    drop(idle);
}

#[tokio::test]
async fn the_edges_own_errors_speak_json_under_the_api_and_html_elsewhere() {
    let (upstream, _) = slow_upstream(EDGE_BOUND + Duration::from_secs(2)).await;
    let slow = Nginx::start(&Nginx::project_conf_d(), upstream).unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let down = Nginx::start(&Nginx::project_conf_d(), closed).unwrap();
    let long_path = |prefix: &str| format!("{prefix}?q={}", "x".repeat(10_000));

    for (prefix, content_type) in [("/", "text/html"), ("/api/items", "application/json")] {
        // (nginx, request, status, whether it says when to retry)
        let too_large = Bytes::from(vec![b'a'; 70_000]);
        let cases: [(&Nginx, Method, String, Bytes, StatusCode, bool); 4] = [
            (
                &down,
                Method::POST,
                prefix.to_owned(),
                too_large,
                StatusCode::PAYLOAD_TOO_LARGE,
                false,
            ),
            (
                &down,
                Method::GET,
                long_path(prefix),
                Bytes::new(),
                StatusCode::URI_TOO_LONG,
                false,
            ),
            (
                &down,
                Method::GET,
                prefix.to_owned(),
                Bytes::new(),
                StatusCode::SERVICE_UNAVAILABLE,
                true,
            ),
            (
                &slow,
                Method::GET,
                prefix.to_owned(),
                Bytes::new(),
                StatusCode::GATEWAY_TIMEOUT,
                true,
            ),
        ];
        for (nginx, method, path, body, status, retry) in cases {
            // A request line too long to read has no path nginx could look at: the
            // site's page, whatever the path.
            let content_type = if status == StatusCode::URI_TOO_LONG {
                "text/html"
            } else {
                content_type
            };
            let started = Instant::now();
            let response = send_to(nginx.addr, method, &path, &[], body).await.unwrap();
            assert_eq!(response.status, status, "{prefix}: {}", response.text());
            assert!(
                started.elapsed() < EDGE_BOUND + MARGIN,
                "{status}: {:?}",
                started.elapsed()
            );
            assert_eq!(
                response.header("content-type"),
                Some(content_type),
                "{status}"
            );
            assert_eq!(response.header("retry-after").is_some(), retry, "{status}");
            let text = response.text();
            assert!(
                !text.contains("nginx"),
                "{status}: nginx's own page: {text}"
            );
            if content_type == "application/json" {
                assert!(response.json()["error"].is_string(), "{status}: {text}");
            } else {
                assert!(
                    text.contains("<title>") && text.contains("href=\"/\""),
                    "{text}"
                );
            }
        }
    }
    // nginx's own refusals: a header too large to read, and the paths it keeps private.
    let huge_cookie = format!("c={}", "x".repeat(10_000));
    let too_large = send_to(
        down.addr,
        Method::GET,
        "/api/items",
        &[("cookie", &huge_cookie)],
        Bytes::new(),
    )
    .await
    .unwrap();
    assert_eq!(
        too_large.status,
        StatusCode::BAD_REQUEST,
        "{}",
        too_large.text()
    );
    assert!(
        too_large.json()["error"].is_string(),
        "{}",
        too_large.text()
    );
    for (path, content_type) in [
        ("/health", "text/html"),
        ("/.well-known/spin/info", "text/html"),
    ] {
        let hidden = get_at(down.addr, path).await;
        assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(hidden.header("content-type"), Some(content_type), "{path}");
        assert!(
            !hidden.text().contains("nginx"),
            "{path}: {}",
            hidden.text()
        );
    }
    let malformed = send_raw(
        down.addr,
        b"GET /api/items HTTP/1.1\r\nHost: localhost\r\nBroken header\r\n\r\n",
    )
    .await
    .unwrap();
    assert_eq!(status_of(&malformed), 400, "{malformed}");
    assert!(
        malformed.contains("Content-Type: application/json"),
        "{malformed}"
    );
}

/// Sends the requests people send while the database is frozen, all at once, and
/// returns each one's status and how long it took.
async fn everything_at_once(addr: SocketAddr, id: i64) -> Vec<(String, StatusCode, Duration)> {
    let item = json!({"name": "Frozen", "quantity": 1, "price": "1.00", "description": "d"});
    let requests = [
        (Method::GET, "/".to_owned(), None, String::new()),
        (Method::GET, format!("/items/{id}"), None, String::new()),
        (Method::GET, "/api/items".to_owned(), None, String::new()),
        (Method::GET, "/?q=lamp".to_owned(), None, String::new()),
        (
            Method::POST,
            "/api/items".to_owned(),
            Some("frozen-1"),
            item.to_string(),
        ),
        (
            Method::POST,
            format!("/api/items/{id}/buy"),
            Some("frozen-2"),
            r#"{"quantity":1}"#.to_owned(),
        ),
    ];
    let sent = requests
        .into_iter()
        .map(|(method, path, key, body)| async move {
            let mut headers = json_headers().to_vec();
            if let Some(key) = key {
                headers.push(("idempotency-key", key));
            }
            let started = Instant::now();
            let what = format!("{method} {path}");
            let response = send_to(addr, method, &path, &headers, Bytes::from(body))
                .await
                .unwrap();
            assert_no_internals(&response.text());
            if response.status.is_server_error() {
                assert!(
                    response.header("retry-after").is_some(),
                    "{what}: no Retry-After"
                );
            }
            (what, response.status, started.elapsed())
        });
    join_all(sent).await
}

#[tokio::test]
async fn a_frozen_postgres_is_answered_within_the_bound_and_everything_recovers_after() {
    let app = spawn_app_with_own_cluster().await;
    let nginx = Nginx::start(&Nginx::project_conf_d(), app.addr()).unwrap();
    // The merchant lists what the shopper's requests below buy (nobody buys their own).
    let merchant = merchant().bearer();
    let created = send_to(
        nginx.addr,
        Method::POST,
        "/api/items",
        &[
            ("content-type", "application/json"),
            ("authorization", &merchant),
        ],
        Bytes::from(r#"{"name":"Lamp","quantity":5,"price":"3.00","description":"d"}"#),
    )
    .await
    .unwrap();
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let id = created.json()["id"].as_i64().unwrap();
    let cluster = app.own_cluster.as_ref().unwrap();

    cluster.freeze().unwrap();
    let answers = everything_at_once(nginx.addr, id).await;
    cluster.thaw().unwrap();

    for (what, status, took) in &answers {
        assert!(
            *took < EDGE_BOUND + MARGIN,
            "{what}: {status} after {took:?}"
        );
        assert!(
            status.is_success()
                || *status == StatusCode::SERVICE_UNAVAILABLE
                || *status == StatusCode::GATEWAY_TIMEOUT,
            "{what}: {status}"
        );
    }
    println!("frozen Postgres: {answers:?}");
    // Recovers by itself; the writes retried with their keys happen exactly once.
    let started = Instant::now();
    while get_at(nginx.addr, "/api/items").await.status != StatusCode::OK {
        assert!(started.elapsed() < Duration::from_secs(30), "no recovery");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let recovered = everything_at_once(nginx.addr, id).await;
    for (what, status, _) in &recovered {
        assert!(status.is_success(), "after the thaw, {what}: {status}");
    }
    let frozen: i64 = app
        .db
        .query_one("SELECT count(*) FROM items WHERE name = 'Frozen'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(frozen, 1, "the frozen write is there once");
    let stock: i32 = app
        .db
        .query_one("SELECT quantity FROM items WHERE id = $1", &[&id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(stock, 4, "the frozen buy took one unit, once");
}

#[tokio::test]
async fn a_frozen_redis_is_answered_within_the_bound_and_everything_recovers_after() {
    let replicas = spawn_replicas(2).await;
    let nginx = Nginx::start_with_upstreams(&Nginx::project_conf_d(), &replicas.addrs()).unwrap();
    assert_eq!(get_at(nginx.addr, "/").await.status, StatusCode::OK);

    replicas.redis.freeze();
    let frozen = join_all((0..6).map(|_| async {
        let started = Instant::now();
        let response = get_at(nginx.addr, "/").await;
        (
            response.status,
            response.header("retry-after").is_some(),
            started.elapsed(),
        )
    }))
    .await;
    replicas.redis.thaw();

    for (status, retry_after, took) in &frozen {
        assert!(*took < EDGE_BOUND + MARGIN, "{status} after {took:?}");
        assert!(
            status.is_success() || *retry_after,
            "{status} without Retry-After"
        );
    }
    println!("frozen Redis: {frozen:?}");
    // The timeouts took no instance out of rotation: once Redis answers, so do they,
    // never "unavailable" from nginx.
    let started = Instant::now();
    loop {
        let status = get_at(nginx.addr, "/").await.status;
        if status == StatusCode::OK {
            break;
        }
        assert_ne!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "instances marked down"
        );
        assert!(started.elapsed() < Duration::from_secs(30), "no recovery");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "frozen Redis: served again {:?} after the thaw",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_request_with_both_content_length_and_chunked_is_refused_before_the_app() {
    let (upstream, recorded) = recording_upstream().await;
    let nginx = Nginx::start(&Nginx::project_conf_d(), upstream).unwrap();
    // CL.TE: read as chunked (as Spin does), the body ends at "0"; the rest would be a
    // second, hidden request.
    let hidden = "POST /api/items HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
    let smuggling = format!(
        "POST /api/items HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{hidden}"
    );

    let answer = send_raw(nginx.addr, smuggling.as_bytes()).await.unwrap();

    assert_eq!(status_of(&answer), 400, "{answer}");
    assert!(
        answer.contains("Content-Type: application/json"),
        "{answer}"
    );
    assert_eq!(
        answer.matches("HTTP/1.1 ").count(),
        1,
        "one answer: {answer}"
    );
    assert_eq!(
        recorded.lock().unwrap().requests.len(),
        0,
        "nothing reached the app"
    );
}
