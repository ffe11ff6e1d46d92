//! The sender's log: one JSON line per event on stderr.
//!
//! An email's events (`claimed`, `sent`, `retry`, `gave_up`) name its outbox row, kind
//! and attempt, and a failure its cause. The service's own events (`started`,
//! `database_unavailable`, `stopping`, `stopped`) say what it is doing. Never in a line:
//! addresses, names, tokens, bodies, passwords or connection strings; a cause passes
//! through [`redact`] first, in case a relay or a driver echoes something it was given.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::kind::Kind;

/// How bad an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// An event about one outbox row.
#[derive(Debug, Clone)]
pub struct RowEvent<'a> {
    pub event: &'static str,
    pub level: Level,
    pub outbox_id: i64,
    pub kind: Kind,
    /// Which try this is (1 for the first).
    pub attempt: i32,
    pub error: Option<&'a str>,
    /// For `retry`: in how many seconds the next try is due.
    pub retry_in: Option<Duration>,
    /// For `sent`: how long the relay took.
    pub took: Option<Duration>,
}

impl RowEvent<'_> {
    /// The line, as written.
    pub fn line(&self, time: SystemTime) -> String {
        let mut fields = header(time, self.level, self.event);
        fields.insert("outbox_id".into(), json!(self.outbox_id));
        fields.insert("kind".into(), json!(self.kind.as_str()));
        fields.insert("attempt".into(), json!(self.attempt));
        if let Some(error) = self.error {
            fields.insert("error".into(), json!(error));
        }
        if let Some(retry_in) = self.retry_in {
            fields.insert("retry_in_secs".into(), json!(retry_in.as_secs_f64()));
        }
        if let Some(took) = self.took {
            fields.insert("took_ms".into(), json!(took.as_millis() as u64));
        }
        Value::Object(fields).to_string()
    }

    pub fn write(&self) {
        eprintln!("{}", self.line(SystemTime::now()));
    }
}

/// An event of the service itself, with a message (never a secret).
pub fn service(level: Level, event: &str, message: &str) {
    let mut fields = header(SystemTime::now(), level, event);
    if !message.is_empty() {
        fields.insert("message".into(), json!(message));
    }
    eprintln!("{}", Value::Object(fields));
}

fn header(time: SystemTime, level: Level, event: &str) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert("time".into(), json!(rfc3339(time)));
    fields.insert("level".into(), json!(level.as_str()));
    fields.insert("service".into(), json!("mailer"));
    fields.insert("event".into(), json!(event));
    fields
}

/// `text` with each of `secrets` (non-empty) replaced by `[redacted]`, at most 500
/// characters (the outbox keeps no longer `last_error`).
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut text = text.to_owned();
    for secret in secrets.iter().filter(|secret| secret.len() >= 4) {
        text = text.replace(secret, "[redacted]");
    }
    match text.char_indices().nth(500) {
        Some((end, _)) => text[..end].to_owned(),
        None => text,
    }
}

/// `time` as RFC 3339 in UTC with milliseconds (`2025-01-31T12:00:00.123Z`).
pub fn rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's days-to-civil, for days since 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_in_utc() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let leap_day = UNIX_EPOCH + Duration::from_millis(951_782_400_123);
        assert_eq!(rfc3339(leap_day), "2000-02-29T00:00:00.123Z");
        let later = UNIX_EPOCH + Duration::from_secs(1_767_225_599);
        assert_eq!(rfc3339(later), "2025-12-31T23:59:59.000Z");
    }

    #[test]
    fn a_row_event_is_one_json_line_with_its_row_kind_attempt_and_cause() {
        let line = RowEvent {
            event: "retry",
            level: Level::Warn,
            outbox_id: 42,
            kind: Kind::Reset,
            attempt: 3,
            error: Some("Connection refused\n(os error 111)"),
            retry_in: Some(Duration::from_secs(120)),
            took: None,
        }
        .line(UNIX_EPOCH);
        assert!(!line.contains('\n'));
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["event"], "retry");
        assert_eq!(value["outbox_id"], 42);
        assert_eq!(value["kind"], "reset");
        assert_eq!(value["attempt"], 3);
        assert_eq!(value["error"], "Connection refused\n(os error 111)");
        assert_eq!(value["retry_in_secs"], 120.0);
    }

    #[test]
    fn causes_lose_their_secrets_and_fit_the_outbox() {
        let token = "a".repeat(64);
        let cause = format!("550 no such link {token} here");
        assert_eq!(
            redact(&cause, &[&token, ""]),
            "550 no such link [redacted] here"
        );
        assert_eq!(redact(&"é".repeat(600), &[]).chars().count(), 500);
    }
}
