//! docker-compose.yml with compose.scale.yml: three app replicas behind nginx sharing
//! the listing cache in Redis.

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use futures::future::join_all;
use hyper::{Method, StatusCode};
use market_tests::compose::Stack;
use market_tests::testing::{TestResponse, json_lines, project_dir, send_to};

use crate::{item, list_by_api};

const REPLICAS: usize = 3;

/// Buys one unit with its own `Idempotency-Key`, as a polite client does: a 429 from the
/// edge is retried after the `Retry-After` it names, with the same key.
async fn buy_one_politely(stack: &Stack, id: i64, buyer: usize) -> TestResponse {
    let key = format!("scale-buyer-{buyer}");
    let bearer = stack.shopper().await.unwrap().bearer();
    let headers = [
        ("content-type", "application/json"),
        ("idempotency-key", key.as_str()),
        ("authorization", bearer.as_str()),
    ];
    let path = format!("/api/items/{id}/buy");
    loop {
        let body = Bytes::from_static(br#"{"quantity":1}"#);
        let response = send_to(stack.addr(), Method::POST, &path, &headers, body)
            .await
            .unwrap();
        if response.status != StatusCode::TOO_MANY_REQUESTS {
            return response;
        }
        let wait: u64 = response
            .header("retry-after")
            .and_then(|seconds| seconds.parse().ok())
            .expect("a 429 says when to retry");
        tokio::time::sleep(Duration::from_secs(wait)).await;
    }
}

#[tokio::test]
async fn replicas_behind_nginx_share_writes_at_once_and_never_sell_a_unit_twice() {
    let stack = Stack::new(
        "marketplace-test-scale",
        &project_dir(),
        &["docker-compose.yml", "compose.scale.yml"],
    )
    .unwrap();
    let took = stack.up().unwrap();
    println!("scale stack: up --build --wait took {took:.1?}");
    let apps = stack.service_containers("app").unwrap();
    assert_eq!(apps.len(), REPLICAS);
    for container in apps
        .iter()
        .chain(&stack.service_containers("cache").unwrap())
    {
        assert_eq!(container["State"]["Health"]["Status"], "healthy");
    }

    // Each write is on the writer's very next read, page and API; round-robin over the
    // replicas means each round's reads come from other instances than its write (the
    // writer's requests never come from the edge cache; the write limit of the edge, 20
    // at once, bounds the rounds). An anonymous reader, answered by nginx's cache, sees
    // it within 2 s.
    // The writer: `list_by_api` lists as the merchant. The shopper, who buys below,
    // signs up now too (4 writes with the merchant's sign-up, before the rounds' 12).
    let writer = stack.merchant().await.unwrap().clone();
    stack.shopper().await.unwrap();
    let (session, bearer) = (writer.session_cookie(), writer.bearer());
    let read = |path: &'static str, header: (&'static str, String)| {
        let addr = stack.addr();
        async move {
            send_to(
                addr,
                Method::GET,
                path,
                &[(header.0, &header.1)],
                Bytes::new(),
            )
            .await
            .unwrap()
        }
    };
    for round in 0..12 {
        let name = format!("Round {round} chair");
        let id = list_by_api(&stack, &name, 1).await["id"].as_i64().unwrap();
        let acknowledged = std::time::Instant::now();
        for _ in 0..REPLICAS {
            let newest = read("/api/items?limit=1", ("authorization", bearer.clone()))
                .await
                .json();
            assert_eq!(newest["items"][0]["id"], id, "round {round}");
            let home = read("/", ("cookie", session.clone())).await.text();
            assert!(home.contains(&name), "round {round}: the page is stale");
        }
        loop {
            let anonymous = stack.get("/").await.unwrap().text();
            if anonymous.contains(&name) {
                break;
            }
            assert!(
                acknowledged.elapsed() < Duration::from_millis(2_250),
                "round {round}: an anonymous reader waited over 2 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    // Waits out the write limit's burst, then 30 buyers at once for 10 units.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let id = list_by_api(&stack, "Last ten lamps", 10).await["id"]
        .as_i64()
        .unwrap();
    let buyers = (0..30).map(|buyer| buy_one_politely(&stack, id, buyer));
    let responses = join_all(buyers).await;
    let sold = responses
        .iter()
        .filter(|response| response.status == StatusCode::OK)
        .count();
    let refused = responses
        .iter()
        .filter(|response| response.status == StatusCode::CONFLICT)
        .count();
    assert_eq!((sold, refused), (10, 20), "{responses:?}");
    assert_eq!(item(&stack, id).await["quantity"], 0);

    every_buy_is_in_the_logs_with_the_replica_that_answered(&stack, &responses).await;
}

/// The buys' outcomes, as an operator counts them from `docker compose logs app nginx`:
/// each buy's request line (from whichever replica answered) says sold or sold out, and
/// nginx's access line names that replica; the replicas all took part.
async fn every_buy_is_in_the_logs_with_the_replica_that_answered(
    stack: &Stack,
    responses: &[TestResponse],
) {
    let ids: Vec<&str> = responses
        .iter()
        .map(|response| response.header("x-request-id").unwrap())
        .collect();
    let started = std::time::Instant::now();
    loop {
        let lines = json_lines(&stack.service_logs(&["app", "nginx"]));
        let of = |id: &str, kind: &str| {
            lines
                .iter()
                .find(|line| line["request_id"] == id && line["kind"] == kind)
                .cloned()
        };
        let found: Option<Vec<(serde_json::Value, serde_json::Value)>> = ids
            .iter()
            .map(|id| Some((of(id, "request")?, of(id, "access")?)))
            .collect();
        if let Some(found) = found {
            let outcomes = |outcome: &str| {
                found
                    .iter()
                    .filter(|(request, _)| request["outcome"] == outcome)
                    .count()
            };
            assert_eq!((outcomes("sold"), outcomes("sold_out")), (10, 20));
            let replicas: HashSet<&str> = found
                .iter()
                .map(|(_, access)| access["upstream"].as_str().unwrap())
                .collect();
            assert_eq!(replicas.len(), REPLICAS, "{replicas:?}");
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not every buy has a request and an access line"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
