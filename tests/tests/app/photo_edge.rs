//! Photos through the project's nginx (the real config, the real nginx): an upload of a
//! phone photo passes the edge's body limit for its route and a larger one is refused there
//! with the limit named; a photo is answered by nginx's cache after its first request,
//! for anonymous and signed-in visitors alike, so a thumbnail seen by a thousand visitors
//! reaches Spin once.

use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::{Method, StatusCode};
use market_tests::images;
use market_tests::nginx::Nginx;
use market_tests::photos::{list_as, multipart_type, photo_part, post_multipart};
use market_tests::testing::{TestResponse, send_raw, send_to, spawn_app};

async fn through(nginx: &Nginx, path: &str, headers: &[(&str, &str)]) -> TestResponse {
    send_to(nginx.addr, Method::GET, path, headers, Bytes::new())
        .await
        .expect("nginx answered")
}

/// How many requests for `path` nginx passed on to the app (its access log names an
/// upstream for those), waiting up to 5 s for the log to hold `at_least`.
async fn reached_app(nginx: &Nginx, path: &str, at_least: usize) -> usize {
    let started = Instant::now();
    loop {
        let passed = market_tests::testing::json_lines(&nginx.access_log())
            .into_iter()
            .filter(|line| line["path"] == path)
            .filter(|line| line["upstream"].as_str().is_some_and(|u| !u.is_empty()))
            .count();
        if passed >= at_least || started.elapsed() > Duration::from_secs(5) {
            return passed;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_thumbnail_seen_by_a_thousand_visitors_reaches_spin_once() {
    let app = spawn_app().await;
    let nginx = Nginx::start_without_rate_limit(&Nginx::project_conf_d(), app.addr()).unwrap();
    let seller = app.add_person("Photographer").await;
    let item = list_as(&app, &seller, "Camera").await;
    let phone = images::phone_jpeg(4032, 3024, 6, true);
    let uploaded = send_to(
        nginx.addr,
        Method::POST,
        &format!("/api/items/{item}/photos"),
        &[
            ("content-type", "image/jpeg"),
            ("authorization", &seller.bearer()),
        ],
        Bytes::from(phone),
    )
    .await
    .unwrap();
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.text());
    let thumbnail = uploaded.json()["thumbnail_url"]
        .as_str()
        .unwrap()
        .to_owned();

    let first = through(&nginx, &thumbnail, &[]).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.header("content-type"), Some("image/jpeg"));
    assert_eq!(
        first.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(first.header("x-content-type-options"), Some("nosniff"));
    assert!(first.header("etag").is_some());
    assert_eq!(
        first.header("x-accel-expires"),
        None,
        "nginx's own, never passed on"
    );
    let cookie = seller.session_cookie();
    for n in 0..999 {
        // Every other visitor is signed in: photos are the same bytes for everyone.
        let headers: &[(&str, &str)] = if n % 2 == 0 {
            &[("cookie", &cookie)]
        } else {
            &[]
        };
        let seen = through(&nginx, &thumbnail, headers).await;
        assert_eq!(seen.status, StatusCode::OK);
        assert_eq!(seen.header("x-cache-status"), Some("HIT"), "visit {n}");
        assert_eq!(seen.body, first.body);
    }
    assert_eq!(
        reached_app(&nginx, &thumbnail, 1).await,
        1,
        "Spin saw it once"
    );
    let etag = first.header("etag").unwrap().to_owned();
    let revalidated = through(&nginx, &thumbnail, &[("if-none-match", &etag)]).await;
    assert_eq!(revalidated.status, StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn the_edge_takes_a_photo_for_its_routes_only_and_names_its_limit() {
    let app = spawn_app().await;
    let nginx = Nginx::start_without_rate_limit(&Nginx::project_conf_d(), app.addr()).unwrap();
    let seller = app.add_person("Edge seller").await;
    let item = list_as(&app, &seller, "Amplifier").await;

    // The sell form with a phone photo, through nginx.
    let phone = images::phone_jpeg(4032, 3024, 1, false);
    let form = market_tests::photos::multipart_body(&[
        market_tests::photos::FormPart::Text("csrf_token", &seller.csrf_token()),
        market_tests::photos::FormPart::Text("name", "Tube amp"),
        market_tests::photos::FormPart::Text("quantity", "1"),
        market_tests::photos::FormPart::Text("price", "300.00"),
        market_tests::photos::FormPart::Text("description", "Works."),
        photo_part("amp.jpg", &phone),
    ]);
    let sold = send_to(
        nginx.addr,
        Method::POST,
        "/items",
        &[
            ("content-type", &multipart_type()),
            ("cookie", &seller.session_cookie()),
        ],
        Bytes::from(form),
    )
    .await
    .unwrap();
    assert_eq!(sold.status, StatusCode::SEE_OTHER, "{}", sold.text());

    // Over 15 MiB to the API: nginx answers 413 from the declared length, naming it.
    let head = format!(
        "POST /api/items/{item}/photos HTTP/1.1\r\nHost: localhost\r\nAuthorization: {}\r\n\
         Content-Type: image/jpeg\r\nContent-Length: 15728641\r\nConnection: close\r\n\r\n",
        seller.bearer()
    );
    let answer = send_raw(nginx.addr, head.as_bytes()).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("15 MiB (one photo)"), "{answer}");
    // Any other route keeps the 64 KiB limit.
    let big_json = vec![b' '; 70 * 1024];
    let refused = send_to(
        nginx.addr,
        Method::POST,
        "/api/items",
        &[
            ("content-type", "application/json"),
            ("authorization", &seller.bearer()),
        ],
        Bytes::from(big_json),
    )
    .await
    .unwrap();
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(refused.text().contains("64 KiB"), "{}", refused.text());
    // The app's own limit stands behind nginx's: its 413 for a form's file is the app's.
    let app_direct = post_multipart(
        &app,
        &seller,
        &format!("/items/{item}/photos"),
        &[photo_part("big.jpg", &vec![0xFF; 15 * 1024 * 1024 + 1])],
    )
    .await;
    assert_eq!(app_direct.status, StatusCode::PAYLOAD_TOO_LARGE);
}
