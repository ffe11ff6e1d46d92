//! People: what an account is made of (email, display name, password) and its rules,
//! how passwords are hashed, and the secrets that stand for a person (a session's id in
//! a cookie, an API token), of which only a SHA-256 digest is ever stored.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use sha2::{Digest, Sha256};

use crate::domain::error::AppError;
use crate::domain::item::{FieldErrors, Item};

/// The field names of the account forms.
pub mod field {
    pub const EMAIL: &str = "email";
    pub const DISPLAY_NAME: &str = "display_name";
    pub const PASSWORD: &str = "password";
    pub const TOKEN_NAME: &str = "token_name";
}

/// Shortest and longest password, in characters. The upper bound is checked before
/// hashing, so nobody can make the server hash a megabyte.
pub const PASSWORD_MIN_CHARS: usize = 12;
pub const PASSWORD_MAX_CHARS: usize = 1_000;
/// Longest display name and token name, in characters, after trimming.
pub const DISPLAY_NAME_MAX_CHARS: usize = 64;
pub const TOKEN_NAME_MAX_CHARS: usize = 64;
/// Longest email address (RFC 5321's path limit less its brackets).
pub const EMAIL_MAX_CHARS: usize = 254;

/// Argon2id's cost: 9 MiB of memory, 4 passes, 1 lane. This is one of the equivalent
/// minimum configurations of OWASP's Password Storage Cheat Sheet (m=9216, t=4, p=1;
/// the others trade memory for passes, e.g. m=19456, t=2). It fits in the 16 MiB each
/// component instance may use (`runtime-config.toml` max_instance_memory), which the
/// 19 MiB configuration would not. Hashes keep their own parameters, so raising these
/// later still verifies old hashes.
pub const ARGON2_MEMORY_KIB: u32 = 9_216;
pub const ARGON2_PASSES: u32 = 4;
pub const ARGON2_LANES: u32 = 1;

/// A session ends after this long without a request, or this long after sign-in,
/// whichever comes first (Postgres intervals).
pub const SESSION_IDLE_TIMEOUT: &str = "7 days";
pub const SESSION_LIFETIME: &str = "30 days";
/// The same lifetime in seconds, for the cookie's `Max-Age`.
pub const SESSION_LIFETIME_SECONDS: u32 = 30 * 24 * 60 * 60;
/// A session's last use is written at most this often, so reading it stays a read.
pub const SESSION_TOUCH_INTERVAL: &str = "1 minute";

/// Failed sign-ins for one email that cost nothing; after them each failure doubles the
/// wait before the next attempt (1 s, 2 s, 4 s …) up to the cap, and a success clears it.
pub const FREE_SIGN_IN_FAILURES: i32 = 5;
pub const MAX_SIGN_IN_DELAY_SECONDS: i32 = 300;

/// Who a write is done for, as far as the request proves it: a person already known
/// (their browser's session was looked up), or the holder of an API token, whom the
/// write's own statement finds, so that an API write is one round trip to Postgres.
#[derive(Debug, Clone, Copy)]
pub enum Writer<'a> {
    Person(AccountId),
    TokenHolder(&'a Secret),
}

/// The id Postgres gave an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AccountId(i64);

impl AccountId {
    pub fn new(id: i64) -> Self {
        Self(id)
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// The person a request comes from: their account and the name others see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: AccountId,
    pub display_name: String,
}

impl Person {
    /// Whether they sell `item` (nobody sells an item listed before accounts existed).
    pub fn sells(&self, item: &Item) -> bool {
        item.seller_id == Some(self.id.get())
    }
}

/// An API token as its owner sees it listed (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenInfo {
    pub id: i64,
    pub name: String,
    /// RFC 3339 in UTC.
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// An email address: trimmed and lower-cased (addresses are one account whatever their
/// case), with one `@` between a local part and a domain, no spaces or control
/// characters, at most 254 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let email = raw.trim().to_lowercase();
        let wrong = || Err("Enter an email address like name@example.com.".to_owned());
        if email.is_empty() {
            return Err("Enter your email address.".into());
        }
        if email.chars().count() > EMAIL_MAX_CHARS {
            return Err(format!("Use at most {EMAIL_MAX_CHARS} characters."));
        }
        if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return wrong();
        }
        match email.split_once('@') {
            Some((local, domain))
                if !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.') =>
            {
                Ok(Self(email))
            }
            _ => wrong(),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The name other people see on listings: trimmed, 1..=64 characters, no control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        short_text(
            raw,
            DISPLAY_NAME_MAX_CHARS,
            "Enter the name others will see.",
        )
        .map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a person calls one of their API tokens, e.g. "laptop script".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenName(String);

impl TokenName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        short_text(
            raw,
            TOKEN_NAME_MAX_CHARS,
            "Name the token, e.g. “stock script”.",
        )
        .map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn short_text(raw: &str, max_chars: usize, empty: &str) -> Result<String, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(empty.to_owned());
    }
    if text.chars().count() > max_chars {
        return Err(format!("Use at most {max_chars} characters."));
    }
    if text.chars().any(char::is_control) {
        return Err("Use letters, digits and punctuation only (no control characters).".into());
    }
    Ok(text.to_owned())
}

/// A password as typed (not trimmed: spaces are part of it), 12..=1,000 characters.
/// Its `Debug` shows no character of it, so no log line can.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}

impl Password {
    /// A password for a new account: long enough, and not too long to hash.
    pub fn parse_new(raw: &str) -> Result<Self, String> {
        let chars = raw.chars().count();
        if chars < PASSWORD_MIN_CHARS {
            return Err(format!("Use at least {PASSWORD_MIN_CHARS} characters."));
        }
        Self::parse_given(raw)
    }

    /// A password given at sign-in: only the upper bound is checked (an old rule may
    /// have allowed shorter ones; a wrong one simply does not match).
    pub fn parse_given(raw: &str) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("Enter your password.".into());
        }
        if raw.chars().count() > PASSWORD_MAX_CHARS {
            return Err(format!("Use at most {PASSWORD_MAX_CHARS} characters."));
        }
        Ok(Self(raw.to_owned()))
    }

    fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

fn hasher() -> Argon2<'static> {
    let params = Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, ARGON2_LANES, None)
        .expect("the Argon2 parameters are within Argon2's bounds");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The password's Argon2id hash as a PHC string (`$argon2id$v=19$m=…`), with a random
/// 16-byte salt.
pub fn hash_password(password: &Password) -> Result<String, AppError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|e| AppError::Internal(format!("no randomness for a salt: {e}")))?;
    hasher()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| AppError::Internal(format!("hashing a password: {e}")))
}

/// The hash of a random password that was thrown away, with the current parameters: an unknown email is
/// checked against it, so that it takes as long as a known one with a wrong password.
const UNKNOWN_ACCOUNT_HASH: &str = "$argon2id$v=19$m=9216,t=4,p=1$uhqCkRkiwCJuodMYWxXfIQ$VC8RVfo95RrhsKWAQDFk5/Q1ptjbxuCZ77NurxJKkIY";

/// Whether `password` is the one `stored` was made from; with no stored hash (no such
/// account) it does the same work against a hash nobody can match, and says no.
pub fn password_matches(password: &Password, stored: Option<&str>) -> bool {
    let verified = hasher()
        .verify_password(password.as_bytes(), stored.unwrap_or(UNKNOWN_ACCOUNT_HASH))
        .is_ok();
    verified && stored.is_some()
}

/// A secret that stands for a person: a session's id or an API token. It is sent to the
/// client once; the database keeps only [`Secret::digest`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// What API tokens start with, so that a leaked one is recognisable (secret scanners,
/// people) and never mistaken for a session id.
pub const API_TOKEN_PREFIX: &str = "mkt_";

impl Secret {
    /// A new session id: 32 random bytes as 64 hex digits.
    pub fn new_session_id() -> Result<Self, AppError> {
        crate::domain::token::random_token().map(Self)
    }

    /// A new API token: the prefix and 32 random bytes as hex.
    pub fn new_api_token() -> Result<Self, AppError> {
        crate::domain::token::random_token().map(|token| Self(format!("{API_TOKEN_PREFIX}{token}")))
    }

    /// A session id as a cookie carries it, if well formed.
    pub fn parse_session_id(text: &str) -> Option<Self> {
        is_token(text).then(|| Self(text.to_owned()))
    }

    /// An API token as a client sends it, if well formed.
    pub fn parse_api_token(text: &str) -> Option<Self> {
        text.strip_prefix(API_TOKEN_PREFIX)
            .filter(|token| is_token(token))
            .map(|_| Self(text.to_owned()))
    }

    /// The SHA-256 of the secret, as 64 hex digits: what the database stores and looks
    /// up. A random 256-bit secret needs no salt or slow hash: it cannot be guessed.
    pub fn digest(&self) -> String {
        Sha256::digest(self.0.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// A value derived from the secret for one `purpose` (SHA-256 of the purpose, a NUL
    /// and the secret, as hex): as unguessable as the secret, and telling nothing of it
    /// or of its [`Secret::digest`], so it may be shown in a page.
    pub fn derived(&self, purpose: &str) -> String {
        let mut hasher = Sha256::new();
        hasher.update(purpose.as_bytes());
        hasher.update([0]);
        hasher.update(self.0.as_bytes());
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

fn is_token(text: &str) -> bool {
    text.len() == crate::domain::token::TOKEN_BYTES * 2
        && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A sign-up, every part valid.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub email: Email,
    pub display_name: DisplayName,
    pub password: Password,
}

impl NewAccount {
    /// Checks every field, collecting a message for each wrong one.
    pub fn parse(email: &str, display_name: &str, password: &str) -> Result<Self, FieldErrors> {
        let (email, display_name, password) = (
            Email::parse(email),
            DisplayName::parse(display_name),
            Password::parse_new(password),
        );
        match (email, display_name, password) {
            (Ok(email), Ok(display_name), Ok(password)) => Ok(Self {
                email,
                display_name,
                password,
            }),
            (email, display_name, password) => {
                let mut errors = FieldErrors::default();
                for (name, result) in [
                    (field::EMAIL, email.err()),
                    (field::DISPLAY_NAME, display_name.err()),
                    (field::PASSWORD, password.err()),
                ] {
                    if let Some(message) = result {
                        errors.add(name, message);
                    }
                }
                Err(errors)
            }
        }
    }
}

/// Where to go after signing in: a path of this site (`/…`, not `//host` or `/\host`,
/// which browsers read as another site), else the home page.
pub fn safe_return_path(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.chars().any(|c| c.is_control() || c == '\\') =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_lower_cased_and_checked() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        for (raw, why) in [
            ("", "empty"),
            ("ada", "no @"),
            ("@example.com", "no local part"),
            ("ada@", "no domain"),
            ("ada@example", "a domain without a dot"),
            ("a b@example.com", "a space"),
            ("ada@@example.com", "two @"),
            ("ada@example.com.", "a trailing dot"),
        ] {
            assert!(Email::parse(raw).is_err(), "{raw:?} ({why}) was accepted");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err(), "longer than 254");
    }

    #[test]
    fn passwords_have_bounds_in_characters_and_never_show_in_debug() {
        assert!(Password::parse_new(&"x".repeat(11)).is_err());
        assert!(
            Password::parse_new(&"é".repeat(12)).is_ok(),
            "characters, not bytes"
        );
        assert!(Password::parse_new(&"x".repeat(1_000)).is_ok());
        assert!(Password::parse_new(&"x".repeat(1_001)).is_err());
        assert!(Password::parse_given(&"x".repeat(1_001)).is_err());
        assert!(
            Password::parse_given("short").is_ok(),
            "sign-in checks no minimum"
        );
        let password = Password::parse_new("correct horse battery").unwrap();
        assert!(!format!("{password:?}").contains("horse"));
    }

    #[test]
    fn a_hash_verifies_its_password_only() {
        let password = Password::parse_new("correct horse battery").unwrap();
        let hash = hash_password(&password).unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=9216,t=4,p=1$"), "{hash}");
        assert!(password_matches(&password, Some(&hash)));
        let other = Password::parse_given("correct horse battery!").unwrap();
        assert!(!password_matches(&other, Some(&hash)));
        assert!(!password_matches(&password, None), "no account: no match");
        assert_ne!(hash, hash_password(&password).unwrap(), "salted");
    }

    #[test]
    fn the_unknown_account_hash_has_the_current_parameters() {
        let expected =
            format!("$argon2id$v=19$m={ARGON2_MEMORY_KIB},t={ARGON2_PASSES},p={ARGON2_LANES}$");
        assert!(UNKNOWN_ACCOUNT_HASH.starts_with(&expected));
        // It must parse: a hash that did not would be refused before any work, and an
        // unknown email would answer faster than a known one.
        assert!(argon2::password_hash::phc::PasswordHash::new(UNKNOWN_ACCOUNT_HASH).is_ok());
        let any = Password::parse_given("anything at all").unwrap();
        assert!(
            hasher()
                .verify_password(b"anything at all", UNKNOWN_ACCOUNT_HASH)
                .is_err()
        );
        assert!(!password_matches(&any, None));
    }

    #[test]
    fn secrets_are_stored_as_digests_and_parsed_strictly() {
        let session = Secret::new_session_id().unwrap();
        assert_eq!(
            Secret::parse_session_id(session.expose()),
            Some(session.clone())
        );
        assert_eq!(session.digest().len(), 64);
        assert_ne!(session.digest(), session.expose());
        let token = Secret::new_api_token().unwrap();
        assert!(token.expose().starts_with("mkt_"));
        assert_eq!(Secret::parse_api_token(token.expose()), Some(token.clone()));
        assert_eq!(Secret::parse_api_token(session.expose()), None);
        assert_eq!(Secret::parse_session_id(token.expose()), None);
        assert_eq!(Secret::parse_session_id(&"A".repeat(64)), None);
        assert!(!format!("{token:?}").contains("mkt_"));
    }

    #[test]
    fn return_paths_stay_on_this_site() {
        assert_eq!(safe_return_path(Some("/items/4")), "/items/4");
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "items",
            "",
        ] {
            assert_eq!(safe_return_path(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_return_path(None), "/");
    }
}
