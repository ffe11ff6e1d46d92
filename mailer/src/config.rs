//! The sender's configuration, read once at start from the environment and the secret
//! files it names. Anything missing or malformed stops the sender before it sends, with
//! a message that names the variable; no value of a secret is ever part of a message.
//!
//! | variable | meaning |
//! | --- | --- |
//! | `DATABASE_URL` | Postgres, as the role `market_mailer` (TLS options as `migrate` reads them) |
//! | `DATABASE_PASSWORD_FILE` | optional: a file holding that role's password |
//! | `SMTP_URL` | the relay: `smtp://host[:port]` (port 25; STARTTLS when offered, `?tls=required` to insist), `smtps://host[:port]` (port 465, TLS from the first byte); `user[:password]@` to sign in (only over TLS: smtps:// or ?tls=required) |
//! | `SMTP_PASSWORD_FILE` | optional: a file holding the relay password (instead of the URL) |
//! | `SMTP_CA_FILE` | optional: PEM certificates of a private CA the relay's certificate may chain to, besides Mozilla's roots |
//! | `MAIL_FROM` | the sender, `Shop name <address>` |
//! | `PUBLIC_URL` | where people open the shop, the base of every link (`https://shop.example`) |
//! | `SHOP_NAME` | the shop's name in the emails (`Marketplace`) |
//! | `MAILER_POLL_MS` | how long to wait when nothing is due (1000) |
//! | `MAILER_RETRY_FIRST_SECS`, `MAILER_RETRY_MAX_SECS` | the first and the longest wait between tries (30, 1800) |
//! | `MAILER_GIVE_UP_SECS` | optional: one give-up age for every kind (tests); else reset 1 h, verify 24 h, notices 48 h |

use std::time::Duration;

use lettre::message::Mailbox;

use crate::policy::{GiveUpAges, Policy};

/// Everything the sender needs to run.
pub struct Config {
    pub database: Database,
    pub smtp: Smtp,
    pub from: Mailbox,
    pub public_url: PublicUrl,
    pub shop_name: String,
    pub poll: Duration,
    pub policy: Policy,
}

/// The database to read the outbox from: the connection string parsed, with the TLS it
/// asks for (shared with the migration runner), and the password from its file.
pub struct Database {
    pub target: migrations::Target,
}

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtp://`: STARTTLS if the relay offers it, else in the clear (a local relay).
    StartTlsWhenOffered,
    /// `smtp://...?tls=required`: STARTTLS, or no email at all.
    StartTlsRequired,
    /// `smtps://`: TLS from the first byte (implicit TLS).
    Tls,
}

/// The SMTP relay.
#[derive(Clone, PartialEq, Eq)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// User name and password to sign in with, if the relay wants them.
    pub credentials: Option<(String, String)>,
    /// Certificates (PEM) of authorities to trust besides Mozilla's, for a relay with a
    /// private CA (`SMTP_CA_FILE`).
    pub ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for Smtp {
    /// Never the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .finish()
    }
}

/// The absolute base of every link in an email, without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    base: String,
    host: String,
}

impl PublicUrl {
    /// An `http` or `https` URL with a host, optionally a path prefix, and nothing else
    /// (no user, query or fragment: links are built by appending paths to it).
    pub fn parse(text: &str) -> Result<PublicUrl, String> {
        let url = url::Url::parse(text.trim()).map_err(|e| format!("not a URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("must start with http:// or https://".to_owned());
        }
        let host = url.host_str().ok_or("has no host")?.to_owned();
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not hold a user or password".to_owned());
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err("must not have a query or fragment".to_owned());
        }
        let base = url.as_str().trim_end_matches('/').to_owned();
        Ok(PublicUrl { base, host })
    }

    /// `{base}{path}`; `path` starts with `/`.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The base itself (`https://shop.example`).
    pub fn as_str(&self) -> &str {
        &self.base
    }

    /// The host, which names the shop in every Message-ID.
    pub fn host(&self) -> &str {
        &self.host
    }
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Config, String> {
        Config::from_lookup(&|name| std::env::var(name).ok())
    }

    /// Reads the configuration with `var` standing for the environment.
    pub fn from_lookup(var: &dyn Fn(&str) -> Option<String>) -> Result<Config, String> {
        // A variable set to nothing is not set: compose's `${SMTP_PASSWORD_FILE:-}` gives
        // every optional one an empty value when the shell has none.
        let var = &|name: &str| var(name).filter(|value| !value.trim().is_empty());
        let required = |name: &str| {
            var(name)
                .filter(|value| !value.trim().is_empty())
                .ok_or_else(|| format!("{name} is not set"))
        };
        let database = Database::from_lookup(var)?;
        let mut smtp = Smtp::parse(&required("SMTP_URL")?, var("SMTP_PASSWORD_FILE").as_deref())
            .map_err(|e| format!("SMTP_URL: {e}"))?;
        if let Some(path) = var("SMTP_CA_FILE") {
            let pem =
                std::fs::read(&path).map_err(|e| format!("SMTP_CA_FILE: reading {path}: {e}"))?;
            smtp.ca_pem = Some(pem);
        }
        let from: Mailbox = required("MAIL_FROM")?.trim().parse().map_err(|e| {
            format!("MAIL_FROM: not an address like `Marketplace <shop@example.com>` ({e})")
        })?;
        let public_url =
            PublicUrl::parse(&required("PUBLIC_URL")?).map_err(|e| format!("PUBLIC_URL: {e}"))?;
        let shop_name = var("SHOP_NAME")
            .map(|name| name.trim().to_owned())
            .unwrap_or_else(|| "Marketplace".to_owned());
        if shop_name.is_empty()
            || shop_name.chars().count() > 64
            || shop_name.chars().any(char::is_control)
        {
            return Err("SHOP_NAME: 1 to 64 characters on one line".to_owned());
        }
        let number = |name: &str, default: u64, least: u64| -> Result<u64, String> {
            match var(name) {
                None => Ok(default),
                Some(text) => match text.trim().parse::<u64>() {
                    Ok(value) if value >= least => Ok(value),
                    _ => Err(format!("{name}: a whole number of at least {least}")),
                },
            }
        };
        let poll = Duration::from_millis(number("MAILER_POLL_MS", 1000, 10)?);
        let retry_first = Duration::from_secs(number("MAILER_RETRY_FIRST_SECS", 30, 1)?);
        let retry_max = Duration::from_secs(number("MAILER_RETRY_MAX_SECS", 1800, 1)?);
        if retry_max < retry_first {
            return Err(
                "MAILER_RETRY_MAX_SECS: at least MAILER_RETRY_FIRST_SECS (the first wait)"
                    .to_owned(),
            );
        }
        let give_up = match var("MAILER_GIVE_UP_SECS") {
            None => GiveUpAges::DEFAULT,
            Some(_) => GiveUpAges::all(Duration::from_secs(number("MAILER_GIVE_UP_SECS", 0, 1)?)),
        };
        Ok(Config {
            database,
            smtp,
            from,
            public_url,
            shop_name,
            poll,
            policy: Policy {
                retry_first,
                retry_max,
                give_up,
            },
        })
    }
}

impl Database {
    /// `DATABASE_URL`, with the password of `DATABASE_PASSWORD_FILE` if set. The sender
    /// names itself to Postgres (`application_name=mailer`) and waits at most 10 s for a
    /// connection, unless the connection string says otherwise.
    pub fn from_lookup(var: &dyn Fn(&str) -> Option<String>) -> Result<Database, String> {
        let url = var("DATABASE_URL")
            .filter(|value| !value.trim().is_empty())
            .ok_or("DATABASE_URL is not set")?;
        let mut target =
            migrations::Target::parse(url.trim()).map_err(|e| format!("DATABASE_URL: {e}"))?;
        if let Some(path) = var("DATABASE_PASSWORD_FILE") {
            target
                .config
                .password(read_secret(&path, "DATABASE_PASSWORD_FILE")?);
        }
        if target.config.get_application_name().is_none() {
            target.config.application_name("mailer");
        }
        if target.config.get_connect_timeout().is_none() {
            target.config.connect_timeout(Duration::from_secs(10));
        }
        Ok(Database { target })
    }
}

impl Smtp {
    /// `smtp://` or `smtps://`, a host, an optional port, user and password (percent-
    /// encoded), and for `smtp://` an optional `?tls=required`. The password may instead
    /// come from the file at `password_file`.
    pub fn parse(text: &str, password_file: Option<&str>) -> Result<Smtp, String> {
        let url = url::Url::parse(text.trim())
            .map_err(|_| "not a URL like smtp://relay:25 or smtps://user@relay:465".to_owned())?;
        let tls = url
            .query_pairs()
            .find(|(key, _)| key == "tls")
            .map(|(_, value)| value.into_owned());
        let (security, default_port) = match (url.scheme(), tls.as_deref()) {
            ("smtp", None | Some("opportunistic")) => (Security::StartTlsWhenOffered, 25),
            ("smtp", Some("required")) => (Security::StartTlsRequired, 25),
            ("smtps", None) => (Security::Tls, 465),
            ("smtp" | "smtps", Some(other)) => {
                return Err(format!("tls={other}: write tls=required or leave it out"));
            }
            (other, _) => return Err(format!("{other}:// is neither smtp:// nor smtps://")),
        };
        let host = url
            .host_str()
            .filter(|host| !host.is_empty())
            .ok_or("has no host")?;
        // url keeps IPv6 hosts in brackets; the socket address wants them bare.
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let decode = |part: &str, what: &str| {
            percent_encoding::percent_decode_str(part)
                .decode_utf8()
                .map(|text| text.into_owned())
                .map_err(|_| format!("its {what} is not UTF-8 once percent-decoded"))
        };
        let user = decode(url.username(), "user")?;
        let password = match (url.password(), password_file) {
            (Some(_), Some(_)) => {
                return Err(
                    "holds a password and SMTP_PASSWORD_FILE is set too: give it once".to_owned(),
                );
            }
            (Some(password), None) => Some(decode(password, "password")?),
            (None, Some(path)) => Some(read_secret(path, "SMTP_PASSWORD_FILE")?),
            (None, None) => None,
        };
        let credentials = match (user.is_empty(), password) {
            (true, None) => None,
            (false, Some(password)) => Some((user, password)),
            (false, None) => {
                return Err(
                    "names a user but no password (in the URL or SMTP_PASSWORD_FILE)".to_owned(),
                );
            }
            (true, Some(_)) => return Err("has a password but no user".to_owned()),
        };
        if credentials.is_some() && security == Security::StartTlsWhenOffered {
            return Err(
                "signs in over smtp://, where the password would cross the network in the \
                 clear if the relay offered no STARTTLS: use smtps:// or add ?tls=required"
                    .to_owned(),
            );
        }
        Ok(Smtp {
            host,
            port: url.port().unwrap_or(default_port),
            security,
            credentials,
            ca_pem: None,
        })
    }
}

/// A secret file's content, without the line break an editor may have added.
fn read_secret(path: &str, variable: &str) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|text| text.trim_end_matches(['\r', '\n']).to_owned())
        .map_err(|e| format!("{variable}: reading {path}: {e}"))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const VALID: [(&str, &str); 4] = [
        (
            "DATABASE_URL",
            "postgres://market_mailer@db/market?sslmode=disable",
        ),
        ("SMTP_URL", "smtp://maildev:1025"),
        ("MAIL_FROM", "Marketplace <shop@marketplace.localhost>"),
        ("PUBLIC_URL", "http://localhost:8080/"),
    ];

    /// The valid configuration with `name` set to `value` (or removed, for `None`).
    fn with(name: &str, value: Option<&str>) -> Result<Config, String> {
        let mut pairs: Vec<(&str, &str)> = VALID.into_iter().filter(|(k, _)| *k != name).collect();
        if let Some(value) = value {
            pairs.push((name, value));
        }
        Config::from_lookup(&lookup(&pairs))
    }

    #[test]
    fn a_minimal_environment_gives_the_defaults() {
        let config = Config::from_lookup(&lookup(&VALID)).unwrap();
        assert_eq!(config.smtp.host, "maildev");
        assert_eq!(config.smtp.port, 1025);
        assert_eq!(config.smtp.security, Security::StartTlsWhenOffered);
        assert_eq!(config.smtp.credentials, None);
        assert_eq!(config.from.email.to_string(), "shop@marketplace.localhost");
        assert_eq!(
            config.public_url.link("/orders/7"),
            "http://localhost:8080/orders/7"
        );
        assert_eq!(config.public_url.host(), "localhost");
        assert_eq!(config.shop_name, "Marketplace");
        assert_eq!(config.poll, Duration::from_secs(1));
        assert_eq!(config.policy, Policy::DEFAULT);
        assert_eq!(
            config.database.target.config.get_application_name(),
            Some("mailer")
        );
    }

    /// As compose passes `${SMTP_PASSWORD_FILE:-}` and `${SMTP_CA_FILE:-}` unset in the
    /// shell: empty, which is not a file to read.
    #[test]
    fn an_optional_variable_set_to_nothing_is_not_set() {
        for name in [
            "SMTP_PASSWORD_FILE",
            "SMTP_CA_FILE",
            "DATABASE_PASSWORD_FILE",
        ] {
            let config = with(name, Some("")).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(config.smtp.credentials, None, "{name}");
        }
    }

    #[test]
    fn each_missing_or_invalid_variable_is_named() {
        let cases: [(&str, Option<&str>, &str); 13] = [
            ("DATABASE_URL", None, "DATABASE_URL is not set"),
            (
                "DATABASE_URL",
                Some("postgres://db/m?sslmode=maybe"),
                "DATABASE_URL:",
            ),
            ("SMTP_URL", None, "SMTP_URL is not set"),
            ("SMTP_URL", Some("http://relay"), "SMTP_URL: http://"),
            (
                "SMTP_URL",
                Some("smtp://user@relay"),
                "SMTP_URL: names a user but no password",
            ),
            (
                "SMTP_URL",
                Some("smtps://relay?tls=required"),
                "SMTP_URL: tls=required",
            ),
            ("MAIL_FROM", Some("the shop"), "MAIL_FROM: not an address"),
            ("PUBLIC_URL", Some("localhost:8080"), "PUBLIC_URL:"),
            (
                "PUBLIC_URL",
                Some("https://shop.example/?a=b"),
                "PUBLIC_URL: must not have a query",
            ),
            ("SHOP_NAME", Some("two\nlines"), "SHOP_NAME:"),
            ("MAILER_POLL_MS", Some("soon"), "MAILER_POLL_MS:"),
            ("MAILER_RETRY_MAX_SECS", Some("5"), "MAILER_RETRY_MAX_SECS:"),
            ("MAILER_GIVE_UP_SECS", Some("0"), "MAILER_GIVE_UP_SECS:"),
        ];
        for (name, value, expected) in cases {
            let error = with(name, value)
                .err()
                .unwrap_or_else(|| panic!("{name}={value:?} was accepted"));
            assert!(error.starts_with(expected), "{name}={value:?}: {error}");
        }
    }

    #[test]
    fn relay_urls_say_how_the_connection_is_protected_and_who_signs_in() {
        let smtps =
            Smtp::parse("smtps://shop%40example.com:p%40ss+word@relay.example", None).unwrap();
        assert_eq!(smtps.security, Security::Tls);
        assert_eq!(smtps.port, 465);
        assert_eq!(
            smtps.credentials,
            Some(("shop@example.com".to_owned(), "p@ss+word".to_owned()))
        );
        let required = Smtp::parse("smtp://u:p@relay.example:587?tls=required", None).unwrap();
        assert_eq!(required.security, Security::StartTlsRequired);
        assert_eq!(required.port, 587);
        assert_eq!(Smtp::parse("smtp://[::1]", None).unwrap().host, "::1");
        // A password only ever crosses an encrypted connection.
        let clear = Smtp::parse("smtp://u:p@relay.example", None).unwrap_err();
        assert!(clear.contains("in the clear"), "{clear}");
        // The password never shows in a debug print.
        assert!(!format!("{smtps:?}").contains("p@ss"));
    }

    #[test]
    fn passwords_come_from_their_files_without_the_final_line_break() {
        let dir = std::env::temp_dir().join(format!("mailer-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("smtp-password");
        std::fs::write(&file, "s3cret\n").unwrap();
        let path = file.to_str().unwrap();
        let smtp = Smtp::parse("smtps://shop@relay.example", Some(path)).unwrap();
        assert_eq!(
            smtp.credentials,
            Some(("shop".to_owned(), "s3cret".to_owned()))
        );
        assert!(Smtp::parse("smtps://shop:other@relay.example", Some(path)).is_err());
        let missing = Smtp::parse("smtps://shop@relay.example", Some("/nonexistent/file"));
        assert!(
            missing
                .unwrap_err()
                .starts_with("SMTP_PASSWORD_FILE: reading")
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn one_give_up_age_may_stand_for_every_kind() {
        let config = with("MAILER_GIVE_UP_SECS", Some("2")).unwrap();
        assert_eq!(
            config.policy.give_up,
            GiveUpAges::all(Duration::from_secs(2))
        );
    }
}
