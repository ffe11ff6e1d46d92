//! What one app instance holds in memory under load: the resident set of the process
//! that serves for `spin up` (`spin trigger http`) while wrk holds N connections to it,
//! sampled every 20 ms, and 5 s after the load stops. Measured straight at Spin (what
//! Spin takes when nothing bounds it) and through the project's nginx (what the
//! `max_conns` of its upstream lets it take).

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::report::Run;
use crate::workloads::Workload;
use crate::wrk;

pub const CONCURRENCY: [usize; 4] = [1, 32, 128, 400];
const SETTLE: Duration = Duration::from_secs(5);

/// One row of the table.
pub struct Row {
    pub via: &'static str,
    pub connections: usize,
    pub peak_mib: f64,
    pub after_mib: f64,
    pub run: Run,
}

/// The current resident set of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Runs `workload` at each concurrency against `url` (`via` names the path), sampling
/// the resident set of `server`.
pub async fn measure(
    via: &'static str,
    url: &str,
    workload: &Workload,
    server: u32,
    duration: Duration,
) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    for connections in CONCURRENCY {
        let peak = Arc::new(AtomicU64::new(0));
        let running = Arc::new(AtomicBool::new(true));
        let sampler = {
            let (peak, running) = (peak.clone(), running.clone());
            std::thread::spawn(move || {
                while running.load(Ordering::Relaxed) {
                    peak.fetch_max(rss_kib(server), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        };
        let run = wrk::run(url, workload, connections, duration).await?;
        running.store(false, Ordering::Relaxed);
        let _ = sampler.join();
        tokio::time::sleep(SETTLE).await;
        rows.push(Row {
            via,
            connections,
            peak_mib: peak.load(Ordering::Relaxed) as f64 / 1024.0,
            after_mib: rss_kib(server) as f64 / 1024.0,
            run,
        });
        eprintln!("bench: memory {via} at {connections} done");
    }
    Ok(rows)
}

/// The rows as a Markdown table.
pub fn table(workload: &str, rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n## {workload}\n\n\
         Resident set of `spin trigger http`: the peak while wrk holds the connections \
         (sampled every 20 ms), and 5 s after it stops. Through nginx, beyond `max_conns` \
         per instance the rest are shed with 503 (the non-2xx column).\n"
    );
    let _ = writeln!(
        out,
        "| path | connections | peak RSS MiB | RSS 5 s after MiB | req/s | p99 ms | non-2xx or errors |"
    );
    let _ = writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {:.0} | {:.0} | {:.1} | {} |",
            row.via,
            row.connections,
            row.peak_mib,
            row.after_mib,
            row.run.requests_per_second,
            row.run.p99.as_secs_f64() * 1000.0,
            row.run.errors
        );
    }
    out
}
