//! The project's nginx config, run by the real nginx, in front of the app (or in front
//! of a recording upstream where the test must see what nginx forwards).

use bytes::Bytes;
use hyper::{Method, StatusCode};
use market_tests::nginx::Nginx;
use market_tests::testing::STYLESHEET_PATH;
use std::net::IpAddr;

use market_tests::forms::presession;
use market_tests::shop::list_item;
use market_tests::testing::{TestResponse, json_headers, send_from, send_to, spawn_app};
use market_tests::upstream::recording_upstream;

async fn through(
    nginx: &Nginx,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> TestResponse {
    send_to(nginx.addr, method, path, headers, body.into())
        .await
        .expect("nginx answered")
}

#[tokio::test]
async fn the_home_page_and_the_api_work_through_nginx() {
    let app = spawn_app().await;
    let nginx = Nginx::start(&Nginx::project_conf_d(), app.addr()).unwrap();

    let created = through(
        &nginx,
        Method::POST,
        "/api/items",
        &json_headers(),
        r#"{"name":"Via nginx","quantity":4,"price":"9.99","description":"Proxied"}"#,
    )
    .await;
    let page = through(&nginx, Method::GET, "/", &[], "").await;
    let list = through(&nginx, Method::GET, "/api/items", &[], "").await;

    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("Via nginx"));
    assert!(page.header("content-security-policy").is_some());
    assert_eq!(list.json()["items"][0]["name"], "Via nginx");
    assert_eq!(
        page.header("server"),
        Some("nginx"),
        "no version in the Server header"
    );
}

#[tokio::test]
async fn client_sent_spin_headers_are_cleared_and_forwarding_headers_set() {
    let (upstream, recorded) = recording_upstream().await;
    let nginx = Nginx::start(&Nginx::project_conf_d(), upstream).unwrap();
    let spoofed = [
        ("spin-full-url", "http://evil.example/admin"),
        ("spin-path-info", "/admin"),
        ("spin-matched-route", "/..."),
        ("spin-raw-component-route", "/..."),
        ("spin-component-route", "/"),
        ("spin-base-path", "/evil"),
        ("spin-client-addr", "10.0.0.1:1"),
        ("x-forwarded-for", "10.9.9.9"),
    ];

    let response = through(&nginx, Method::GET, "/items/1", &spoofed, "").await;

    assert_eq!(response.status, StatusCode::OK);
    let recorded = recorded.lock().unwrap();
    let headers = &recorded.requests[0];
    let spin_headers: Vec<&str> = headers
        .keys()
        .map(|k| k.as_str())
        .filter(|k| k.starts_with("spin-"))
        .collect();
    assert!(spin_headers.is_empty(), "forwarded: {spin_headers:?}");
    assert_eq!(
        headers["host"],
        format!("localhost:{}", nginx.addr.port()),
        "the client's Host, port included"
    );
    assert_eq!(headers["x-forwarded-for"], "10.9.9.9, 127.0.0.1");
    assert_eq!(headers["x-real-ip"], "127.0.0.1");
    assert_eq!(headers["x-forwarded-proto"], "http");
}

#[tokio::test]
async fn upstream_connections_are_kept_alive() {
    let (upstream, recorded) = recording_upstream().await;
    let nginx = Nginx::start(&Nginx::project_conf_d(), upstream).unwrap();
    for _ in 0..10 {
        assert_eq!(
            through(&nginx, Method::GET, "/", &[], "").await.status,
            StatusCode::OK
        );
    }
    let recorded = recorded.lock().unwrap();
    assert_eq!(recorded.requests.len(), 10);
    // Each worker (one per core: worker_processes auto) keeps its own connections.
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    assert!(
        recorded.connections <= workers.min(9),
        "nginx opened {} upstream connections for 10 requests",
        recorded.connections
    );
}

#[tokio::test]
async fn an_oversize_body_gets_413_from_nginx_without_reaching_the_app() {
    let (upstream, recorded) = recording_upstream().await;
    let nginx = Nginx::start(&Nginx::project_conf_d(), upstream).unwrap();

    let response = through(
        &nginx,
        Method::POST,
        "/api/items",
        &json_headers(),
        vec![b' '; 64 * 1024 + 1],
    )
    .await;
    let at_limit = through(
        &nginx,
        Method::POST,
        "/api/items",
        &json_headers(),
        vec![b' '; 64 * 1024],
    )
    .await;

    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        at_limit.status,
        StatusCode::OK,
        "64 KiB exactly is passed on"
    );
    assert_eq!(recorded.lock().unwrap().requests.len(), 1);
}

#[tokio::test]
async fn html_json_and_css_are_gzipped() {
    let app = spawn_app().await;
    for n in 0..10 {
        let item = format!(
            r#"{{"name":"Item {n}","quantity":{n},"price":"9.99","description":"A description long enough to compress."}}"#
        );
        assert_eq!(
            app.post_json("/api/items", &item).await.status,
            StatusCode::CREATED
        );
    }
    let nginx = Nginx::start(&Nginx::project_conf_d(), app.addr()).unwrap();
    for path in ["/", "/api/items", STYLESHEET_PATH] {
        let response = through(
            &nginx,
            Method::GET,
            path,
            &[("accept-encoding", "gzip")],
            "",
        )
        .await;
        assert_eq!(response.status, StatusCode::OK, "{path}");
        assert_eq!(response.header("content-encoding"), Some("gzip"), "{path}");
    }
}

#[tokio::test]
async fn spins_endpoints_and_the_health_checks_are_not_reachable_from_outside() {
    let app = spawn_app().await;
    let nginx = Nginx::start(&Nginx::project_conf_d(), app.addr()).unwrap();
    for path in ["/.well-known/spin/health", "/health", "/health/ready"] {
        assert_eq!(
            app.get(path).await.status,
            StatusCode::OK,
            "the app has {path}"
        );
    }
    for path in [
        "/.well-known/spin/health",
        "/.well-known/spin/info",
        "/health",
        "/health/ready",
        "/health/anything",
    ] {
        assert_eq!(
            through(&nginx, Method::GET, path, &[], "").await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

#[tokio::test]
async fn writes_beyond_the_rate_limit_get_429_with_retry_after_and_reads_are_never_limited() {
    let app = spawn_app().await;
    let nginx = Nginx::start(&Nginx::project_conf_d(), app.addr()).unwrap();
    let json = json_headers();
    let body = r#"{"name":"Scripted","quantity":1,"price":"1","description":"d"}"#;

    let started = std::time::Instant::now();
    let mut api_statuses = Vec::new();
    for _ in 0..40 {
        let response = through(&nginx, Method::POST, "/api/items", &json, body).await;
        if response.status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(response.header("retry-after"), Some("1"));
            assert!(
                response
                    .header("content-type")
                    .unwrap()
                    .starts_with("application/json")
            );
            assert!(
                response.json()["error"]
                    .as_str()
                    .unwrap()
                    .contains("Too many requests")
            );
        }
        api_statuses.push(response.status);
    }
    let took = started.elapsed();
    let form = through(
        &nginx,
        Method::POST,
        "/items",
        &[("content-type", "application/x-www-form-urlencoded")],
        "name=x",
    )
    .await;
    let mut reads = Vec::new();
    for _ in 0..200 {
        reads.push(
            through(&nginx, Method::GET, "/api/items?limit=1", &[], "")
                .await
                .status,
        );
    }

    let created = api_statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let limited = api_statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    println!(
        "rate limit: 40 writes at once from one address: {created} created, {limited} got 429; 200 reads all {:?}",
        reads[0]
    );
    // The burst of 20 at once, plus what the rate of 10/s refilled meanwhile.
    let refilled = (took.as_secs_f64() * 10.0).ceil() as usize;
    assert!(
        (20..=21 + refilled).contains(&created),
        "{created} created in {took:?}"
    );
    assert!(limited > 0, "the limit bit");
    assert_eq!(created + limited, 40);
    assert_eq!(
        app.item_count().await,
        created as i64,
        "a 429 wrote nothing"
    );
    assert_eq!(form.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        form.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(form.text().contains("<h1>Too many requests</h1>"));
    assert!(
        reads.iter().all(|s| *s == StatusCode::OK),
        "reads are never limited"
    );
}

#[tokio::test]
async fn a_person_selling_and_buying_at_a_human_pace_is_never_limited() {
    let app = spawn_app().await;
    let nginx = Nginx::start(&Nginx::project_conf_d(), app.addr()).unwrap();
    // What the shopper buys: the merchant's (nobody buys their own listing), listed
    // straight to the app, so that only the shopper's requests go through nginx.
    let mut for_sale = Vec::new();
    for n in 0..15 {
        for_sale.push(list_item(&app, &format!("For sale {n}"), 5).await);
    }
    let json = json_headers();
    let mut statuses = Vec::new();
    for (n, id) in for_sale.into_iter().enumerate() {
        let body = format!(r#"{{"name":"Item {n}","quantity":5,"price":"1","description":"d"}}"#);
        let created = through(&nginx, Method::POST, "/api/items", &json, body).await;
        statuses.push(created.status);
        let bought = through(
            &nginx,
            Method::POST,
            &format!("/api/items/{id}/buy"),
            &json,
            r#"{"quantity":1}"#,
        )
        .await;
        statuses.push(bought.status);
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::OK),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn over_https_cookies_are_secure_with_hsts_and_a_client_cannot_claim_https_through_nginx() {
    let app = spawn_app().await;
    let nginx = Nginx::start(&Nginx::project_conf_d(), app.addr()).unwrap();
    let https = [("x-forwarded-proto", "https")];

    // As the proxy that terminated TLS tells the app.
    let secure = app.send(Method::GET, "/account/sign-in", &https, "").await;
    // A client on plain HTTP pretending otherwise: nginx sets the header itself.
    let spoofed = through(&nginx, Method::GET, "/account/sign-in", &https, "").await;
    let plain = through(&nginx, Method::GET, "/account/sign-in", &[], "").await;

    let csrf = |response: &TestResponse| {
        response
            .headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with("presession="))
            .unwrap()
    };
    assert!(csrf(&secure).ends_with("; Secure"), "{}", csrf(&secure));
    assert_eq!(
        secure.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    for response in [&spoofed, &plain] {
        assert!(!csrf(response).contains("Secure"));
        assert!(response.header("strict-transport-security").is_none());
    }
}

#[tokio::test]
async fn sign_in_attempts_beyond_a_handful_from_one_address_get_429_while_others_sign_in() {
    let app = spawn_app().await;
    let nginx = Nginx::start(&Nginx::project_conf_d(), app.addr()).unwrap();
    let person = app.add_person("Targeted").await;
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let (cookie, token) = presession();
    let headers = [form[0], ("cookie", cookie.as_str())];
    let attempt = |email: &str, password: &str| {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("csrf_token", &token)
            .append_pair("email", email)
            .append_pair("password", password)
            .finish()
    };

    let mut statuses = Vec::new();
    for n in 0..12 {
        let body = attempt(&person.email, &format!("guess number {n}"));
        let response = through(&nginx, Method::POST, "/account/sign-in", &headers, body).await;
        if response.status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(response.header("retry-after"), Some("1"));
            assert!(response.text().contains("Too many requests"));
        }
        statuses.push(response.status.as_u16());
    }
    let page = through(&nginx, Method::GET, "/account/sign-in", &[], "").await;
    // From another address the edge lets the right password through; the account's own
    // delay after those failures still applies, whatever the address, until it passes.
    let from_elsewhere = || {
        send_from(
            Some(IpAddr::from([127, 0, 2, 1])),
            nginx.addr,
            Method::POST,
            "/account/sign-in",
            &headers,
            attempt(&person.email, &person.password).into(),
        )
    };
    let delayed = from_elsewhere().await.unwrap();
    assert_eq!(delayed.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        delayed
            .text()
            .contains("Too many failed sign-ins with this email")
    );
    let wait: u64 = delayed.header("retry-after").unwrap().parse().unwrap();
    tokio::time::sleep(
        std::time::Duration::from_secs(wait) + std::time::Duration::from_millis(100),
    )
    .await;
    let elsewhere = from_elsewhere().await.unwrap();

    println!("12 sign-ins at once from one address: {statuses:?}");
    let answered = statuses.iter().filter(|s| **s == 422).count();
    assert!(
        (6..=7).contains(&answered),
        "a burst of 5 past the first: {statuses:?}"
    );
    assert_eq!(
        answered + statuses.iter().filter(|s| **s == 429).count(),
        12
    );
    assert_eq!(
        page.status,
        StatusCode::OK,
        "the page itself is never limited"
    );
    assert_eq!(
        elsewhere.status,
        StatusCode::SEE_OTHER,
        "another address signs in: {}",
        elsewhere.text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn at_most_four_password_hashes_are_in_progress_whoever_sends_them() {
    let app = spawn_app().await;
    let nginx = Nginx::start(&Nginx::project_conf_d(), app.addr()).unwrap();
    let (cookie, token) = presession();
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf_token", &token)
        .append_pair("email", "someone@example.com")
        .append_pair("password", "a password that is wrong")
        .finish();
    // Twelve people at once, each from an address of their own.
    let answers = futures::future::join_all((1..=12u8).map(|n| {
        let (cookie, body) = (cookie.clone(), body.clone());
        let addr = nginx.addr;
        async move {
            send_from(
                Some(IpAddr::from([127, 0, 3, n])),
                addr,
                Method::POST,
                "/account/sign-in",
                &[
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("cookie", &cookie),
                ],
                body.into(),
            )
            .await
            .unwrap()
        }
    }))
    .await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status.as_u16()).collect();
    println!("12 sign-ins at once from 12 addresses: {statuses:?}");
    let hashed = statuses.iter().filter(|s| **s == 422).count();
    let refused: Vec<_> = answers
        .iter()
        .filter(|a| a.status == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert_eq!(hashed + refused.len(), 12, "{statuses:?}");
    // Which ones get a slot depends on arrival; each hash takes tens of milliseconds,
    // so without the cap all twelve would have been hashed at once.
    assert!(hashed >= 1, "some let through: {statuses:?}");
    assert!(
        !refused.is_empty(),
        "not twelve hashes at once: {statuses:?}"
    );
    assert!(refused.iter().all(|a| a.header("retry-after") == Some("1")));
}
