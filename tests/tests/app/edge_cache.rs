//! The edge cache: what everyone sees is answered by nginx (the project's own config, the
//! real nginx) and Spin does only what needs a person or a write. Anonymous answers hold
//! nothing of anyone; a signed-in answer is never stored nor given to anyone else; an
//! anonymous reader sees every acknowledged write within 2 s; reads survive the app
//! stopping; no header steers the key; a storm of misses reaches Spin once per key.

use std::time::{Duration, Instant};

use hyper::{Method, StatusCode};
use market_tests::nginx::Nginx;
use market_tests::shop::{ApiItem, list_item};
use market_tests::testing::STYLESHEET_PATH;
use market_tests::testing::{
    TestApp, TestPerson, TestResponse, merchant, send_raw, send_to, shopper, spawn_app,
};
use serde_json::Value;

/// The bound on how stale an anonymous read may be after a write was acknowledged
/// (README, the edge cache): nginx keeps an answer for 1 s, counted in whole seconds,
/// so 2 s; plus, when the read meets a refresh under way, that refresh (milliseconds)
/// and this test's own polling (10 ms): 250 ms are allowed for both.
const FRESH_WITHIN: Duration = Duration::from_millis(2_250);

async fn through(nginx: &Nginx, path: &str, headers: &[(&str, &str)]) -> TestResponse {
    send_to(nginx.addr, Method::GET, path, headers, bytes::Bytes::new())
        .await
        .expect("nginx answered")
}

fn cache_status(response: &TestResponse) -> &str {
    response.header("x-cache-status").unwrap_or("")
}

/// How many requests for exactly `path` nginx passed on to the app, from its access log
/// (a request answered from the cache names no upstream).
async fn reached_app(nginx: &Nginx, path: &str, expect_at_least: usize) -> usize {
    let path = path.split('?').next().unwrap_or(path);
    let started = Instant::now();
    loop {
        let passed = market_tests::testing::json_lines(&nginx.access_log())
            .into_iter()
            .filter(|line| line["path"] == path)
            .filter(|line| line["upstream"].as_str().is_some_and(|u| !u.is_empty()))
            .count();
        if passed >= expect_at_least || started.elapsed() > Duration::from_secs(5) {
            return passed;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An app with items to show, nginx in front, and two signed-in people.
struct Shop {
    app: TestApp,
    nginx: Nginx,
    item: i64,
    alice: TestPerson,
    bob: TestPerson,
}

async fn shop() -> Shop {
    let app = spawn_app().await;
    for n in 0..3 {
        list_item(&app, &format!("Lamp {n}"), 4).await;
    }
    let item = list_item(&app, "Brass lamp", 4).await;
    let nginx = Nginx::start(&Nginx::project_conf_d(), app.addr()).unwrap();
    let alice = app.add_person("Alice Signedin").await;
    let bob = app.add_person("Bob Signedin").await;
    Shop {
        app,
        nginx,
        item,
        alice,
        bob,
    }
}

/// Every anonymous URL the cache keeps.
fn shared_paths(item: i64) -> Vec<String> {
    vec![
        "/".to_owned(),
        format!("/?before={item}"),
        "/?q=lamp".to_owned(),
        "/?sold_out=show".to_owned(),
        format!("/items/{item}"),
        "/api/items".to_owned(),
        "/api/items?q=lamp&limit=2".to_owned(),
        format!("/api/items/{item}"),
        STYLESHEET_PATH.to_owned(),
    ]
}

fn assert_holds_nobody(response: &TestResponse, what: &str) {
    assert_eq!(response.status, StatusCode::OK, "{what}");
    assert!(response.cookies().is_empty(), "{what} sets a cookie");
    let body = response.text();
    for personal in [
        "Signed in as",
        "Alice Signedin",
        "Bob Signedin",
        "csrf_token",
        "idempotency_key",
        "Sign out",
    ] {
        assert!(!body.contains(personal), "{what} holds {personal:?}");
    }
}

#[tokio::test]
async fn anonymous_answers_hold_nobody_and_come_from_nginx_also_right_after_signed_in_traffic() {
    let shop = shop().await;
    for path in shared_paths(shop.item) {
        // Signed-in traffic on the same URL, before and between the anonymous reads.
        let alice = shop.alice.session_cookie();
        let signed_in = through(&shop.nginx, &path, &[("cookie", &alice)]).await;
        let first = through(&shop.nginx, &path, &[]).await;
        let program = through(&shop.nginx, &path, &[("authorization", &shop.bob.bearer())]).await;
        let second = through(&shop.nginx, &path, &[]).await;

        assert_eq!(signed_in.status, StatusCode::OK, "{path}");
        if path.starts_with("/static/") {
            // Hashed static files are the same bytes for everyone: kept for all.
            assert_eq!(cache_status(&signed_in), "MISS", "{path}");
            assert_eq!(cache_status(&program), "HIT", "{path}");
        } else {
            assert_eq!(cache_status(&signed_in), "BYPASS", "{path}");
            assert_eq!(cache_status(&program), "BYPASS", "{path}");
        }
        for anonymous in [&first, &second] {
            assert_holds_nobody(anonymous, &path);
            assert!(
                anonymous
                    .header("cache-control")
                    .is_some_and(|c| c.starts_with("public")),
                "{path}: {:?}",
                anonymous.header("cache-control")
            );
        }
        assert_eq!(
            cache_status(&second),
            "HIT",
            "{path}: the second comes from nginx"
        );
    }
    // A page whose writes lead to sign-in: the anonymous item page has no form.
    let item_page = through(&shop.nginx, &format!("/items/{}", shop.item), &[]).await;
    assert!(item_page.text().contains(&format!(
        r#"href="/account/sign-in?next=%2Fitems%2F{}""#,
        shop.item
    )));
}

#[tokio::test]
async fn a_signed_in_page_is_never_given_to_another_person_or_to_an_anonymous_visitor() {
    let shop = shop().await;
    let paths = ["/".to_owned(), format!("/items/{}", shop.item)];
    for round in 0..10 {
        for path in &paths {
            let alice = through(
                &shop.nginx,
                path,
                &[("cookie", &shop.alice.session_cookie())],
            )
            .await;
            let bob = through(&shop.nginx, path, &[("cookie", &shop.bob.session_cookie())]).await;
            let anonymous = through(&shop.nginx, path, &[]).await;

            let (alice, bob) = (alice.text(), bob.text());
            assert!(alice.contains("Alice Signedin"), "round {round} {path}");
            assert!(!alice.contains("Bob Signedin"), "round {round} {path}");
            assert!(bob.contains("Bob Signedin"), "round {round} {path}");
            assert!(!bob.contains("Alice Signedin"), "round {round} {path}");
            assert!(alice.contains(&shop.alice.csrf_token()));
            assert!(!bob.contains(&shop.alice.csrf_token()));
            assert_holds_nobody(&anonymous, path);
        }
    }
}

/// Reads `path` anonymously through nginx until `shows` holds; how long that took after
/// the write was acknowledged.
async fn seen_after(
    nginx: &Nginx,
    path: &str,
    acknowledged: Instant,
    shows: impl Fn(&TestResponse) -> bool,
) -> Duration {
    loop {
        let response = through(nginx, path, &[]).await;
        if shows(&response) {
            return acknowledged.elapsed();
        }
        assert!(
            acknowledged.elapsed() < Duration::from_secs(10),
            "{path} never showed the write: {}",
            response.text()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Fills the cache for `paths` (each read twice, the second a hit).
async fn warm(nginx: &Nginx, paths: &[String]) {
    for path in paths {
        through(nginx, path, &[]).await;
        let hit = through(nginx, path, &[]).await;
        assert_eq!(cache_status(&hit), "HIT", "{path}");
    }
}

fn json(response: &TestResponse) -> Value {
    serde_json::from_slice(&response.body).unwrap_or(Value::Null)
}

#[tokio::test]
async fn an_anonymous_reader_sees_every_kind_of_write_within_two_seconds_and_the_writer_at_once() {
    let shop = shop().await;
    let (nginx, id) = (&shop.nginx, shop.item);
    // The merchant sells (`shop`'s items are theirs), the shopper buys: nobody buys their
    // own listing.
    let seller = merchant();
    let mut took = Vec::new();

    // A new item.
    warm(nginx, &["/".to_owned(), "/api/items".to_owned()]).await;
    let created = shop
        .app
        .post_json_as(seller, "/api/items", &ApiItem::named("Fresh kettle").json())
        .await;
    let acknowledged = Instant::now();
    assert_eq!(created.status, StatusCode::CREATED);
    let mine = through(nginx, "/", &[("cookie", &seller.session_cookie())]).await;
    assert!(
        mine.text().contains("Fresh kettle"),
        "the writer's very next read"
    );
    took.push((
        "new item, page",
        seen_after(nginx, "/", acknowledged, |r| {
            r.text().contains("Fresh kettle")
        })
        .await,
    ));
    took.push((
        "new item, API",
        seen_after(nginx, "/api/items", acknowledged, |r| {
            json(r)["items"][0]["name"] == "Fresh kettle"
        })
        .await,
    ));

    // A changed price.
    let item_page = format!("/items/{id}");
    warm(nginx, &[item_page.clone(), format!("/api/items/{id}")]).await;
    let changed = shop
        .app
        .send(
            Method::PATCH,
            &format!("/api/items/{id}"),
            &[
                ("content-type", "application/json"),
                ("authorization", &seller.bearer()),
            ],
            r#"{"quantity":4,"price":"77.00","description":"For sale"}"#,
        )
        .await;
    let acknowledged = Instant::now();
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    took.push((
        "changed price, page",
        seen_after(nginx, &item_page, acknowledged, |r| {
            r.text().contains("77.00")
        })
        .await,
    ));
    took.push((
        "changed price, API",
        seen_after(nginx, &format!("/api/items/{id}"), acknowledged, |r| {
            json(r)["price"]["amount"] == "77.00"
        })
        .await,
    ));

    // A buy that takes the last units, by the shopper.
    warm(nginx, std::slice::from_ref(&item_page)).await;
    let bought = shop
        .app
        .post_json_as(
            shopper(),
            &format!("/api/items/{id}/buy"),
            r#"{"quantity":4}"#,
        )
        .await;
    let acknowledged = Instant::now();
    assert_eq!(bought.status, StatusCode::OK, "{}", bought.text());
    took.push((
        "last unit bought",
        seen_after(nginx, &item_page, acknowledged, |r| {
            r.text().contains("Sold out")
        })
        .await,
    ));

    // A withdrawal.
    let other = list_item(&shop.app, "Withdrawn chair", 2).await;
    let other_page = format!("/items/{other}");
    warm(nginx, std::slice::from_ref(&other_page)).await;
    let withdrawn = shop
        .app
        .send(
            Method::DELETE,
            &format!("/api/items/{other}"),
            &[("authorization", &seller.bearer())],
            "",
        )
        .await;
    let acknowledged = Instant::now();
    assert_eq!(withdrawn.status, StatusCode::NO_CONTENT);
    took.push((
        "withdrawal",
        seen_after(nginx, &other_page, acknowledged, |r| {
            r.text().contains("no longer for sale")
        })
        .await,
    ));

    println!("anonymous reads showed each write after {took:.2?}");
    for (what, after) in took {
        assert!(after <= FRESH_WITHIN, "{what}: {after:?}");
    }
}

#[tokio::test]
async fn with_the_app_stopped_anonymous_reads_are_answered_stale_and_writes_get_503() {
    let mut shop = shop().await;
    let paths = shared_paths(shop.item);
    warm(&shop.nginx, &paths).await;

    shop.app.spin.kill();
    // Every copy is out of date: kept 1 s, counted in whole seconds.
    tokio::time::sleep(Duration::from_millis(2_100)).await;

    for path in &paths {
        let response = through(&shop.nginx, path, &[]).await;
        assert_eq!(response.status, StatusCode::OK, "{path}");
        let status = cache_status(&response);
        // The stylesheet never goes out of date; the rest is marked stale.
        if path == STYLESHEET_PATH {
            assert_eq!(status, "HIT");
        } else {
            assert_eq!(status, "STALE", "{path}");
        }
        assert_holds_nobody(&response, path);
    }
    let write = send_to(
        shop.nginx.addr,
        Method::POST,
        "/api/items",
        &[
            ("content-type", "application/json"),
            ("authorization", &shopper().bearer()),
        ],
        ApiItem::named("Lost").json().into(),
    )
    .await
    .unwrap();
    assert_eq!(write.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(write.header("retry-after").is_some());
    assert!(json(&write)["error"].is_string(), "{}", write.text());
    let signed_in = through(&shop.nginx, "/", &[("cookie", &shopper().session_cookie())]).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "a person's page never comes from the cache"
    );
    let never_cached = through(&shop.nginx, "/?q=never+asked", &[]).await;
    assert_eq!(never_cached.status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn headers_the_app_ignores_do_not_steer_the_cache_key() {
    let shop = shop().await;
    let plain = through(&shop.nginx, "/", &[]).await;
    for host in ["evil.example", "localhost:1", "a b", ""] {
        // HTTP/1.0, so the body comes whole (not chunked).
        let request = format!("GET / HTTP/1.0\r\nHost: {host}\r\n\r\n");
        let answer = send_raw(shop.nginx.addr, request.as_bytes()).await.unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        if head.starts_with("HTTP/1.1 200") {
            assert!(head.contains("X-Cache-Status: HIT"), "Host: {host}: {head}");
            assert!(
                body.as_bytes() == &plain.body[..],
                "Host: {host}: another body"
            );
        } else {
            assert!(head.starts_with("HTTP/1.1 400"), "Host: {host}: {head}");
        }
    }
    let steered = [
        ("x-forwarded-host", "evil.example"),
        ("x-original-url", "/account"),
        ("x-rewrite-url", "/api/items"),
        ("accept", "application/json"),
        ("x-unknown", "1"),
    ];
    for (name, value) in steered {
        let response = through(&shop.nginx, "/", &[(name, value)]).await;
        assert_eq!(cache_status(&response), "HIT", "{name}: {value}");
        assert_eq!(response.body, plain.body, "{name}: {value}");
    }
    // A miss made with odd headers stores what anyone gets.
    let odd = [
        ("x-forwarded-host", "evil.example"),
        ("x-forwarded-proto", "https"),
    ];
    let first = through(&shop.nginx, "/?q=brass", &odd).await;
    assert_eq!(cache_status(&first), "MISS");
    let later = through(&shop.nginx, "/?q=brass", &[]).await;
    assert_eq!(cache_status(&later), "HIT");
    assert!(!later.text().contains("evil.example"));
    // The query is the app's: another spelling is another key, never another's answer.
    let upper = through(&shop.nginx, "/?Q=brass", &[]).await;
    assert_eq!(cache_status(&upper), "MISS");
    assert!(upper.text().contains("Lamp 0"), "?Q= is not a search");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_storm_of_misses_and_the_stylesheet_reach_spin_once_per_key() {
    let shop = shop().await;
    let path = "/?q=storm";
    let storm = futures::future::join_all((0..64).map(|_| through(&shop.nginx, path, &[]))).await;
    for response in &storm {
        assert_eq!(response.status, StatusCode::OK);
    }
    for _ in 0..100 {
        assert_eq!(
            through(&shop.nginx, STYLESHEET_PATH, &[]).await.status,
            StatusCode::OK
        );
    }
    let searches = reached_app(&shop.nginx, path, 1).await;
    let stylesheets = reached_app(&shop.nginx, STYLESHEET_PATH, 1).await;
    assert_eq!(searches, 1, "64 concurrent readers of one new key");
    assert_eq!(stylesheets, 1, "100 readers of the stylesheet");
}
