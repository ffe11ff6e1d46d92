//! 300 requests in flight at once, mixing browse, sell and buy, against a Postgres that
//! allows exactly the connections docker-compose.yml gives it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use hyper::{Method, StatusCode};
use market_tests::cluster::PgCluster;
use market_tests::testing::{connect, json_headers, project_dir, spawn_app_on_cluster};

use market_tests::shop::list_item;

/// Spin's Postgres pool: up to 64 connections per component per connection string
/// (Spin 4.0.x has no setting for it).
const POOL_SIZE: i64 = 64;
const IN_FLIGHT: usize = 300;
const REQUESTS: usize = 3_000;

/// Postgres' `max_connections` as docker-compose.yml sets it.
fn compose_max_connections() -> u32 {
    let compose = std::fs::read_to_string(project_dir().join("docker-compose.yml")).unwrap();
    compose
        .split("max_connections=")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|digits| digits.parse().ok())
        .expect("docker-compose.yml sets max_connections for db")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_hundred_concurrent_requests_stay_within_the_connection_limit() {
    let max_connections = compose_max_connections();
    // Three components, each with Spin's pool, plus this test's two connections.
    assert!(
        3 * POOL_SIZE as u32 + 2 < max_connections,
        "compose leaves room for Spin's pools"
    );
    let cluster = PgCluster::start_with_max_connections(max_connections).unwrap();
    let app = Arc::new(spawn_app_on_cluster(cluster).await);
    let mut stock = Vec::new();
    for n in 0..20 {
        stock.push(list_item(&app, &format!("Stock {n}"), 1_000_000).await);
    }

    // Samples the number of server processes serving clients while the load runs.
    let sampler_db = connect(&app.db_url).await;
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicUsize::new(0));
    let sampler = {
        let (done, peak) = (done.clone(), peak.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                let row = sampler_db
                    .query_one("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'", &[])
                    .await
                    .unwrap();
                peak.fetch_max(row.get::<_, i64>(0) as usize, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            sampler_db
        })
    };

    let started = Instant::now();
    let statuses: Vec<StatusCode> = futures::stream::iter(0..REQUESTS)
        .map(|n| {
            let app = app.clone();
            let item = stock[n % stock.len()];
            async move {
                let response = match n % 3 {
                    0 => app.get("/").await,
                    1 => {
                        let body = format!(
                            r#"{{"name":"Load {n}","quantity":5,"price":"9.99","description":"load test"}}"#
                        );
                        app.post_json("/api/items", &body).await
                    }
                    _ => {
                        app.send(
                            Method::POST,
                            &format!("/api/items/{item}/buy"),
                            &json_headers(),
                            r#"{"quantity":1}"#,
                        )
                        .await
                    }
                };
                response.status
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let sampler_db = sampler.await.unwrap();

    let server_errors = statuses.iter().filter(|s| s.is_server_error()).count();
    let peak = peak.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after: Vec<(String, i64)> = sampler_db
        .query(
            "SELECT coalesce(state, ''), count(*) FROM pg_stat_activity
             WHERE backend_type = 'client backend' GROUP BY 1 ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let active_after: i64 = after
        .iter()
        .filter(|(state, _)| state == "active")
        .map(|(_, n)| n)
        .sum();
    println!(
        "load: {REQUESTS} requests, {IN_FLIGHT} in flight, {:.0} req/s; {server_errors} 5xx; \
         peak {peak} Postgres client backends of max_connections {max_connections}; \
         kept open by Spin's pools: {}; after the load: {after:?}",
        REQUESTS as f64 / elapsed.as_secs_f64(),
        app.open_pg_connections().await
    );
    assert_eq!(
        server_errors, 0,
        "no 5xx (a 'too many clients' refusal would be a 503)"
    );
    assert!(
        statuses.iter().all(|s| s.is_success()),
        "every request was served"
    );
    assert!(
        peak < max_connections as usize,
        "stayed within max_connections"
    );
    assert!(app.open_pg_connections().await <= 3 * POOL_SIZE);
    assert_eq!(
        active_after, 1,
        "only the sampler's own query is still running"
    );
}
