//! What an operator sees: one request id from nginx through Spin to the log line with the
//! cause and the error the person sees, one JSON line per request with the fields to
//! count by, nginx's JSON access log, and Spin's OTLP export of the request's trace.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use hyper::{Method, StatusCode};
use market_tests::forms::{FilledForm, csrf_token_of_session};
use market_tests::nginx::Nginx;
use market_tests::otlp::{self, Receiver};
use market_tests::redis::RedisServer;
use market_tests::shop::{ApiItem, SellFields, buy_with_key, create_with_key_as};
use market_tests::testing::{
    TestApp, TestResponse, json_headers, json_lines, merchant, send_to, shopper, spawn_app,
    spawn_app_with_environment, spawn_app_with_own_cluster, spawn_app_with_variables,
};
use serde_json::Value;

use crate::assert_no_internals;

fn is_request_id(text: &str) -> bool {
    text.len() == 32
        && text
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// The request's id as the response carries it.
fn id_of(response: &TestResponse) -> String {
    let id = response
        .header("x-request-id")
        .expect("every response carries its X-Request-Id")
        .to_owned();
    assert!(is_request_id(&id), "{id}");
    id
}

/// The lines with this request id.
fn lines_of<'a>(lines: &'a [Value], id: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|line| line["request_id"] == id)
        .collect()
}

/// The one request line of the request `id`.
fn request_line<'a>(lines: &'a [Value], id: &str) -> &'a Value {
    let found: Vec<&Value> = lines_of(lines, id)
        .into_iter()
        .filter(|line| line["kind"] == "request")
        .collect();
    assert_eq!(found.len(), 1, "one request line for {id}: {lines:#?}");
    found[0]
}

async fn through(
    nginx: &Nginx,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
) -> TestResponse {
    send_to(nginx.addr, method, path, headers, Bytes::new())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_failure_shows_the_person_the_id_that_finds_its_cause_in_the_log() {
    let app = spawn_app_with_own_cluster().await;
    let nginx = Nginx::start(&Nginx::project_conf_d(), app.addr()).unwrap();
    app.own_cluster.as_ref().unwrap().stop().unwrap();

    let page = through(&nginx, Method::GET, "/", &[]).await;
    let api = through(&nginx, Method::GET, "/api/items", &[]).await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(api.status, StatusCode::SERVICE_UNAVAILABLE);
    let (page_id, api_id) = (id_of(&page), id_of(&api));
    assert_ne!(page_id, api_id);
    assert!(
        page.text()
            .contains(&format!("Reference: <code>{page_id}</code>")),
        "{}",
        page.text()
    );
    assert_eq!(api.json()["reference"], api_id.as_str());
    assert_no_internals(&page.text());
    assert_no_internals(&api.text());

    let lines = app.log_lines_after(&[&page_id, &api_id]).await;
    for (id, component, route) in [(&page_id, "pages", "/"), (&api_id, "items", "/api/items")] {
        let errors: Vec<&Value> = lines_of(&lines, id)
            .into_iter()
            .filter(|line| line["kind"] == "error")
            .collect();
        assert_eq!(errors.len(), 1, "one error line for {id}: {lines:#?}");
        let error = errors[0];
        assert_eq!(error["level"], "error");
        assert_eq!(error["status"], 503);
        assert_eq!(error["component"], component);
        assert!(
            error["cause"].as_str().unwrap().contains("Postgres"),
            "the cause is in the log: {error}"
        );
        let request = request_line(&lines, id);
        assert_eq!(request["status"], 503);
        assert_eq!(request["level"], "error");
        assert_eq!(request["route"], route);
        assert_eq!(request["component"], component);
    }

    // nginx's JSON access line of the same request: the instance and its time.
    let access = json_lines(&nginx.access_log());
    let line = access
        .iter()
        .find(|line| line["request_id"] == page_id.as_str())
        .unwrap_or_else(|| panic!("no access line for {page_id}: {access:#?}"));
    assert_eq!(line["component"], "nginx");
    assert_eq!(line["status"], 503);
    assert_eq!(line["level"], "error");
    assert_eq!(line["path"], "/");
    assert_eq!(line["upstream"], app.addr().to_string());
    assert_eq!(line["upstream_status"], "503");
    assert!(
        line["upstream_s"].as_str().unwrap().parse::<f64>().is_ok(),
        "{line}"
    );
    assert!(line["duration_s"].as_f64().is_some(), "{line}");
}

#[tokio::test]
async fn a_clients_request_id_is_kept_only_when_well_formed() {
    let app = spawn_app().await;
    let nginx = Nginx::start(&Nginx::project_conf_d(), app.addr()).unwrap();
    let kept = "0af7651916cd43dd8448eb211c80319c";
    let response = through(&nginx, Method::GET, "/", &[("x-request-id", kept)]).await;
    assert_eq!(id_of(&response), kept);
    for forged in [
        "0AF7651916CD43DD8448EB211C80319C",
        "0af7651916cd43dd8448eb211c80319",
        "00000000000000000000000000000000",
        "my-request",
        "0af7651916cd43dd8448eb211c80319c\",\"level\":\"info",
    ] {
        let response = through(&nginx, Method::GET, "/", &[("x-request-id", forged)]).await;
        assert_eq!(response.status, StatusCode::OK);
        let replaced = id_of(&response);
        assert_ne!(replaced, forged);
    }
    // nginx's own answers carry it too, and show it on their error page.
    let refused = through(&nginx, Method::GET, "/health", &[]).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    let id = id_of(&refused);
    assert!(refused.text().contains(&id), "{}", refused.text());
    let access = json_lines(&nginx.access_log_with(&id).await);
    let line = access
        .iter()
        .find(|line| line["request_id"] == id.as_str())
        .unwrap();
    assert_eq!(
        line["path"], "/health",
        "the path asked for, not nginx's error page"
    );
    assert_eq!(line["status"], 404);

    // Straight to Spin (no nginx in front): the app gives the request an id of its own.
    let direct = app.get("/").await;
    let id = id_of(&direct);
    let lines = app.log_lines_after(&[&id, kept]).await;
    assert_eq!(request_line(&lines, &id)["status"], 200);
    // The id nginx sent is the one the app logs.
    assert_eq!(request_line(&lines, kept)["route"], "/");
}

#[tokio::test]
async fn every_request_of_a_burst_has_its_line_whole() {
    // The components write their lines without waiting for Spin to pass them on: none
    // may be lost or cut, whatever the concurrency.
    let app = spawn_app().await;
    let requests = (0..200).map(|round| {
        let path = if round % 2 == 0 { "/" } else { "/api/items" };
        send_to(app.addr(), Method::GET, path, &[], Bytes::new())
    });
    let responses: Vec<TestResponse> = futures::future::join_all(requests)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let ids: Vec<String> = responses.iter().map(id_of).collect();
    let lines = app
        .log_lines_after(&ids.iter().map(String::as_str).collect::<Vec<_>>())
        .await;
    for id in &ids {
        assert_eq!(request_line(&lines, id)["status"], 200);
    }
    let log = app.log();
    let broken: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("\"kind\":"))
        .filter(|line| serde_json::from_str::<Value>(line).is_err())
        .collect();
    assert_eq!(broken, Vec::<&str>::new(), "lines cut or interleaved");
}

#[tokio::test]
async fn a_sell_a_browse_and_buys_each_log_one_line_with_what_they_came_to() {
    let app = spawn_app().await;
    let addr = app.addr();
    let miss = app.get("/").await;
    let hit = app.get("/").await;
    let description = "Hand-thrown, glazed in deep blue; one of a kind";
    let form = FilledForm::from_home(
        addr,
        &shopper().session_cookie(),
        "/items",
        &SellFields::valid().with("description", description).pairs(),
    )
    .await
    .unwrap();
    let sold = form.submit(addr).await.unwrap();
    assert_eq!(sold.status, StatusCode::SEE_OTHER);
    let after_sell = app.get("/").await;

    let key = "buy-key-0123456789abcdef";
    // The merchant lists what the shopper buys (nobody buys their own listing).
    let created = create_with_key_as(
        &app,
        merchant(),
        "sell-key-0123456789",
        &ApiItem::named("Blue bowl").quantity(1).json(),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let item = created.json()["id"].as_i64().unwrap();
    let bought = buy_with_key(&app, item, key, 1).await;
    let replayed = buy_with_key(&app, item, key, 1).await;
    let sold_out = buy_with_key(&app, item, "another-key-0123456789", 1).await;
    assert_eq!(
        (bought.status, replayed.status, sold_out.status),
        (StatusCode::OK, StatusCode::OK, StatusCode::CONFLICT)
    );

    let responses = [
        &miss,
        &hit,
        &sold,
        &after_sell,
        &bought,
        &replayed,
        &sold_out,
    ];
    let ids: Vec<String> = responses.iter().map(|response| id_of(response)).collect();
    let lines = app
        .log_lines_after(&ids.iter().map(String::as_str).collect::<Vec<_>>())
        .await;
    let line = |response: &TestResponse| request_line(&lines, &id_of(response)).clone();
    for (response, cache) in [(&miss, "miss"), (&hit, "hit"), (&after_sell, "miss")] {
        let browse = line(response);
        assert_eq!(browse["route"], "/");
        assert_eq!(browse["method"], "GET");
        assert_eq!(browse["status"], 200);
        assert_eq!(browse["cache"], cache, "{browse}");
        assert_eq!(browse["component"], "pages");
        assert_eq!(browse["level"], "info");
    }
    assert_eq!(line(&hit)["db_calls"], 0, "a hit asks Postgres nothing");
    assert!(line(&miss)["db_calls"].as_u64().unwrap() >= 1);

    let sell = line(&sold);
    // The sell form is the photos component's: it may carry photos.
    assert_eq!(sell["component"], "photos");
    assert_eq!(sell["method"], "POST");
    assert_eq!(sell["route"], "/items");
    assert_eq!(sell["status"], 303);
    assert_eq!(sell["use_case"], "sell");
    assert_eq!(sell["outcome"], "listed");
    assert!(sell["db_us"].as_u64().unwrap() > 0, "{sell}");
    assert!(sell["duration_us"].as_u64().unwrap() >= sell["db_us"].as_u64().unwrap());
    assert!(sell["time"].as_str().unwrap().ends_with('Z'), "{sell}");
    assert_eq!(sell.get("cache"), None, "a sell reads no listing");

    for (response, outcome, status) in [
        (&bought, "sold", 200),
        (&replayed, "replayed", 200),
        (&sold_out, "sold_out", 409),
    ] {
        let buy = line(response);
        assert_eq!(
            buy["route"], "/api/items/{id}/buy",
            "the pattern, not the path"
        );
        assert_eq!(
            (&buy["use_case"], &buy["outcome"]),
            (&"buy".into(), &outcome.into())
        );
        assert_eq!(buy["status"], status);
    }

    // The operator's numbers from these lines (scripts/ops-report, README Observability).
    let numbers = ops_report(&app.log());
    let count = |use_case: &str, outcome: &str| {
        numbers["use_cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["use_case"] == use_case && row["outcome"] == outcome)
            .map_or(0, |row| row["count"].as_u64().unwrap())
    };
    assert_eq!(count("sell", "listed"), 2, "{numbers:#}");
    assert_eq!(count("buy", "sold"), 1);
    assert_eq!(count("buy", "replayed"), 1);
    assert_eq!(count("buy", "sold_out"), 1);
    let browses: Vec<&Value> = lines
        .iter()
        .filter(|line| line["kind"] == "request" && line["route"] == "/")
        .collect();
    let hits = browses.iter().filter(|line| line["cache"] == "hit").count();
    let misses = browses
        .iter()
        .filter(|line| line["cache"] == "miss")
        .count();
    assert_eq!(numbers["cache"]["hit"], hits);
    assert_eq!(numbers["cache"]["miss"], misses);
    let ratio = numbers["cache"]["hit_ratio"].as_f64().unwrap();
    assert!(
        (ratio - hits as f64 / (hits + misses) as f64).abs() < 0.001,
        "{ratio}"
    );
    assert_eq!(numbers["latency"]["GET /"]["count"], browses.len());
    assert_eq!(numbers["latency"]["POST /api/items/{id}/buy"]["count"], 3);

    // Nothing a person typed or holds reaches the log: not the body, cookie or keys.
    let log = app.log();
    let session = form.cookie().trim_start_matches("session=").to_owned();
    let csrf = csrf_token_of_session(&session);
    for secret in [
        description,
        session.as_str(),
        csrf.as_str(),
        key,
        "sell-key-0123456789",
    ] {
        assert!(!log.contains(secret), "{secret:?} is in the log");
    }
    let per_request: Vec<usize> = log
        .lines()
        .filter(|text| text.starts_with('{'))
        .map(|text| text.len() + 1)
        .collect();
    println!(
        "log volume: {} lines, {} bytes, {} bytes per line on average, the longest {}",
        per_request.len(),
        per_request.iter().sum::<usize>(),
        per_request.iter().sum::<usize>() / per_request.len(),
        per_request.iter().max().unwrap()
    );
}

/// `scripts/ops-report --json` over these log lines.
fn ops_report(log: &str) -> Value {
    use std::io::Write;
    let script = market_tests::testing::project_dir().join("scripts/ops-report");
    let mut child = std::process::Command::new(script)
        .arg("--json")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("running scripts/ops-report");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(log.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "scripts/ops-report failed");
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test]
async fn a_password_in_the_connection_string_never_reaches_the_log() {
    // A port the allowed hosts do not name: Spin refuses the address, and its error (the
    // cause) names it, without the user and password (Spin 4.0.2). Causes that do quote
    // a password are masked by `redact`, whose unit tests cover each shape.
    let url = "postgres://market_app:Never-Logged-9f3b@127.0.0.1:1/market?sslmode=disable";
    let app = spawn_app_with_variables(HashMap::from([("db_url", url.to_owned())])).await;
    assert_eq!(app.get("/").await.status, StatusCode::INTERNAL_SERVER_ERROR);
    let log = app.log();
    let causes: Vec<String> = json_lines(&log)
        .iter()
        .filter(|line| line["kind"] == "error")
        .map(|line| line["cause"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        causes.iter().any(|cause| cause.contains("not permitted")),
        "the refused address is the cause: {causes:?}"
    );
    assert!(!log.contains("Never-Logged-9f3b"), "{log}");
}

/// What Spin exports with `OTEL_EXPORTER_OTLP_ENDPOINT` set, to a real OTLP receiver.
async fn observed_app(receiver: &Receiver, redis: &RedisServer) -> TestApp {
    let variables = HashMap::from([
        ("cache_redis_url".to_owned(), redis.url()),
        ("cache_redis_host".to_owned(), "127.0.0.1".to_owned()),
        ("cache_redis_port".to_owned(), redis.addr.port().to_string()),
    ]);
    let environment = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint()),
        ("OTEL_SERVICE_NAME", "marketplace".to_owned()),
        ("OTEL_BSP_SCHEDULE_DELAY", "200".to_owned()),
        ("OTEL_BLRP_SCHEDULE_DELAY", "200".to_owned()),
        ("OTEL_METRIC_EXPORT_INTERVAL", "500".to_owned()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    spawn_app_with_environment(variables, environment).await
}

#[tokio::test]
async fn spin_exports_the_trace_of_a_sell_under_the_request_id_with_its_postgres_and_redis_calls() {
    let receiver = Receiver::start().await.unwrap();
    let redis = RedisServer::start().unwrap();
    let app = observed_app(&receiver, &redis).await;
    let nginx = Nginx::start(&Nginx::project_conf_d(), app.addr()).unwrap();
    let id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let body = ApiItem::named("Traced bowl").quantity(3).json();
    let created = send_to(
        nginx.addr,
        Method::POST,
        "/api/items",
        &[json_headers()[0], json_headers()[1], ("x-request-id", id)],
        Bytes::from(body),
    )
    .await
    .unwrap();
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(id_of(&created), id);

    let spans = receiver
        .wait_for(Duration::from_secs(20), |received| {
            let spans: Vec<otlp::Span> = received
                .spans
                .iter()
                .filter(|span| span.trace_id == id)
                .cloned()
                .collect();
            let has = |system: &str| {
                spans.iter().any(|span| {
                    span.attributes
                        .get("db.system")
                        .is_some_and(|s| s == system)
                })
            };
            (has("postgresql") && has("redis")).then_some(spans)
        })
        .await
        .unwrap();
    let names: Vec<&str> = spans.iter().map(|span| span.name.as_str()).collect();
    println!("the trace {id} as received:");
    for span in &spans {
        let shown: Vec<String> = ["http.route", "http.response.status_code", "db.system"]
            .iter()
            .filter_map(|key| Some(format!("{key}={}", span.attributes.get(*key)?)))
            .collect();
        let name: String = span.name.split_whitespace().collect::<Vec<_>>().join(" ");
        println!(
            "  span {} parent {} {:.90} {}",
            span.span_id,
            span.parent_span_id,
            name,
            shown.join(" ")
        );
    }
    assert!(
        spans.iter().all(|span| span.service == "marketplace"),
        "{spans:#?}"
    );
    let server = spans
        .iter()
        .find(|span| {
            span.attributes
                .get("http.request.method")
                .is_some_and(|m| m == "POST")
        })
        .unwrap_or_else(|| panic!("no server span: {names:?}"));
    assert_eq!(server.attributes["http.route"], "/api/...");
    assert_eq!(server.attributes["http.response.status_code"], "201");
    // Its parent is nginx's part of the trace (the id's second half).
    assert_eq!(server.parent_span_id, id[16..]);
    assert!(
        names.contains(&"execute_wasm_component items"),
        "the component's span: {names:?}"
    );

    // The component's log line of the request arrives as a log record (whose request id
    // is the trace id; Spin 4.0.2 sets no trace id on the record itself), and as an
    // event of a span of the trace.
    let record = receiver
        .wait_for(Duration::from_secs(20), |received| {
            received
                .logs
                .iter()
                .find(|record| {
                    serde_json::from_str::<Value>(&record.body)
                        .is_ok_and(|line| line["request_id"] == id && line["kind"] == "request")
                })
                .cloned()
        })
        .await
        .unwrap();
    assert_eq!(record.attributes["component_id"], "items");
    println!(
        "its log record: {:?} {}",
        record.attributes,
        record.body.trim_end()
    );
    let line: Value = serde_json::from_str(&record.body).unwrap();
    assert_eq!(
        (&line["use_case"], &line["outcome"]),
        (&"sell".into(), &"listed".into())
    );
    assert!(
        spans
            .iter()
            .flat_map(|span| &span.events)
            .any(|(_, attributes)| attributes.values().any(|text| text.contains(id))),
        "the log line is an event of a span of the trace"
    );

    // Spin's own metrics arrive too (requests per component).
    receiver
        .wait_for(Duration::from_secs(20), |received| {
            received
                .metrics
                .iter()
                .any(|name| name == "spin.request_count")
                .then_some(())
        })
        .await
        .unwrap();
}
