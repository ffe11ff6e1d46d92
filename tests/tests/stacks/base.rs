//! `docker compose up --build --wait` of docker-compose.yml, the README's first command.

use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::DateTime;
use hyper::{Method, StatusCode};
use market_tests::compose::{Stack, all_volumes, service_of};
use market_tests::forms::FilledForm;
use market_tests::testing::{assert_no_internals, json_lines, project_dir, send_to};
use serde_json::Value;

use crate::{item, list_by_api};

/// When a container started or finished (`docker inspect`'s State), as a comparable time.
fn state_time(container: &Value, field: &str) -> DateTime<chrono::FixedOffset> {
    let text = container["State"][field].as_str().unwrap_or_default();
    DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("{field} {text:?}: {e}"))
}

fn the_one(stack: &Stack, service: &str) -> Value {
    let mut containers = stack.service_containers(service).unwrap();
    assert_eq!(containers.len(), 1, "one {service} container");
    containers.remove(0)
}

/// db-secret → db → migrate → app → nginx, the one-shot services exited 0, the long-lived
/// ones healthy.
fn started_in_order_and_healthy(stack: &Stack) {
    let secret = the_one(stack, "db-secret");
    let db = the_one(stack, "db");
    let migrate = the_one(stack, "migrate");
    let app = the_one(stack, "app");
    let nginx = the_one(stack, "nginx");
    for one_shot in [&secret, &migrate] {
        assert_eq!(
            one_shot["State"]["Status"],
            "exited",
            "{}",
            service_of(one_shot)
        );
        assert_eq!(one_shot["State"]["ExitCode"], 0, "{}", service_of(one_shot));
    }
    for server in [&db, &app, &nginx] {
        assert_eq!(
            server["State"]["Health"]["Status"],
            "healthy",
            "{}",
            service_of(server)
        );
    }
    assert!(state_time(&secret, "FinishedAt") <= state_time(&db, "StartedAt"));
    assert!(state_time(&db, "StartedAt") <= state_time(&migrate, "StartedAt"));
    assert!(state_time(&migrate, "FinishedAt") <= state_time(&app, "StartedAt"));
    assert!(state_time(&app, "StartedAt") <= state_time(&nginx, "StartedAt"));
}

/// The stack's mailer delivered "You sold 2 × Compose kettle" to the merchant (through
/// its MailDev), linking the order at the stack's public URL, with one-click unsubscribe.
async fn the_seller_is_emailed_the_sale(stack: &Stack, item: i64) {
    let merchant = stack.merchant().await.unwrap();
    let sold = stack
        .mailed(&merchant.email, "You sold 2 × Compose kettle")
        .await
        .unwrap();
    let text = sold["text"].as_str().unwrap();
    assert!(
        text.contains(&format!("http://localhost:{}/orders/", stack.port)),
        "{text}"
    );
    let headers = &sold["headers"];
    assert!(
        headers["list-unsubscribe"]
            .as_str()
            .is_some_and(|link| link.contains("/account/email/unsubscribe?key=")),
        "{headers}"
    );
    assert_eq!(
        headers["list-unsubscribe-post"],
        "List-Unsubscribe=One-Click"
    );
    println!("base stack: the sale of item {item} was emailed to its seller");
}

/// Only nginx has a port on the host, on 127.0.0.1 only; and MailDev's web page and REST
/// API (every email the shop sent), on 127.0.0.1 only, for the person running the stack.
fn only_nginx_is_published(stack: &Stack) {
    for container in stack.containers().unwrap() {
        let ports = container["NetworkSettings"]["Ports"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let published: Vec<&Value> = ports
            .values()
            .filter_map(Value::as_array)
            .flatten()
            .collect();
        if service_of(&container) == "nginx" {
            assert_eq!(published.len(), 1, "{published:?}");
            assert_eq!(published[0]["HostIp"], "127.0.0.1");
            assert_eq!(published[0]["HostPort"], stack.port.to_string());
        } else if service_of(&container) == "maildev" {
            assert_eq!(published.len(), 1, "{published:?}");
            assert_eq!(published[0]["HostIp"], "127.0.0.1");
            assert_eq!(published[0]["HostPort"], stack.mail_port.to_string());
        } else {
            assert!(
                published.is_empty(),
                "{} publishes {published:?}",
                service_of(&container)
            );
        }
    }
}

/// A person (the merchant) lists an item with the form (a double click lists it once)
/// and sees it listed with a confirmation; another (the shopper: nobody buys their own
/// listing) buys two with the buy form; returns its id.
async fn a_person_sells_and_another_buys_with_the_forms(stack: &Stack) -> i64 {
    let addr = stack.addr();
    let fields = [
        ("name", "Compose kettle"),
        ("quantity", "5"),
        ("price", "12.50"),
        ("description", "Listed through nginx in the compose stack"),
    ];
    let seller = stack.merchant().await.unwrap().session_cookie();
    let sell = FilledForm::from_home(addr, &seller, "/items", &fields)
        .await
        .unwrap();
    let first = sell.submit(addr).await.unwrap();
    let double_click = sell.submit(addr).await.unwrap();
    for response in [&first, &double_click] {
        assert_eq!(
            response.status,
            StatusCode::SEE_OTHER,
            "{}",
            response.text()
        );
        assert_eq!(response.header("location"), Some("/"));
    }
    let notice = first.cookie("notice").expect("a confirmation to show");
    let cookies = format!("{}; {notice}", sell.cookie());
    let home = send_to(
        addr,
        hyper::Method::GET,
        "/",
        &[("cookie", &cookies)],
        "".into(),
    )
    .await
    .unwrap()
    .text();
    assert!(
        home.contains("“Compose kettle” is now listed for sale."),
        "{home}"
    );
    let items = stack.get("/api/items").await.unwrap().json();
    let kettles: Vec<&Value> = items["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["name"] == "Compose kettle")
        .collect();
    assert_eq!(kettles.len(), 1, "the double click listed it once: {items}");
    let id = kettles[0]["id"].as_i64().unwrap();

    let action = format!("/items/{id}/buy");
    let buyer = stack.shopper().await.unwrap().session_cookie();
    let buy = FilledForm::from_home(addr, &buyer, &action, &[("quantity", "2")])
        .await
        .unwrap();
    let bought = buy.submit(addr).await.unwrap();
    assert_eq!(bought.status, StatusCode::SEE_OTHER, "{}", bought.text());
    assert_eq!(item(stack, id).await["quantity"], 3);
    id
}

/// A program lists (the merchant's), reads and pages, and another buys (the shopper's),
/// through the JSON API.
async fn a_program_uses_the_api(stack: &Stack) {
    let created = list_by_api(stack, "API lamp", 2).await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(item(stack, id).await, created);
    let page = stack.get("/api/items?limit=1").await.unwrap();
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.json()["items"][0]["id"], id, "newest first");
    let bought = stack
        .post_json(&format!("/api/items/{id}/buy"), r#"{"quantity":2}"#)
        .await
        .unwrap();
    assert_eq!(bought.status, StatusCode::OK, "{}", bought.text());
    assert_eq!(bought.json()["remaining"], 0);
    let sold_out = stack
        .post_json(&format!("/api/items/{id}/buy"), r#"{"quantity":1}"#)
        .await
        .unwrap();
    assert_eq!(sold_out.status, StatusCode::CONFLICT);
    assert_eq!(sold_out.json()["error"], "This item is sold out.");
}

/// A seller's program uploads a phone photo through nginx; the item lists it, and the
/// photo comes back from the stack (the second time from nginx's cache) as the JPEG the
/// URL names, upright and without the phone's metadata.
async fn a_photo_goes_up_and_comes_back(stack: &Stack) {
    let id = list_by_api(stack, "Photographed lamp", 1).await["id"]
        .as_i64()
        .unwrap();
    // Its seller: `list_by_api` lists as the merchant.
    let bearer = stack.merchant().await.unwrap().bearer();
    let phone = market_tests::images::phone_jpeg(4032, 3024, 6, true);
    let uploaded = send_to(
        stack.addr(),
        Method::POST,
        &format!("/api/items/{id}/photos"),
        &[("content-type", "image/jpeg"), ("authorization", &bearer)],
        Bytes::from(phone),
    )
    .await
    .unwrap();
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.text());
    let photo = uploaded.json();
    assert_eq!(item(stack, id).await["photos"][0], photo);
    let url = photo["url"].as_str().unwrap();
    let first = stack.get(url).await.unwrap();
    let second = stack.get(url).await.unwrap();
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.header("content-type"), Some("image/jpeg"));
    assert_eq!(second.header("x-cache-status"), Some("HIT"));
    assert_eq!(second.body, first.body);
    let hash = url.trim_start_matches("/photos/").trim_end_matches(".jpg");
    assert_eq!(
        market::domain::photo::Digest::of(&first.body).as_str(),
        hash
    );
    let shown = market_tests::images::decode(&first.body);
    assert_eq!((shown.width(), shown.height()), (1200, 1600), "upright");
    for secret in market_tests::images::SECRETS {
        assert!(!first.body.windows(secret.len()).any(|w| w == *secret));
    }
}

/// An anonymous read is answered from nginx's cache the second time.
async fn anonymous_reads_come_from_the_edge_cache(stack: &Stack, id: i64) {
    for path in [
        "/".to_owned(),
        format!("/items/{id}"),
        format!("/api/items/{id}"),
    ] {
        let first = stack.get(&path).await.unwrap();
        let second = stack.get(&path).await.unwrap();
        assert_eq!(first.status, StatusCode::OK, "{path}");
        assert!(first.cookies().is_empty(), "{path} sets no cookie");
        assert_eq!(second.header("x-cache-status"), Some("HIT"), "{path}");
        assert_eq!(second.body, first.body, "{path}");
    }
}

/// With the app stopped (`docker compose stop app`), anonymous reads nginx has kept are
/// answered from its cache, marked stale, and writes get 503 as JSON; once the app is
/// started again, everything is served again.
async fn an_app_outage_is_answered_from_the_cache(stack: &Stack, id: i64) {
    let kept = [format!("/items/{id}"), format!("/api/items/{id}")];
    for path in &kept {
        assert_eq!(stack.get(path).await.unwrap().status, StatusCode::OK);
    }
    stack.compose(&["stop", "app"]).unwrap();
    tokio::time::sleep(Duration::from_millis(2_100)).await; // the kept copies expire
    for path in &kept {
        let stale = stack.get(path).await.unwrap();
        assert_eq!(stale.status, StatusCode::OK, "{path}: {}", stale.text());
        assert_eq!(stale.header("x-cache-status"), Some("STALE"), "{path}");
    }
    let write = stack
        .post_json(
            "/api/items",
            r#"{"name":"x","quantity":1,"price":"1","description":"y"}"#,
        )
        .await
        .unwrap();
    // nginx cannot reach the stopped container: 504 once its 2 s to connect are up (a
    // refused connection would be 503), JSON with Retry-After either way.
    assert!(
        [StatusCode::SERVICE_UNAVAILABLE, StatusCode::GATEWAY_TIMEOUT].contains(&write.status),
        "{}",
        write.status
    );
    assert!(write.header("retry-after").is_some());
    assert!(write.json()["error"].is_string());
    stack.compose(&["start", "app"]).unwrap();
    let started = Instant::now();
    while stack.get("/?q=after+the+outage").await.unwrap().status != StatusCode::OK {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{}",
            stack.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// While `db` is stopped, pages and the API answer 503 with `Retry-After` (a person's,
/// which never come from the cache; nginx keeps no copy for an error the app answers);
/// once it is started again, the app serves again by itself. Returns how long recovery
/// took.
async fn a_database_restart_is_a_503_then_recovers_by_itself(stack: &Stack, id: i64) -> Duration {
    stack.compose(&["stop", "db"]).unwrap();
    let kept = format!("/api/items/{id}");
    let mut references = Vec::new();
    let session = stack.shopper().await.unwrap().session_cookie();
    let bearer = stack.shopper().await.unwrap().bearer();
    for (path, header) in [
        ("/".to_owned(), ("cookie", session.as_str())),
        (kept.clone(), ("authorization", bearer.as_str())),
    ] {
        let response = send_to(
            stack.addr(),
            hyper::Method::GET,
            &path,
            &[header],
            "".into(),
        )
        .await
        .unwrap();
        assert_eq!(
            response.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{path}: {}",
            response.text()
        );
        assert!(response.header("retry-after").is_some(), "{path}");
        assert_no_internals(&response.text());
        let reference = response.header("x-request-id").unwrap().to_owned();
        assert!(
            response.text().contains(&reference),
            "{path} shows its reference"
        );
        references.push(reference);
    }
    the_reference_finds_the_cause_in_the_logs(stack, &references).await;
    stack.compose(&["start", "db"]).unwrap();
    let started = Instant::now();
    loop {
        let response = stack.get(&format!("/api/items/{id}")).await.unwrap();
        if response.status == StatusCode::OK {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "still {} a minute after db started again:\n{}",
            response.status,
            stack.logs()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// What an operator does with the reference a person quotes: `docker compose logs app
/// nginx` has the app's error line with the cause, its request line, and nginx's access
/// line with the instance that answered, each with that id.
async fn the_reference_finds_the_cause_in_the_logs(stack: &Stack, references: &[String]) {
    let started = Instant::now();
    for reference in references {
        loop {
            let logs = stack.service_logs(&["app", "nginx"]);
            let lines: Vec<Value> = json_lines(&logs)
                .into_iter()
                .filter(|line| line["request_id"] == reference.as_str())
                .collect();
            let kind = |kind: &str| lines.iter().find(|line| line["kind"] == kind).cloned();
            if let (Some(error), Some(request), Some(access)) =
                (kind("error"), kind("request"), kind("access"))
            {
                assert!(
                    error["cause"].as_str().unwrap().contains("Postgres"),
                    "{error}"
                );
                assert_eq!(request["status"], 503);
                assert_eq!(access["status"], 503);
                assert!(
                    access["upstream"].as_str().unwrap().ends_with(":3000"),
                    "{access}"
                );
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no error, request and access line for {reference}: {lines:#?}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

#[tokio::test]
async fn the_stack_comes_up_in_order_serves_people_and_programs_keeps_its_data_and_recovers() {
    let volumes_before = all_volumes().unwrap();
    let stack = Stack::new("marketplace-test", &project_dir(), &["docker-compose.yml"]).unwrap();
    let took = stack.up().unwrap();
    println!("base stack: up --build --wait took {took:.1?}");
    started_in_order_and_healthy(&stack);
    only_nginx_is_published(&stack);

    let id = a_person_sells_and_another_buys_with_the_forms(&stack).await;
    the_seller_is_emailed_the_sale(&stack, id).await;
    a_program_uses_the_api(&stack).await;
    a_photo_goes_up_and_comes_back(&stack).await;
    anonymous_reads_come_from_the_edge_cache(&stack, id).await;

    stack.compose(&["down"]).unwrap();
    let again = stack.up().unwrap();
    println!("base stack: down, then up --wait again took {again:.1?}");
    assert_eq!(
        item(&stack, id).await["quantity"],
        3,
        "the data survived down/up"
    );

    an_app_outage_is_answered_from_the_cache(&stack, id).await;
    let recovered = a_database_restart_is_a_503_then_recovers_by_itself(&stack, id).await;
    println!("base stack: served again {recovered:.1?} after db started again");

    stack.compose(&["down", "--volumes"]).unwrap();
    assert_eq!(stack.volumes().unwrap(), Vec::<String>::new());
    let mut left = all_volumes().unwrap();
    left.retain(|volume| !volumes_before.contains(volume));
    assert_eq!(
        left,
        Vec::<String>::new(),
        "down -v leaves no volume behind"
    );
}
