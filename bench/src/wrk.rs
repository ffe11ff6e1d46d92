//! Drives load with `wrk` and reads its summary.

use std::time::Duration;

use anyhow::{Context, bail};

use crate::report::Run;
use crate::workloads::{Kind, Workload};

/// A wrk Lua script that sends this workload's method, headers and body (for a buy among
/// several items, each request to one picked at random).
fn script(workload: &Workload) -> String {
    let mut lua = format!("wrk.method = \"{}\"\n", workload.method);
    for (name, value) in &workload.headers {
        lua.push_str(&format!("wrk.headers[\"{name}\"] = \"{value}\"\n"));
    }
    if !workload.body.is_empty() {
        lua.push_str(&format!("wrk.body = [[{}]]\n", workload.body));
    }
    if let Kind::Buy { first, count } = workload.kind
        && count > 1
    {
        // Each thread seeds its own generator (LuaJIT's would start alike everywhere).
        lua.push_str(&format!(
            "local threads = 0\n\
             function setup(thread) threads = threads + 1; thread:set(\"seed\", threads) end\n\
             function init(args) math.randomseed(os.time() * 100 + seed) end\n\
             request = function()\n  return wrk.format(nil, \"/api/items/\" .. ({first} + math.random(0, {count} - 1)) .. \"/buy\")\nend\n"
        ));
    }
    lua
}

/// Runs wrk for `duration` with `connections` connections.
pub async fn run(
    base_url: &str,
    workload: &Workload,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<Run> {
    let script_path = std::env::temp_dir().join(format!("bench-{}.lua", std::process::id()));
    std::fs::write(&script_path, script(workload))?;
    let threads = connections.min(2);
    let output = tokio::process::Command::new("wrk")
        .arg(format!("-t{threads}"))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{}s", duration.as_secs().max(1)))
        .arg("--latency")
        .arg("-s")
        .arg(&script_path)
        .arg(format!("{base_url}{}", workload.path))
        .output()
        .await
        .context("running wrk (apt-get install wrk)")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "wrk failed: {text}{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    parse(&text).with_context(|| format!("reading wrk's output:\n{text}"))
}

fn parse_duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    let seconds = match unit {
        "us" => value / 1e6,
        "ms" => value / 1e3,
        "s" => value,
        "m" => value * 60.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(seconds))
}

fn parse(text: &str) -> Option<Run> {
    let percentile = |label: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|line| line.strip_prefix(label))
            .and_then(|rest| parse_duration(rest.trim()))
    };
    let requests_per_second = text
        .lines()
        .find_map(|line| line.strip_prefix("Requests/sec:"))?
        .trim()
        .parse()
        .ok()?;
    let non_2xx: u64 = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    let socket_errors: u64 = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("Socket errors:"))
        .map(|rest| {
            rest.split(',')
                .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    Some(Run {
        requests_per_second,
        p50: percentile("50%")?,
        p99: percentile("99%")?,
        errors: non_2xx + socket_errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_summaries_are_read() {
        let text = "Running 1s test @ http://127.0.0.1:1/\n  Latency Distribution\n     50%  512.00us\n     75%    1.00ms\n     90%    2.00ms\n     99%    3.25ms\n  100 requests in 1.00s\n  Socket errors: connect 0, read 2, write 0, timeout 1\n  Non-2xx or 3xx responses: 4\nRequests/sec:    100.50\n";
        let run = parse(text).unwrap();
        assert_eq!(run.requests_per_second, 100.5);
        assert_eq!(run.p50, Duration::from_micros(512));
        assert_eq!(run.p99, Duration::from_micros(3250));
        assert_eq!(run.errors, 7);
    }
}
