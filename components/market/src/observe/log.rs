//! The components' log: one JSON line per request when it ends, and one per error or
//! warning with its cause, each carrying the request id, on stderr (Spin writes it to
//! its own, the container's log).
//!
//! Never in a line: request bodies, cookie values, tokens, keys, passwords or connection
//! strings. A line holds only the fields below; causes pass through [`redact`] first.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::observe::record::{self, Record};

/// How bad a line is: `error` (the app failed the request), `warn` (the client's
/// mistake, or a degraded path such as a cache that could not be reached), `info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    /// The level of a request line with this status.
    fn of_status(status: u16) -> Self {
        match status {
            500.. => Self::Error,
            400.. => Self::Warn,
            _ => Self::Info,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

/// A JSON object written field by field (no serde: it would grow every Wasm module by
/// ~20 KiB for lines this simple).
struct Line(String);

impl Line {
    fn new(time: SystemTime, level: Level, kind: &str) -> Self {
        let mut line = Self(String::with_capacity(320));
        line.0.push('{');
        line.text("time", &rfc3339(time));
        line.text("level", level.as_str());
        line.text("kind", kind);
        line
    }

    fn name(&mut self, name: &str) {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        let _ = write!(self.0, "\"{name}\":");
    }

    fn text(&mut self, name: &str, value: &str) {
        self.name(name);
        self.0.push('"');
        for c in value.chars() {
            match c {
                '"' => self.0.push_str("\\\""),
                '\\' => self.0.push_str("\\\\"),
                '\n' => self.0.push_str("\\n"),
                '\t' => self.0.push_str("\\t"),
                '\r' => self.0.push_str("\\r"),
                c if c < ' ' || c == '\u{7f}' => {
                    let _ = write!(self.0, "\\u{:04x}", u32::from(c));
                }
                c => self.0.push(c),
            }
        }
        self.0.push('"');
    }

    fn number(&mut self, name: &str, value: u64) {
        self.name(name);
        let _ = write!(self.0, "{value}");
    }

    fn finish(mut self) -> String {
        self.0.push_str("}\n");
        self.0
    }
}

/// The line written when a request ends: time, level, request id, component, method,
/// route pattern, status, duration and time in Postgres (microseconds), statements
/// sent, and, where they apply, what the listing cache did and what the use-case came
/// to.
pub fn request_line(record: &Record, status: u16, now: SystemTime) -> String {
    let mut line = Line::new(now, Level::of_status(status), "request");
    line.text("request_id", &record.request_id);
    line.text("component", record.component);
    line.text("method", &record.method);
    line.text("route", record.route);
    line.number("status", status.into());
    line.number("duration_us", microseconds(record.started.elapsed()));
    line.number("db_us", microseconds(record.database));
    line.number("db_calls", record.database_calls.into());
    if let Some(cache) = record.cache {
        line.text("cache", cache.as_str());
    }
    if let Some(use_case) = record.use_case {
        line.text("use_case", use_case.name);
        // A use-case that began and returned no outcome failed on the way.
        line.text("outcome", use_case.outcome.unwrap_or("failed"));
    }
    if record.photos > 0 {
        // How long the photos took, and the most memory the instance ever held: a
        // Wasm instance's memory only grows, so its size now is its peak.
        line.number("photos", record.photos.into());
        line.number("photo_us", microseconds(record.photo_processing));
        if let Some(bytes) = instance_memory_bytes() {
            line.number("memory_kib", bytes / 1024);
        }
    }
    line.finish()
}

/// The size of this Wasm instance's linear memory (none natively).
fn instance_memory_bytes() -> Option<u64> {
    #[cfg(target_arch = "wasm32")]
    {
        Some(core::arch::wasm32::memory_size(0) as u64 * 65_536)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        None
    }
}

/// A line about something that went wrong (or degraded) during the request `record`.
fn event_line(record: Option<&Record>, level: Level, status: Option<u16>, cause: &str) -> String {
    let kind = if level == Level::Error {
        "error"
    } else {
        "warning"
    };
    let mut line = Line::new(SystemTime::now(), level, kind);
    if let Some(record) = record {
        line.text("request_id", &record.request_id);
        line.text("component", record.component);
        line.text("route", record.route);
    }
    if let Some(status) = status {
        line.number("status", status.into());
    }
    line.text("cause", &redact(shortened(cause)));
    line.finish()
}

/// The longest cause a line keeps, in bytes: a log line stays one short line.
const MAX_CAUSE_BYTES: usize = 2048;

/// `cause` cut at [`MAX_CAUSE_BYTES`] (on a character boundary).
fn shortened(cause: &str) -> &str {
    let mut end = cause.len().min(MAX_CAUSE_BYTES);
    while !cause.is_char_boundary(end) {
        end -= 1;
    }
    &cause[..end]
}

/// Writes the request line for the request being served, which ends with `status`.
pub fn request_ended(status: u16) {
    let line = record::with_current(|record| {
        record.map(|record| request_line(record, status, SystemTime::now()))
    });
    if let Some(line) = line {
        write_line(&line);
    }
}

/// Writes an error line: the request failed with `status` because of `cause`.
pub fn error(status: u16, cause: &str) {
    let line = record::with_current(|record| event_line(record, Level::Error, Some(status), cause));
    write_line(&line);
}

/// Writes a warning: the request goes on, degraded, because of `cause`.
pub fn warn(cause: &str) {
    let line = record::with_current(|record| event_line(record, Level::Warn, None, cause));
    write_line(&line);
}

/// One line, in one write, so lines of concurrent instances never interleave (and Spin's
/// OTLP export makes each write one log record).
///
/// In Spin the write is not flushed: Rust's `std::io::stderr` flushes every write, and
/// in an A/B run that cost a cached page about 8 % more of Spin's CPU, while the
/// unflushed write measured within noise (bench/notes.md); no line was lost in 46,000
/// requests. Spin's stream takes a line of any size a log line has (lines are short:
/// causes are cut at 2 KiB); only if it had no room would the line wait, 4 KiB at a time
/// (the most one blocking write takes).
#[cfg(target_arch = "wasm32")]
fn write_line(line: &str) {
    let stream = wasi::cli::stderr::get_stderr();
    let fits = stream
        .check_write()
        .is_ok_and(|room| room >= line.len() as u64);
    if fits {
        let _ = stream.write(line.as_bytes());
    } else {
        for chunk in line.as_bytes().chunks(4096) {
            if stream.blocking_write_and_flush(chunk).is_err() {
                return;
            }
        }
    }
}

/// Native builds (the unit tests) write to the process' stderr.
#[cfg(not(target_arch = "wasm32"))]
fn write_line(line: &str) {
    use std::io::Write as _;
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// Whole microseconds: integers keep the Wasm modules free of float formatting.
fn microseconds(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// Hides secrets a cause may quote: the password of a URL (`postgres://user:***@host`)
/// and a `password=` setting of a connection string.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        let authority_end = after
            .find(['/', '?', '#', ' ', '"', '\''])
            .unwrap_or(after.len());
        let authority = &after[..authority_end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..=colon]);
                out.push_str("***");
                out.push_str(&authority[at..]);
            }
            _ => out.push_str(authority),
        }
        rest = &after[authority_end..];
    }
    out.push_str(rest);
    redact_settings(&out)
}

/// The value of a `password` setting becomes `***`: `password=secret`,
/// `password = 'two words'`, `"password":"secret"`, `password: Some("secret")`. The word
/// alone (Postgres' "password authentication failed") is left as it is.
fn redact_settings(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.to_ascii_lowercase().find("password") {
        let (before, after) = rest.split_at(at + "password".len());
        out.push_str(before);
        // A setting: an optional closing quote of a JSON key, then `=` or `:`.
        let key_end = after.strip_prefix('"').unwrap_or(after).trim_start();
        let Some(separated) = key_end.strip_prefix(['=', ':']) else {
            rest = after;
            continue;
        };
        let mut value = separated.trim_start();
        value = value.strip_prefix("Some(").unwrap_or(value);
        out.push_str(&after[..after.len() - value.len()]);
        let end = match value.chars().next() {
            Some(quote @ ('\'' | '"')) => value[1..].find(quote).map_or(value.len(), |end| end + 2),
            _ => value
                .find(|c: char| c.is_whitespace() || matches!(c, '&' | ',' | ')' | '}'))
                .unwrap_or(value.len()),
        };
        out.push_str("***");
        rest = &value[end..];
    }
    out.push_str(rest);
    out
}

/// `2026-12-01T20:30:00.123Z`.
fn rfc3339(time: SystemTime) -> String {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since_epoch.as_secs();
    let (year, month, day) = civil_date(seconds / 86_400);
    let of_day = seconds % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
        since_epoch.subsec_millis()
    )
}

/// The Gregorian date `days` after 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_date(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::record::{CacheUse, UseCase};
    use std::time::Instant;

    #[test]
    fn times_are_utc_with_milliseconds() {
        let at = |seconds: u64, millis: u64| {
            rfc3339(UNIX_EPOCH + Duration::from_secs(seconds) + Duration::from_millis(millis))
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(at(1_796_157_045, 123), "2026-12-01T20:30:45.123Z");
        assert_eq!(at(4_107_542_399, 999), "2100-02-28T23:59:59.999Z");
    }

    #[test]
    fn secrets_in_a_cause_are_hidden() {
        for (cause, secret) in [
            (
                "connecting to postgres://market:hunter2@db:5432/market failed",
                "hunter2",
            ),
            ("redis://:s3cr3t@cache:6379 refused", "s3cr3t"),
            (
                "host=db user=market password=hunter2 dbname=market",
                "hunter2",
            ),
            ("Password = 'two words' host=db", "two words"),
            ("password=\"hunter2\" host=db", "hunter2"),
            ("{\"user\":\"m\",\"password\":\"hunter2\"}", "hunter2"),
            (
                "Config { password: Some(\"hunter2\"), host: \"db\" }",
                "hunter2",
            ),
        ] {
            let redacted = redact(cause);
            assert!(!redacted.contains(secret), "{redacted}");
            assert!(redacted.contains("***"), "{redacted}");
        }
        for kept in [
            "postgres://db:5432/market: connection refused",
            "password authentication failed for user \"market_app\"",
        ] {
            assert_eq!(redact(kept), kept);
        }
    }

    #[test]
    fn a_request_line_has_every_field_an_operator_counts_by() {
        let record = Record {
            request_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
            component: "items",
            method: "POST".into(),
            route: "/items",
            started: Instant::now(),
            database: Duration::from_micros(4_250),
            database_calls: 1,
            cache: Some(CacheUse::Bypass),
            use_case: Some(UseCase {
                name: "sell",
                outcome: None,
            }),
            photos: 0,
            photo_processing: Duration::ZERO,
        };
        let line = request_line(&record, 503, UNIX_EPOCH);
        assert!(line.ends_with("}\n") && !line[..line.len() - 1].contains('\n'));
        let json: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(json["time"], "1970-01-01T00:00:00.000Z");
        assert_eq!(json["level"], "error");
        assert_eq!(json["kind"], "request");
        assert_eq!(json["route"], "/items");
        assert_eq!(json["status"], 503);
        assert_eq!(json["db_us"], 4250);
        assert_eq!(json["db_calls"], 1);
        assert_eq!(json["cache"], "bypass");
        assert_eq!(json["outcome"], "failed");
    }

    #[test]
    fn a_long_cause_is_cut_on_a_character_boundary() {
        let cause = "é".repeat(MAX_CAUSE_BYTES);
        let line = event_line(None, Level::Error, Some(500), &cause);
        let json: serde_json::Value = serde_json::from_str(&line).unwrap();
        let kept = json["cause"].as_str().unwrap();
        assert!(kept.len() <= MAX_CAUSE_BYTES && kept.len() >= MAX_CAUSE_BYTES - 1);
    }

    #[test]
    fn a_cause_is_one_valid_json_string_whatever_it_holds() {
        let cause = "line one\nline \"two\" \\ tab\t bell\u{7} ünïcode";
        let line = event_line(None, Level::Error, Some(500), cause);
        assert_eq!(line.matches('\n').count(), 1, "{line}");
        let json: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(json["cause"], cause);
        assert_eq!(json["status"], 500);
        assert_eq!(json["kind"], "error");
    }
}
