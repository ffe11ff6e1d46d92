//! The figures of each run, and `results.md`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;
use std::time::Duration;

use market_tests::testing::project_dir;

use crate::CONCURRENCY;
use crate::workloads::{ANONYMOUS_BROWSE, SIGNED_IN_BROWSE, Workload};

/// The figures of one timed run.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    pub requests_per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub errors: u64,
}

/// Several runs of the same thing: median, min and max.
#[derive(Debug, Clone)]
pub struct Measurement {
    pub runs: Vec<Run>,
}

impl Measurement {
    pub fn from_runs(runs: Vec<Run>) -> Self {
        Self { runs }
    }

    fn median_of(values: &mut [f64]) -> f64 {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    }

    pub fn rps(&self) -> f64 {
        Self::median_of(
            &mut self
                .runs
                .iter()
                .map(|r| r.requests_per_second)
                .collect::<Vec<_>>(),
        )
    }

    fn rps_range(&self) -> (f64, f64) {
        let values = self.runs.iter().map(|r| r.requests_per_second);
        (
            values.clone().fold(f64::MAX, f64::min),
            values.fold(0.0, f64::max),
        )
    }

    fn p50_ms(&self) -> f64 {
        Self::median_of(
            &mut self
                .runs
                .iter()
                .map(|r| r.p50.as_secs_f64() * 1e3)
                .collect::<Vec<_>>(),
        )
    }

    fn p99_ms(&self) -> f64 {
        Self::median_of(
            &mut self
                .runs
                .iter()
                .map(|r| r.p99.as_secs_f64() * 1e3)
                .collect::<Vec<_>>(),
        )
    }

    fn errors(&self) -> u64 {
        self.runs.iter().map(|r| r.errors).sum()
    }
}

/// How to read the profile below; the reasons hold for every run of this benchmark on
/// one machine, the percentages are in the profile.
const WHERE_THE_TIME_GOES: &str = "## Where the time goes

- **Reads hit the cache**: browse and the API list make no statement on a hit (the table
  above), so their ceiling is not Postgres but the per-request cost of `spin up`: a fresh
  instance per request, one key-value read of the cached rendering, copying it into the
  response, nginx. The `cache off` rows are the per-request-query path for comparison.
- **Spin's key-value store** (SQLite in memory) runs each call through
  `tokio::task::block_in_place` on one connection behind a mutex: the cost grows with the
  value's size (the API's ~10 KB JSON costs less than the page's ~35 KB section) and
  shows in p99 as threads queue on the mutex (`/floor/kv` reads a missing key: the
  least a read costs).
- **Writes pay Spin's Postgres path**: each sell or buy is one statement, but Spin lends a
  pooled connection per request and its `Clean` recycle runs a cleaning batch on every
  checkout of a reused connection (the second column of the statements table), plus an
  instance, plus one key-value call (a tombstone for each cached rendering). Buying one hot item
  contends on its row (compare its database ceiling); buying among 1,000 items does not.
- **The profile** below is of the process serving for `spin up` (`spin trigger http`,
  a child of `spin up`): the kernel (context switches between the threads of wrk, nginx,
  Spin and Postgres on 2 cores, and `block_in_place` handing a worker's core to another
  thread) and Spin's own code take the most; `memset`/`memmove` are instance memory
  being reset after each request and buffers copied (more for a bigger page); the
  components' JIT code is about a tenth. Every ratio is depressed by the machine's
  cores being shared.
- **What would move the rest**: in the app, fewer copies of the page (each request
  copies the cached section several times: out of the store, into the page, into the
  response); in Spin's configuration, nothing found (no key-value backend is faster
  here: the outbound Redis measured slower than the in-memory store, a TCP connection
  per request); only in Spin, a key-value store without `block_in_place` and one lock,
  and instance memory reset cheaper than `memset`.";

pub struct Report {
    url: String,
    duration: Duration,
    repeats: usize,
    pub proxy: BTreeMap<usize, Measurement>,
    /// The anonymous first page served by the same nginx as a static file.
    pub static_page: BTreeMap<usize, Measurement>,
    /// The size of that page.
    pub page_bytes: usize,
    pub app: BTreeMap<(&'static str, usize), Measurement>,
    pub database: BTreeMap<(&'static str, usize), Measurement>,
    /// (workload, app statements per request, all statements per request including the
    /// pool's clean-up on checkout)
    pub round_trips: Vec<(&'static str, f64, f64)>,
    pub explain: String,
    pub peak_rss_kib: Option<u64>,
    pub profile: Option<String>,
    /// 12-megapixel phone photos uploaded through nginx (`photos::upload_photos`).
    pub photo_uploads: Vec<crate::photos::Upload>,
}

/// The peak resident set of process `pid` (the one serving for `spin up`).
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
}

pub fn command_output(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    format!(
        "{} CPUs ({model}), {memory}, kernel {}, {}",
        command_output("nproc", &[]),
        command_output("uname", &["-r"]),
        command_output("wrk", &["--version"])
            .lines()
            .next()
            .unwrap_or("wrk")
            .to_owned()
    )
}

impl Report {
    /// Each workload against Spin's floor at 32 connections: reads against the component
    /// that does nothing, writes against one pooled checkout plus `SELECT 1`.
    fn write_floor_ratios(&self, out: &mut String) -> std::fmt::Result {
        let at_32 = |name: &'static str| self.app.get(&(name, 32));
        let floors = Workload::floors();
        let named = |path: &str| floors.iter().find(|w| w.path == path).map(|w| w.name);
        let (Some(floor), Some(floor_db)) = (
            named("/floor").and_then(at_32),
            named("/floor/db").and_then(at_32),
        ) else {
            return Ok(());
        };
        writeln!(out, "\n## Against Spin's floor (32 connections)\n")?;
        writeln!(
            out,
            "| workload | req/s | ÷ floor req/s | p99 ms | ÷ floor p99 | ÷ floor+SELECT 1 req/s |"
        )?;
        writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: |")?;
        let mut names: Vec<&'static str> = self.app.keys().map(|(name, _)| *name).collect();
        names.dedup();
        for name in names {
            let Some(app) = at_32(name) else { continue };
            writeln!(
                out,
                "| {name} | {:.0} | {:.2} | {:.1} | {:.2} | {:.2} |",
                app.rps(),
                app.rps() / floor.rps(),
                app.p99_ms(),
                app.p99_ms() / floor.p99_ms(),
                app.rps() / floor_db.rps()
            )?;
        }
        Ok(())
    }

    /// What everyone sees, answered by nginx: each read against Spin's floor (the
    /// component that does nothing, through the same nginx) and against the same nginx
    /// serving the anonymous first page's bytes as a static file.
    fn write_edge(&self, out: &mut String) -> std::fmt::Result {
        let floors = Workload::floors();
        let Some(floor_name) = floors.iter().find(|w| w.path == "/floor").map(|w| w.name) else {
            return Ok(());
        };
        writeln!(out, "\n## Reads at the edge\n")?;
        writeln!(
            out,
            "Anonymous reads are answered from nginx's cache (conf.d/default.conf); a signed-in browse always reaches Spin. The static ceiling is the same nginx serving the anonymous first page ({} bytes) as a file.\n",
            self.page_bytes
        )?;
        writeln!(
            out,
            "| workload | conns | req/s | p99 ms | ÷ Spin's floor req/s | ÷ static ceiling req/s | static ceiling req/s (p99 ms) |"
        )?;
        writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |")?;
        let reads = [
            ANONYMOUS_BROWSE,
            SIGNED_IN_BROWSE,
            "API list (GET /api/items?limit=50)",
            "stylesheet (GET /static/site-<hash>.css)",
            crate::workloads::THUMBNAIL,
        ];
        for name in reads {
            for connections in CONCURRENCY {
                let (Some(app), Some(floor), Some(ceiling)) = (
                    self.app.get(&(name, connections)),
                    self.app.get(&(floor_name, connections)),
                    self.static_page.get(&connections),
                ) else {
                    continue;
                };
                writeln!(
                    out,
                    "| {name} | {connections} | {:.0} | {:.1} | {:.2} | {:.2} | {:.0} ({:.1}) |",
                    app.rps(),
                    app.p99_ms(),
                    app.rps() / floor.rps(),
                    app.rps() / ceiling.rps(),
                    ceiling.rps(),
                    ceiling.p99_ms()
                )?;
            }
        }
        Ok(())
    }

    /// What one 12-megapixel upload costs: time through nginx, Spin's processing, and the
    /// instance memory it needed.
    fn write_photo_uploads(&self, out: &mut String) -> std::fmt::Result {
        if self.photo_uploads.is_empty() {
            return Ok(());
        }
        writeln!(out, "\n## Photo uploads\n")?;
        writeln!(
            out,
            "A 12-megapixel phone JPEG (4032 × 3024, ~5 MB, EXIF orientation 6, GPS) through nginx's `POST /api/items/{{id}}/photos`, one at a time: decoded at half size, turned upright, cut to 1600 px and a 400 × 300 thumbnail, re-encoded, stored. Processing and memory are the upload's log line (`photo_us`, and `memory_kib`, the instance's linear memory, its peak).\n"
        )?;
        writeln!(
            out,
            "| upload | through nginx ms | processing in Spin ms | instance memory MiB |"
        )?;
        writeln!(out, "| ---: | ---: | ---: | ---: |")?;
        for (n, upload) in self.photo_uploads.iter().enumerate() {
            let processing = upload.processing.map_or("–".to_owned(), |took| {
                format!("{:.0}", took.as_secs_f64() * 1000.0)
            });
            let memory = upload.memory_kib.map_or("–".to_owned(), |kib| {
                format!("{:.1}", kib as f64 / 1024.0)
            });
            writeln!(
                out,
                "| {} | {:.0} | {processing} | {memory} |",
                n + 1,
                upload.wall.as_secs_f64() * 1000.0
            )?;
        }
        Ok(())
    }

    /// A signed-in visitor's browse against an anonymous one's, and what a sign-in costs.
    fn write_signed_in(&self, out: &mut String) -> std::fmt::Result {
        writeln!(out, "\n## Signed in\n")?;
        writeln!(
            out,
            "Browse (the cached first page) with a session cookie against without: the session a hit of the sessions cache (one store read; one statement, `account_sql::session_person_sql`, when its entry is over a minute old), the listing a cache hit.\n"
        )?;
        writeln!(
            out,
            "| connections | anonymous req/s | signed in req/s | ÷ anonymous req/s | anonymous p99 ms | signed in p99 ms |"
        )?;
        writeln!(out, "| ---: | ---: | ---: | ---: | ---: | ---: |")?;
        for connections in CONCURRENCY {
            let (Some(anonymous), Some(signed_in)) = (
                self.app.get(&(ANONYMOUS_BROWSE, connections)),
                self.app.get(&(SIGNED_IN_BROWSE, connections)),
            ) else {
                continue;
            };
            writeln!(
                out,
                "| {connections} | {:.0} | {:.0} | {:.2} | {:.1} | {:.1} |",
                anonymous.rps(),
                signed_in.rps(),
                signed_in.rps() / anonymous.rps(),
                anonymous.p99_ms(),
                signed_in.p99_ms()
            )?;
        }
        let sign_in = Workload::sign_in();
        for connections in CONCURRENCY {
            if let Some(run) = self.app.get(&(sign_in.name, connections)) {
                writeln!(
                    out,
                    "\nSign-in at {connections} connections: {:.1} req/s, p50 {:.0} ms, p99 {:.0} ms (Argon2id m=9216 KiB, t=4, p=1 in Wasm; {:.0} ms of CPU per sign-in if the cores did nothing else).",
                    run.rps(),
                    run.p50_ms(),
                    run.p99_ms(),
                    1000.0 * crate::cores() as f64 / run.rps()
                )?;
            }
        }
        Ok(())
    }

    pub fn new(url: &str, duration: Duration, repeats: usize) -> Self {
        Self {
            url: url.to_owned(),
            duration,
            repeats,
            proxy: BTreeMap::new(),
            static_page: BTreeMap::new(),
            photo_uploads: Vec::new(),
            page_bytes: 0,
            app: BTreeMap::new(),
            database: BTreeMap::new(),
            round_trips: Vec::new(),
            explain: String::new(),
            peak_rss_kib: None,
            profile: None,
        }
    }

    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let mut out = String::new();
        writeln!(out, "# Benchmark results\n")?;
        writeln!(
            out,
            "Generated by `./scripts/bench` on {} (UTC).\n",
            command_output("date", &["-u", "+%Y-%m-%d %H:%M"])
        )?;
        writeln!(out, "- Machine: {}", machine())?;
        writeln!(
            out,
            "- Target: {} ({} s per run, {} runs per cell; figures are the median run, with min–max of requests/s)",
            self.url,
            self.duration.as_secs(),
            self.repeats
        )?;
        writeln!(
            out,
            "- Database: PostgreSQL with 10,000 seeded items, on the same machine; the load generator, nginx, Spin and Postgres share its cores, so absolute numbers are low and ratios are what to read.\n"
        )?;

        writeln!(out, "## Throughput and latency\n")?;
        writeln!(
            out,
            "| workload | conns | req/s (min–max) | p50 ms | p99 ms | errors | DB ceiling req/s | p50 / p99 ms | app ÷ DB ceiling | proxy ceiling req/s | app ÷ proxy ceiling |"
        )?;
        writeln!(
            out,
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        )?;
        for ((name, connections), app) in &self.app {
            let (Some(db), Some(proxy)) = (
                self.database.get(&(name, *connections)),
                self.proxy.get(connections),
            ) else {
                continue;
            };
            let (low, high) = app.rps_range();
            writeln!(
                out,
                "| {name} | {connections} | {:.0} ({low:.0}–{high:.0}) | {:.2} | {:.2} | {} | {:.0} | {:.2} / {:.2} | {:.2} | {:.0} | {:.2} |",
                app.rps(),
                app.p50_ms(),
                app.p99_ms(),
                app.errors(),
                db.rps(),
                db.p50_ms(),
                db.p99_ms(),
                app.rps() / db.rps(),
                proxy.rps(),
                app.rps() / proxy.rps(),
            )?;
        }
        writeln!(
            out,
            "\nProxy ceiling (nginx answering a constant response):\n"
        )?;
        for connections in CONCURRENCY {
            if let Some(proxy) = self.proxy.get(&connections) {
                writeln!(
                    out,
                    "- {connections} connections: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
                    proxy.rps(),
                    proxy.p50_ms(),
                    proxy.p99_ms()
                )?;
            }
        }

        self.write_edge(&mut out)?;
        self.write_floor_ratios(&mut out)?;
        self.write_signed_in(&mut out)?;
        self.write_photo_uploads(&mut out)?;

        writeln!(out, "\n## Size and cost per request\n")?;
        for component in [
            "pages", "items", "health", "accounts", "photos", "trading", "docs",
        ] {
            let path = project_dir().join(format!("target/wasm32-wasip2/release/{component}.wasm"));
            if let Ok(meta) = std::fs::metadata(&path) {
                writeln!(out, "- `{component}.wasm`: {} KiB", meta.len() / 1024)?;
            }
        }
        if let Some(rss) = self.peak_rss_kib {
            writeln!(
                out,
                "- Peak RSS of the process serving for `spin up` (`spin trigger http`): {} MiB",
                rss / 1024
            )?;
        }
        if !self.round_trips.is_empty() {
            writeln!(
                out,
                "\nStatements per request, counted by Postgres (pg_stat_statements) over 200 requests; the second column adds the statements of the pool's clean-up on checkout of a reused connection:\n"
            )?;
            writeln!(
                out,
                "| workload | app statements | with checkout clean-up |"
            )?;
            writeln!(out, "| --- | ---: | ---: |")?;
            for (name, statements, checkouts) in &self.round_trips {
                writeln!(out, "| {name} | {statements:.2} | {checkouts:.2} |")?;
            }
        }
        writeln!(out, "\n## Query plans\n\n```\n{}```", self.explain)?;
        writeln!(out, "\n{WHERE_THE_TIME_GOES}")?;
        if let Some(profile) = &self.profile {
            writeln!(
                out,
                "\n## Profile of Spin while browsing at 32 connections\n\n`perf record -F 499 -g` of the process serving for `spin up` (`spin trigger http`) for 5 s (`perf report --no-children`, entries over 1.5 %):\n\n```\n{profile}```"
            )?;
        }
        std::fs::write(path, out)?;
        Ok(())
    }
}
