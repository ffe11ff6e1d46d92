//! Several Spin instances, one truth: two real `spin up` processes on one PostgreSQL,
//! sharing one real Redis as the listing cache (`cache_redis_url`), behind the project's
//! nginx config with both as upstream servers.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::future::join_all;
use hyper::{Method, StatusCode};
use market_tests::forms::{csrf_token_for_cookies, presession};
use market_tests::nginx::Nginx;
use market_tests::testing::{
    Replicas, TestPerson, TestResponse, add_person, connect, get_at, item_names, json_headers,
    merchant, pg_work, send_from, send_to, spawn_replicas, spawn_replicas_on_own_cluster,
};
use serde_json::json;

use market_tests::shop::race_readers_and_writers;

/// `POST path` with JSON to the instance at `addr`, as the shopper's program.
async fn post(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: String,
) -> TestResponse {
    let mut all = json_headers().to_vec();
    all.extend_from_slice(headers);
    send_to(addr, Method::POST, path, &all, body.into())
        .await
        .unwrap()
}

/// Lists an item through the instance at `addr` as the merchant's program (what the
/// shopper buys: nobody buys their own listing); its id.
async fn create(addr: SocketAddr, name: &str, quantity: i32) -> i64 {
    let body = json!({"name": name, "quantity": quantity, "price": "5", "description": "d"});
    let bearer = merchant().bearer();
    let headers = [
        ("content-type", "application/json"),
        ("authorization", bearer.as_str()),
    ];
    let response = send_to(
        addr,
        Method::POST,
        "/api/items",
        &headers,
        body.to_string().into(),
    )
    .await
    .unwrap();
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_write_through_either_instance_is_on_the_very_next_read_through_the_other() {
    let replicas = spawn_replicas(2).await;
    let [a, b] = [replicas.instances[0].addr, replicas.instances[1].addr];

    for round in 0..100 {
        let (writer, reader) = if round % 2 == 0 { (a, b) } else { (b, a) };
        let name = format!("Round {round}");
        let id = create(writer, &name, 3).await;

        let page = get_at(reader, "/").await.text();
        let api = get_at(reader, "/api/items").await.json();
        assert!(
            page.contains(&name),
            "round {round}: the page through the other instance"
        );
        assert_eq!(
            api["items"][0]["name"],
            name.as_str(),
            "round {round}: the API"
        );

        let bought = post(
            reader,
            &format!("/api/items/{id}/buy"),
            &[],
            r#"{"quantity":2}"#.into(),
        )
        .await;
        assert_eq!(bought.status, StatusCode::OK);
        let api = get_at(writer, "/api/items").await.json();
        assert_eq!(
            api["items"][0]["quantity"], 1,
            "round {round}: the purchase, back through the first"
        );
    }
    // One key per cached rendering, each holding it (last byte: tag `P`) as the last reads put it.
    get_at(a, "/").await;
    get_at(a, "/api/items").await;
    let keys = redis_cli(&replicas, &["--no-raw", "keys", "*"]).await;
    let mut keys: Vec<_> = keys
        .iter()
        .map(|line| line.split_once(") ").unwrap().1)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["\"listing/first/api\"", "\"listing/first/page\""],
        "no leftovers"
    );
    for key in ["listing/first/api", "listing/first/page"] {
        let tag = redis_cli(&replicas, &["--raw", "getrange", key, "-1", "-1"]).await;
        assert_eq!(tag, ["P"], "{key} is cached in Redis");
    }
    let before = pg_work(&replicas.db).await;
    get_at(b, "/").await;
    get_at(a, "/api/items").await;
    assert_eq!(
        pg_work(&replicas.db).await,
        before,
        "reads through either instance come from Redis"
    );
}

/// The race of `cache::readers_racing_writers_never_leave_an_older_page_in_the_cache`,
/// over two instances sharing Redis: there the compare-and-swap is a Lua script.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readers_racing_writers_over_both_instances_never_leave_an_older_page_in_redis() {
    let replicas = spawn_replicas(2).await;
    race_readers_and_writers(&replicas.addrs()).await;
}

/// What redis-cli prints for `args`, line by line.
async fn redis_cli(replicas: &Replicas, args: &[&str]) -> Vec<String> {
    let output = tokio::process::Command::new("redis-cli")
        .args(["-p", &replicas.redis.addr.port().to_string()])
        .args(args)
        .output()
        .await
        .expect("redis-cli");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.contains("(empty"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_buyers_spread_over_both_instances_take_exactly_ten_units() {
    let replicas = spawn_replicas(2).await;
    let nginx = Nginx::start_with_upstreams(&Nginx::project_conf_d(), &replicas.addrs()).unwrap();
    let id = create(replicas.instances[0].addr, "Last ten", 10).await;

    // Half through nginx, each from an address of its own (as 25 people would), half
    // straight to the second instance.
    let responses = join_all((0..50).map(|buyer| {
        let (local, addr) = if buyer % 2 == 0 {
            (Some(client_address(buyer)), nginx.addr)
        } else {
            (None, replicas.addrs()[1])
        };
        let path = format!("/api/items/{id}/buy");
        async move {
            send_from(
                local,
                addr,
                Method::POST,
                &path,
                &json_headers(),
                r#"{"quantity":1}"#.into(),
            )
            .await
            .unwrap()
            .status
        }
    }))
    .await;

    let bought = responses.iter().filter(|s| **s == StatusCode::OK).count();
    let refused = responses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    let row = replicas
        .db
        .query_one(
            "SELECT (SELECT quantity FROM items WHERE id = $1),
                    (SELECT count(*) FROM purchases WHERE item_id = $1)",
            &[&id],
        )
        .await
        .unwrap();
    println!("50 buyers over two instances: {bought} bought, {refused} refused");
    assert_eq!((bought, refused), (10, 40));
    assert_eq!(row.get::<_, i32>(0), 0);
    assert_eq!(row.get::<_, i64>(1), 10);
}

/// A loopback address of its own for the `n`th client, so nginx rate-limits each apart.
fn client_address(n: usize) -> IpAddr {
    IpAddr::from([127, 0, 1, u8::try_from(n % 250).unwrap() + 1])
}

/// What the writers and readers saw while an instance was killed.
#[derive(Default)]
struct Seen {
    acknowledged: Vec<String>,
    /// Write attempts answered with something other than 201 before the retry.
    write_failures: HashMap<u16, usize>,
    reads: HashMap<u16, usize>,
    reads_after_kill: HashMap<u16, usize>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_one_instance_under_load_loses_no_acknowledged_write() {
    let mut replicas = spawn_replicas(2).await;
    let nginx = Nginx::start_with_upstreams(&Nginx::project_conf_d(), &replicas.addrs()).unwrap();
    let front = nginx.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let killed = Arc::new(AtomicBool::new(false));

    let writers = (0..8).map(|writer| {
        let (stop, killed) = (stop.clone(), killed.clone());
        tokio::spawn(async move {
            let mut seen = Seen::default();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let name = format!("w{writer}-{n}");
                let body = json!({"name": name, "quantity": 1, "price": "1", "description": "d"});
                // A client retries a failed write with the same key: never twice stored.
                let key = format!("kill-test-{name}");
                for _ in 0..20 {
                    let response = send_from(
                        Some(client_address(writer)),
                        front,
                        Method::POST,
                        "/api/items",
                        &[
                            json_headers()[0],
                            json_headers()[1],
                            ("idempotency-key", &key),
                        ],
                        body.to_string().into(),
                    )
                    .await;
                    match response {
                        Ok(r) if r.status == StatusCode::CREATED => {
                            seen.acknowledged.push(name.clone());
                            break;
                        }
                        Ok(r) => *seen.write_failures.entry(r.status.as_u16()).or_default() += 1,
                        Err(_) => *seen.write_failures.entry(0).or_default() += 1,
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                let read = get_at(front, "/").await.status.as_u16();
                let reads = if killed.load(Ordering::Relaxed) {
                    &mut seen.reads_after_kill
                } else {
                    &mut seen.reads
                };
                *reads.entry(read).or_default() += 1;
                n += 1;
                // A person's pace, within nginx's write limit for one address.
                tokio::time::sleep(Duration::from_millis(120)).await;
            }
            seen
        })
    });
    let writers: Vec<_> = writers.collect();

    tokio::time::sleep(Duration::from_millis(1500)).await;
    replicas.instances[0].kill();
    let killed_at = Instant::now();
    killed.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut seen = Seen::default();
    for writer in writers {
        let part = writer.await.unwrap();
        seen.acknowledged.extend(part.acknowledged);
        for (target, from) in [
            (&mut seen.write_failures, part.write_failures),
            (&mut seen.reads, part.reads),
            (&mut seen.reads_after_kill, part.reads_after_kill),
        ] {
            for (status, count) in from {
                *target.entry(status).or_default() += count;
            }
        }
    }

    let stored = item_names(&replicas.db).await;
    let unique: HashSet<&String> = stored.iter().collect();
    let acknowledged: HashSet<&String> = seen.acknowledged.iter().collect();
    println!(
        "kill under load: {} writes acknowledged, {} stored ({} distinct); failed write attempts \
         by status {:?}; reads before the kill {:?}, after {:?} (over {:?})",
        seen.acknowledged.len(),
        stored.len(),
        unique.len(),
        seen.write_failures,
        seen.reads,
        seen.reads_after_kill,
        killed_at.elapsed()
    );
    assert_eq!(stored.len(), unique.len(), "no write stored twice");
    assert_eq!(
        unique, acknowledged,
        "every acknowledged write stored, nothing else"
    );
    assert!(
        seen.reads_after_kill.keys().all(|status| *status == 200),
        "reads after the kill were all answered by the other instance: {:?}",
        seen.reads_after_kill
    );
    assert!(
        seen.reads_after_kill.values().sum::<usize>() > 10,
        "the load went on"
    );
}

#[tokio::test]
async fn when_redis_is_down_reads_fall_back_to_postgres_and_writes_succeed() {
    let mut replicas = spawn_replicas(2).await;
    let [a, b] = [replicas.instances[0].addr, replicas.instances[1].addr];
    create(a, "Before", 1).await;
    assert!(
        get_at(b, "/").await.text().contains("Before"),
        "cached in Redis"
    );

    replicas.redis.stop();
    let started = Instant::now();
    let page = get_at(b, "/").await;
    let written = post(
        a,
        "/api/items",
        &[],
        json!({"name": "During", "quantity": 1, "price": "1", "description": "d"}).to_string(),
    )
    .await;
    let after_write = get_at(b, "/api/items").await;
    let took = started.elapsed();

    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("Before"));
    assert_eq!(written.status, StatusCode::CREATED, "{}", written.text());
    assert_eq!(
        after_write.json()["items"][0]["name"],
        "During",
        "read from Postgres"
    );
    println!("with Redis down: a read, a write and a read in {took:?}");

    replicas.redis.start_server().unwrap();
    create(b, "After", 1).await;
    assert_eq!(
        get_at(a, "/api/items").await.json()["items"][0]["name"],
        "After"
    );
    assert_eq!(
        get_at(a, "/api/items").await.json()["items"][0]["name"],
        "After",
        "cached again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn beyond_the_app_roles_connection_limit_requests_get_503_and_postgres_stays_within_it() {
    const LIMIT: i64 = 12;
    let replicas = spawn_replicas_on_own_cluster(2).await;
    replicas
        .db
        .batch_execute(&format!("ALTER ROLE market_app CONNECTION LIMIT {LIMIT}"))
        .await
        .unwrap();
    let id = create(replicas.instances[0].addr, "Stock", 1_000_000).await;
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        let db = connect(&replicas.db_url).await;
        tokio::spawn(async move {
            let mut peak = 0;
            while sampling.load(Ordering::Relaxed) {
                let row = db
                    .query_one(
                        "SELECT count(*) FROM pg_stat_activity WHERE usename = 'market_app'",
                        &[],
                    )
                    .await
                    .unwrap();
                peak = peak.max(row.get::<_, i64>(0));
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            peak
        })
    };

    let addrs = replicas.addrs();
    let responses = join_all((0..300).map(|n| {
        let addr = addrs[n % 2];
        async move {
            match n % 3 {
                0 => get_at(addr, "/api/items?limit=10").await,
                1 => get_at(addr, &format!("/api/items/{id}")).await,
                _ => {
                    post(
                        addr,
                        &format!("/api/items/{id}/buy"),
                        &[],
                        r#"{"quantity":1}"#.into(),
                    )
                    .await
                }
            }
        }
    }))
    .await;
    sampling.store(false, Ordering::Relaxed);
    let peak = sampler.await.unwrap();

    let mut by_status: HashMap<u16, usize> = HashMap::new();
    for response in &responses {
        *by_status.entry(response.status.as_u16()).or_default() += 1;
        if response.status == StatusCode::SERVICE_UNAVAILABLE {
            assert!(response.header("retry-after").is_some());
            assert!(response.json()["error"].is_string());
        } else {
            assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        }
    }
    let bought = by_status.get(&200).copied().unwrap_or(0);
    println!(
        "connection budget: 300 requests over two instances with market_app limited to \
         {LIMIT} connections: {by_status:?}; peak {peak} connections of market_app"
    );
    assert!(
        peak <= LIMIT,
        "Postgres never gave the app more than its limit"
    );
    assert!(by_status.contains_key(&503), "the limit bit");
    assert!(bought > 0, "and work still got done");
    assert_eq!(
        get_at(addrs[0], "/api/items?limit=10").await.status,
        StatusCode::OK,
        "recovers"
    );
}

/// Whether the browser with `cookie` is signed in, asking the instance at `addr`.
async fn signed_in_at(addr: SocketAddr, cookie: &str) -> bool {
    let page = send_to(
        addr,
        Method::GET,
        "/account",
        &[("cookie", cookie)],
        "".into(),
    )
    .await
    .unwrap();
    page.status == StatusCode::OK
}

#[tokio::test]
async fn a_sign_out_through_one_instance_holds_on_the_very_next_request_to_the_other() {
    let replicas = spawn_replicas(2).await;
    let [a, b] = [replicas.addrs()[0], replicas.addrs()[1]];
    let here = TestPerson::new("Here");
    let everywhere = TestPerson::new("Everywhere");
    for person in [&here, &everywhere] {
        add_person(&replicas.db, person).await;
    }
    let second_device = {
        let (cookie, token) = presession();
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("csrf_token", &token)
            .append_pair("email", &everywhere.email)
            .append_pair("password", &everywhere.password)
            .finish();
        let form = [
            ("content-type", "application/x-www-form-urlencoded"),
            ("cookie", cookie.as_str()),
        ];
        let response = send_to(b, Method::POST, "/account/sign-in", &form, body.into())
            .await
            .unwrap();
        response.cookie("session").unwrap()
    };
    // Both instances have read (and cached, in the shared Redis) every session.
    for cookie in [
        here.session_cookie(),
        everywhere.session_cookie(),
        second_device.clone(),
    ] {
        assert!(signed_in_at(a, &cookie).await && signed_in_at(b, &cookie).await);
    }

    let sign_out = |addr: SocketAddr, path: &'static str, cookie: String| async move {
        let token = csrf_token_for_cookies(Some(&cookie));
        let form = [
            ("content-type", "application/x-www-form-urlencoded"),
            ("cookie", cookie.as_str()),
        ];
        let body = format!("csrf_token={token}");
        send_to(addr, Method::POST, path, &form, body.into())
            .await
            .unwrap()
            .status
    };
    assert_eq!(
        sign_out(a, "/account/sign-out", here.session_cookie()).await,
        StatusCode::SEE_OTHER
    );
    assert!(
        !signed_in_at(b, &here.session_cookie()).await,
        "ended on the other instance"
    );
    assert_eq!(
        sign_out(
            a,
            "/account/sign-out-everywhere",
            everywhere.session_cookie()
        )
        .await,
        StatusCode::SEE_OTHER
    );
    assert!(!signed_in_at(b, &everywhere.session_cookie()).await);
    assert!(
        !signed_in_at(b, &second_device).await,
        "every device, every instance"
    );
}
