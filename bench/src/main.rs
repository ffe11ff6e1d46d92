//! `bench`: how close the marketplace gets to the ceilings of this machine.
//!
//! Seeds a throwaway PostgreSQL with 10,000 items, serves the real components with the
//! real `spin up` behind the real nginx (or uses the running instance given by `--url`), and
//! drives each workload with `wrk` at 1, 8 and 32 connections, several times. In the same
//! run it measures the two ceilings: the same nginx answering a constant response (the
//! proxy ceiling), and the exact SQL of each endpoint sent by a native client over a
//! pool (the database ceiling). Writes `bench/results.md`.
//!
//! With `--memory`, it measures only what one instance holds in memory at 1 to 400
//! connections, straight at Spin and through nginx, and writes `bench/memory.md`.
//!
//! cargo run --profile host-release -p bench -- [--url URL] [--duration SECS] [--repeats N]
//!     [--only TEXT]   (only the workloads whose name contains TEXT, and Spin's floor)
//! cargo run --profile host-release -p bench -- --memory

mod ceilings;
mod memory;
mod photos;
mod report;
mod trade;
mod workloads;
mod wrk;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use market_tests::cluster::PgCluster;
use market_tests::nginx::Nginx;
use market_tests::spin::{SpinUp, spin_binary, variable_environment};
use market_tests::testing::{create_database, database_variables, pg_work, project_dir, send_to};

use crate::report::{Measurement, Report};
use crate::workloads::Workload;

/// Postgres `max_connections`: docker-compose.yml's 220, plus room for what this program
/// runs beside the app, which no deployment does: the app with its cache off and Spin's
/// floor (up to 64 pooled connections per component each), and the database ceiling's
/// own pool. Without it, the fourth component (accounts, whose sign-ins fill its pool)
/// left the ceiling no connection.
const MAX_CONNECTIONS: u32 = 220 + 3 * 64;
const SEEDED_ITEMS: i64 = 10_000;
pub const CONCURRENCY: [usize; 3] = [1, 8, 32];

struct Options {
    url: Option<String>,
    duration: Duration,
    repeats: usize,
    out: PathBuf,
    memory: bool,
    /// Measure only the workloads whose name contains this (Spin's floor always).
    only: Option<String>,
}

fn options() -> anyhow::Result<Options> {
    let mut options = Options {
        url: None,
        duration: Duration::from_secs(5),
        repeats: 3,
        out: project_dir().join("bench/results.md"),
        memory: false,
        only: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => options.url = Some(value()?.trim_end_matches('/').to_owned()),
            "--duration" => options.duration = Duration::from_secs(value()?.parse()?),
            "--repeats" => options.repeats = value()?.parse()?,
            "--out" => options.out = value()?.into(),
            "--memory" => options.memory = true,
            "--only" => options.only = Some(value()?),
            other => bail!("unknown argument {other}"),
        }
    }
    Ok(options)
}

/// The app under test: our own stack, or someone else's URL.
struct Stack {
    url: String,
    /// Present when this program runs the app, so its process can be profiled.
    spin: Option<SpinUp>,
    _nginx: Option<Nginx>,
}

/// Our own stack (the real `spin up` behind nginx, with `listing_cache` on or off), or
/// the instance at the given URL.
async fn start_stack(
    cluster: &PgCluster,
    db_url: &str,
    given: Option<String>,
    listing_cache: &str,
) -> anyhow::Result<Stack> {
    if let Some(url) = given {
        return Ok(Stack {
            url,
            spin: None,
            _nginx: None,
        });
    }
    let mut variables = database_variables(db_url, cluster.port);
    variables.insert("listing_cache".to_owned(), listing_cache.to_owned());
    let spin = tokio::task::spawn_blocking(move || SpinUp::start(&variables)).await??;
    // With the app's cache off, nginx's is off too: every request reaches Spin and
    // Postgres, the per-request path the caches are measured against.
    let nginx = match listing_cache {
        "off" => Nginx::start_without_rate_limit_or_cache(&Nginx::project_conf_d(), spin.addr)?,
        _ => Nginx::start_without_rate_limit(&Nginx::project_conf_d(), spin.addr)?,
    };
    Ok(Stack {
        url: format!("http://{}", nginx.addr),
        spin: Some(spin),
        _nginx: Some(nginx),
    })
}

/// Spin's floor (bench/floor): the same `spin up`, runtime config and nginx config as the
/// app, serving a component that does nothing and one that runs `SELECT 1`.
async fn start_floor(cluster: &PgCluster, db_url: &str) -> anyhow::Result<Stack> {
    let variables = variable_environment(database_variables(db_url, cluster.port));
    let mut command = std::process::Command::new(spin_binary()?);
    command.current_dir(project_dir().join("bench/floor"));
    let runtime_config = project_dir().join("runtime-config.toml");
    let spin = tokio::task::spawn_blocking(move || {
        SpinUp::start_command(command, &runtime_config, &variables)
    })
    .await??;
    let nginx = Nginx::start_without_rate_limit(&Nginx::project_conf_d(), spin.addr)?;
    Ok(Stack {
        url: format!("http://{}", nginx.addr),
        spin: Some(spin),
        _nginx: Some(nginx),
    })
}

/// The items the buy workloads buy from: one that every buyer buys (a hot row), and
/// `SPREAD_ITEMS` in a row that buyers pick at random.
pub struct Stock {
    pub hot: i64,
    pub spread_first: i64,
    /// A photo's thumbnail (`photos::upload_photos`), once the app is up.
    pub thumbnail: String,
    /// An order of the shopper's (`trade::arrange`), once the app is up.
    pub order: i64,
}

/// How many items the spread buy workload picks from.
pub const SPREAD_ITEMS: i64 = 1_000;

/// A database with the schema, 10,000 items, and stocked items for the buyers.
async fn seed(cluster: &PgCluster) -> anyhow::Result<(String, Stock)> {
    let db_url = create_database(&cluster.url("postgres")).await;
    let db = migrations::connect(&db_url.parse()?, Duration::from_secs(10)).await?;
    db.execute(
        "INSERT INTO items (name, quantity, price_cents, description)
         SELECT 'Item ' || n, 1 + n % 50, n % 10000 * 7, 'A description of item ' || n || ', in good condition.'
         FROM generate_series(1, $1::bigint) AS n",
        &[&SEEDED_ITEMS],
    )
    .await?;
    let stocked = "INSERT INTO items (name, quantity, price_cents, description)
         SELECT 'Bulk stock ' || n, 1000000, 999, 'For buyers' FROM generate_series(1, $1::bigint) AS n
         RETURNING id";
    let hot: i64 = db.query_one(stocked, &[&1_i64]).await?.get(0);
    let spread: Vec<i64> = db
        .query(stocked, &[&SPREAD_ITEMS])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let spread_first = spread.iter().copied().min().context("no spread stock")?;
    if spread.iter().max() != Some(&(spread_first + SPREAD_ITEMS - 1)) {
        bail!("the spread stock's ids are not consecutive");
    }
    db.batch_execute("VACUUM ANALYZE").await?;
    Ok((
        db_url,
        Stock {
            hot,
            spread_first,
            thumbnail: String::new(),
            order: 0,
        },
    ))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = options()?;
    let cluster = PgCluster::start_with_max_connections(MAX_CONNECTIONS)?;
    let (db_url, mut stock) = seed(&cluster).await?;
    if options.memory {
        return measure_memory(&cluster, &db_url, &stock, options.duration).await;
    }
    let stack = start_stack(&cluster, &db_url, options.url.clone(), "on").await?;
    // The same app with the listing cache off: the plain per-request-query path, for
    // comparison (only when this program runs the app).
    let uncached = match options.url {
        Some(_) => None,
        None => Some(start_stack(&cluster, &db_url, None, "off").await?),
    };
    let floor = match options.url {
        Some(_) => None,
        None => Some(start_floor(&cluster, &db_url).await?),
    };
    let (thumbnail, uploads) = photos::upload_photos(&stack.url, stack.spin.as_ref()).await?;
    stock.thumbnail = thumbnail;
    stock.order = trade::arrange(&stack.url).await?;
    let workloads = Workload::all(&stock);
    let mut report = Report::new(&stack.url, options.duration, options.repeats);
    report.photo_uploads = uploads;

    // Warm up: compile paths, fill pools.
    for workload in &workloads {
        wrk::run(&stack.url, workload, 8, Duration::from_secs(1)).await?;
    }
    if stack.spin.is_some() {
        report.round_trips = round_trips(&db_url, &stack.url, &workloads).await?;
    }

    // The physical ceiling for the anonymous page: the same nginx serving the same bytes
    // as a static file.
    let page = send_to(
        stack.url.trim_start_matches("http://").parse()?,
        hyper::Method::GET,
        "/",
        &[],
        Default::default(),
    )
    .await?;
    let static_page = ceilings::Ceiling::static_page(&page.body)?;
    report.static_page = ceiling_runs(&static_page, &Workload::static_page(), &options).await?;
    report.page_bytes = page.body.len();
    let proxy = ceilings::Ceiling::proxy()?;
    report.proxy = ceiling_runs(&proxy, &Workload::constant(), &options).await?;
    let mut targets: Vec<(&Workload, &str)> =
        workloads.iter().map(|w| (w, stack.url.as_str())).collect();
    let uncached_workloads = Workload::reads_without_cache();
    if let Some(uncached) = &uncached {
        targets.extend(
            uncached_workloads
                .iter()
                .map(|w| (w, uncached.url.as_str())),
        );
    }
    if let Some(only) = &options.only {
        targets.retain(|(workload, _)| workload.name.contains(only.as_str()));
    }
    let floor_workloads = Workload::floors();
    if let Some(floor) = &floor {
        for workload in &floor_workloads {
            wrk::run(&floor.url, workload, 8, Duration::from_secs(1)).await?;
        }
        targets.extend(floor_workloads.iter().map(|w| (w, floor.url.as_str())));
    }
    for (workload, url) in targets {
        for &connections in &CONCURRENCY {
            let mut runs = Vec::new();
            for _ in 0..options.repeats {
                runs.push(wrk::run(url, workload, connections, options.duration).await?);
            }
            report
                .app
                .insert((workload.name, connections), Measurement::from_runs(runs));
            let mut runs = Vec::new();
            for _ in 0..options.repeats {
                runs.push(
                    ceilings::database(&db_url, workload, connections, options.duration).await?,
                );
            }
            report
                .database
                .insert((workload.name, connections), Measurement::from_runs(runs));
            eprintln!("bench: {} at {connections} done", workload.name);
        }
    }
    report.explain = ceilings::explain(&db_url).await?;
    if let Some(spin) = &stack.spin {
        // `spin up` serves through a child process, `spin trigger http`: profile that.
        let server = serving_process(spin.pid()).unwrap_or(spin.pid());
        // Spin's work while browsing: a signed-in browse (an anonymous one is nginx's).
        report.profile = profile(server, &stack.url, &workloads[1]).await;
        report.peak_rss_kib = report::peak_rss_kib(server);
    }
    report.write(&options.out)?;
    println!("{}", std::fs::read_to_string(&options.out)?);
    Ok(())
}

/// `workload` against a ceiling at each concurrency, `options.repeats` times each.
async fn ceiling_runs(
    ceiling: &ceilings::Ceiling,
    workload: &Workload,
    options: &Options,
) -> anyhow::Result<std::collections::BTreeMap<usize, Measurement>> {
    let mut measured = std::collections::BTreeMap::new();
    for &connections in &CONCURRENCY {
        let mut runs = Vec::new();
        for _ in 0..options.repeats {
            runs.push(wrk::run(&ceiling.url(), workload, connections, options.duration).await?);
        }
        measured.insert(connections, Measurement::from_runs(runs));
    }
    Ok(measured)
}

/// The memory table of one instance, browsing and listing at 1 to 400 connections,
/// straight at Spin and through nginx, each on a fresh instance (its resident set only
/// grows: the high-water mark of the busiest moment stays): `bench/memory.md`.
async fn measure_memory(
    cluster: &PgCluster,
    db_url: &str,
    stock: &Stock,
    duration: Duration,
) -> anyhow::Result<()> {
    let mut out = format!(
        "# Memory of one instance\n\nGenerated by `./scripts/bench --memory` on {} (UTC), \
         {} s per run, a fresh `spin up` for each table half.\n",
        report::command_output("date", &["-u", "+%Y-%m-%d %H:%M"]),
        duration.as_secs()
    );
    for workload in Workload::all(stock).into_iter().take(2) {
        let mut rows = Vec::new();
        for via in ["Spin", "nginx"] {
            let stack = start_stack(cluster, db_url, None, "on").await?;
            let spin = stack.spin.as_ref().context("this program runs the app")?;
            let server = serving_process(spin.pid()).unwrap_or(spin.pid());
            let url = match via {
                "Spin" => format!("http://{}", spin.addr),
                _ => stack.url.clone(),
            };
            rows.extend(memory::measure(via, &url, &workload, server, duration).await?);
        }
        out.push_str(&memory::table(workload.name, &rows));
    }
    let path = project_dir().join("bench/memory.md");
    std::fs::write(&path, &out)?;
    println!("{out}");
    Ok(())
}

/// The process that serves the requests of `spin up` (process `pid`): its child running
/// `spin trigger http`.
fn serving_process(pid: u32) -> Option<u32> {
    let output = std::process::Command::new("pgrep")
        .args(["-P", &pid.to_string()])
        .output()
        .ok()?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

/// Where the time goes while browsing at 32 connections: `perf` samples of `spin up`
/// by shared object and by symbol. None when perf is not available.
async fn profile(pid: u32, url: &str, workload: &Workload) -> Option<String> {
    let data = project_dir().join("target/bench-perf.data");
    let recorder = tokio::process::Command::new("perf")
        .args(["record", "-F", "499", "-g", "-o"])
        .arg(&data)
        .args(["-p", &pid.to_string(), "--", "sleep", "5"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let load = wrk::run(url, workload, 32, Duration::from_secs(5));
    let (recorded, _) = tokio::join!(recorder.wait_with_output(), load);
    if !recorded.ok()?.status.success() {
        return None;
    }
    let report = |sort: &str| {
        std::process::Command::new("perf")
            .args([
                "report",
                "--stdio",
                "--no-children",
                "--percent-limit",
                "1.5",
                "-g",
                "none",
                "--sort",
                sort,
                "-i",
            ])
            .arg(&data)
            .output()
            .map(|out| {
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
                    .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" ") + "\n")
                    .collect::<String>()
            })
            .unwrap_or_default()
    };
    Some(format!(
        "By shared object:\n{}\nBy symbol:\n{}",
        report("dso"),
        report("dso,symbol")
    ))
}

/// The cores of this machine.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// SQL statements per request, and all statements including the pool's clean-up on
/// checkout, counted by Postgres (`pg_stat_statements`) over 200 requests.
async fn round_trips(
    db_url: &str,
    url: &str,
    workloads: &[Workload],
) -> anyhow::Result<Vec<(&'static str, f64, f64)>> {
    let db = migrations::connect(&db_url.parse()?, Duration::from_secs(10)).await?;
    let addr: SocketAddr = url.trim_start_matches("http://").parse()?;
    let mut counted = Vec::new();
    for workload in workloads {
        let before = pg_work(&db).await;
        for n in 0..200 {
            let headers: Vec<(&str, &str)> = workload
                .headers
                .iter()
                .map(|(n, v)| (*n, v.as_str()))
                .collect();
            let response = send_to(
                addr,
                workload.method.clone(),
                &workload.path_of_request(n),
                &headers,
                workload.body.clone().into(),
            )
            .await?;
            if !(response.status.is_success() || response.status.is_redirection()) {
                bail!("{} answered {}", workload.name, response.status);
            }
        }
        let after = pg_work(&db).await;
        counted.push((
            workload.name,
            (after.statements - before.statements) as f64 / 200.0,
            (after.all_calls - before.all_calls) as f64 / 200.0,
        ));
    }
    Ok(counted)
}
