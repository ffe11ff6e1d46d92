//! The two ceilings a workload is compared with: what nginx alone can answer, and what
//! Postgres can do with the endpoint's exact SQL from a native client.

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use market::domain::listing::Listing;
use market::storage::{account_sql, sql};
use market_tests::nginx::Nginx;
use tokio_postgres::NoTls;
use tokio_postgres::types::ToSql;

use crate::report::Run;
use crate::workloads::{Kind, Workload};

/// The same nginx binary and main config with a site of its own: what nginx alone can
/// answer on this machine.
pub struct Ceiling {
    nginx: Nginx,
    dir: PathBuf,
}

impl Ceiling {
    /// A site that answers a constant page of the size of the home page's first screen.
    pub fn proxy() -> anyhow::Result<Self> {
        let body = "x".repeat(2048);
        Self::start("proxy", |_| {
            Ok(format!(
                "location / {{ default_type text/html; return 200 '{body}'; }}"
            ))
        })
    }

    /// A site that serves `page` as a static file at `/`: the physical ceiling for a
    /// page of that size.
    pub fn static_page(page: &[u8]) -> anyhow::Result<Self> {
        Self::start("static", |dir| {
            let root = dir.join("root");
            std::fs::create_dir_all(&root)?;
            std::fs::write(root.join("index.html"), page)?;
            Ok(format!(
                "location / {{ root {}; index index.html; }}",
                root.display()
            ))
        })
    }

    /// Starts nginx in a folder of its own with the `location` that `site` writes there.
    fn start(
        name: &str,
        site: impl FnOnce(&std::path::Path) -> anyhow::Result<String>,
    ) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("bench-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let location = site(&dir)?;
        // Nginx::start substitutes these two lines, as it does for the project's site.
        std::fs::write(
            dir.join("default.conf"),
            format!(
                "upstream marketplace_app {{ server app:3000; }}\n\
                 server {{\n    listen 80;\n    {location}\n}}\n"
            ),
        )?;
        let unused_upstream = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let nginx = Nginx::start(&dir, unused_upstream)?;
        Ok(Self { nginx, dir })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.nginx.addr)
    }
}

impl Drop for Ceiling {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

type Params = Vec<Box<dyn ToSql + Sync + Send>>;

/// The digest of the shopper's API token, as the API's writes look it up.
fn shopper_token_digest() -> String {
    market::domain::account::Secret::parse_api_token(&market_tests::testing::shopper().token)
        .expect("a well-formed token")
        .digest()
}

/// The statement an endpoint runs and its parameters for its `n`th request (as the
/// components send them).
fn statement(kind: Kind, n: u64) -> (String, Params) {
    let request = |text: &str| Box::new(text.to_owned()) as Box<dyn ToSql + Sync + Send>;
    match kind {
        Kind::Browse | Kind::ApiList => (
            sql::list_items_sql(&Listing::default()),
            vec![Box::new(i64::MAX), Box::new(51_i64)],
        ),
        // The API's writes check the token in their own statement.
        Kind::Sell => (
            sql::insert_item_sql(true),
            vec![
                request("Bench item"),
                Box::new(5_i32),
                Box::new(1250_i64),
                request("Listed by the benchmark"),
                Box::new(None::<String>),
                request(r#"["Bench item",5,1250,"Listed by the benchmark"]"#),
                request(&shopper_token_digest()),
            ],
        ),
        Kind::Buy { .. } => (
            sql::buy_item_sql(true),
            vec![
                Box::new(kind.bought_item(n)),
                Box::new(1_i32),
                Box::new(None::<String>),
                request("[0,1,null]"),
                request(&shopper_token_digest()),
                Box::new(None::<i64>),
            ],
        ),
        // The lookup before the hash; the hash itself is the app's CPU, not Postgres'.
        Kind::SignIn => (
            account_sql::account_for_sign_in_sql(),
            vec![request(&market_tests::testing::shopper().email)],
        ),
        Kind::Floor | Kind::FloorDb | Kind::Constant => ("SELECT 1".to_owned(), Vec::new()),
    }
}

/// The endpoint's SQL from `connections` native clients over a pool, for `duration`.
pub async fn database(
    db_url: &str,
    workload: &Workload,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<Run> {
    let manager = Manager::from_config(
        db_url.parse()?,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let pool = Pool::builder(manager).max_size(connections).build()?;
    let kind = workload.kind;
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for task in 0..connections {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            // Each task walks the items in order from its own offset: fewer collisions
            // on a row than wrk's random picks, so an optimistic ceiling for spread buys.
            let mut n = task as u64 * 7_919;
            while Instant::now() < deadline {
                let (sql, params) = statement(kind, n);
                n += 1;
                let started = Instant::now();
                let client = pool.get().await?;
                let statement = client.prepare_cached(&sql).await?;
                let refs: Vec<&(dyn ToSql + Sync)> =
                    params.iter().map(|p| p.as_ref() as _).collect();
                if client.query(&statement, &refs).await.is_err() {
                    errors += 1;
                }
                latencies.push(started.elapsed());
            }
            anyhow::Ok((latencies, errors))
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (task_latencies, task_errors) = task.await??;
        latencies.extend(task_latencies);
        errors += task_errors;
    }
    latencies.sort();
    let at = |fraction: f64| {
        latencies[((latencies.len() as f64 * fraction) as usize).min(latencies.len() - 1)]
    };
    Ok(Run {
        requests_per_second: latencies.len() as f64 / duration.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
        errors,
    })
}

/// `EXPLAIN` of every list query the app runs: the first page and a deep page.
pub async fn explain(db_url: &str) -> anyhow::Result<String> {
    let db = migrations::connect(&db_url.parse()?, Duration::from_secs(5)).await?;
    let sql = sql::list_items_sql(&Listing::default());
    let mut out = String::new();
    for (label, before) in [
        ("first page (before = i64::MAX)", i64::MAX),
        ("a deep page (before = 500)", 500),
    ] {
        out.push_str(&format!("-- {label}\n"));
        for row in db
            .query(&format!("EXPLAIN {sql}"), &[&before, &51_i64])
            .await?
        {
            out.push_str(&format!("{}\n", row.get::<_, String>(0)));
        }
    }
    let id: i64 = 1;
    for row in db
        .query("EXPLAIN SELECT id FROM items WHERE id = $1", &[&id])
        .await?
    {
        out.push_str(&format!("-- by id\n{}\n", row.get::<_, String>(0)));
    }
    Ok(out)
}
