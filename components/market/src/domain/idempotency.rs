//! Idempotency: a write sent twice (a double click, a retry after a timeout) happens
//! once. What a key is, where it travels and how long it answers replays are here; the
//! statements claim it (`storage::sql`: the claim is part of each write's one statement,
//! so two requests with one key can never both write) and report a key reused for
//! another request as an outcome (`storage::db`).

/// The header a program sets to make a write safe to retry.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// The hidden field carrying a form's one-time key (each page view hands out a new
/// one, so a double-submitted form writes once).
pub const IDEMPOTENCY_FIELD: &str = "idempotency_key";

/// How long a key answers replays. After that it is free again: a request with it is
/// new, and its row may be removed.
pub const KEY_LIFETIME: &str = "24 hours";

/// A client's key for one logical write: 1..=255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const MAX_CHARS: usize = 255;

    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() || raw.len() > Self::MAX_CHARS {
            return Err(format!(
                "Idempotency-Key must be 1 to {} characters.",
                Self::MAX_CHARS
            ));
        }
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("Idempotency-Key must be visible ASCII characters.".into());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_short_visible_ascii() {
        assert!(IdempotencyKey::parse("order-7f3a").is_ok());
        let too_long = "k".repeat(IdempotencyKey::MAX_CHARS + 1);
        for bad in ["", "has space", "tab\t", "é", too_long.as_str()] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
    }
}
