//! `allowed_outbound_hosts`: parsing entries (`scheme://host[:port]`, with `*`, `*.domain`
//! and port ranges) and the check Spin's Postgres factor makes in `open`.

use tokio_postgres::config::Host;

use crate::bindings::spin::postgres::postgres::Error as PgError;
use crate::variables::Variables;

/// The port a scheme implies when an entry or an address leaves it out.
fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "postgres" => Some(5432),
        "mysql" => Some(3306),
        "redis" => Some(6379),
        "mqtt" => Some(1883),
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    /// `*.example.com`: any subdomain.
    Subdomain(String),
    Exact(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PortPattern {
    Any,
    /// End-exclusive, as Spin's `a..b`.
    Range(u16, u16),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    /// `None` for `*`.
    scheme: Option<String>,
    host: HostPattern,
    port: PortPattern,
}

impl AllowedHost {
    pub fn parse(entry: &str) -> Result<Self, String> {
        let malformed =
            |why: &str| format!("allowed_outbound_hosts entry {entry:?} is malformed: {why}");
        let (scheme, rest) = entry
            .split_once("://")
            .ok_or_else(|| malformed("expected scheme://host[:port]"))?;
        if scheme != "*" && (scheme.is_empty() || !scheme.chars().all(|c| c.is_ascii_alphabetic()))
        {
            return Err(malformed("the scheme must be letters or '*'"));
        }
        if rest.contains('/') {
            return Err(malformed("paths are not allowed"));
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        };
        let host = match host {
            "" => return Err(malformed("the host is empty")),
            "*" => HostPattern::Any,
            h if h.starts_with("*.") => HostPattern::Subdomain(h[1..].to_ascii_lowercase()),
            h if h.contains('*') => {
                return Err(malformed("wildcards are only allowed as '*' or '*.domain'"));
            }
            h => HostPattern::Exact(h.to_ascii_lowercase()),
        };
        let port = match port {
            Some("*") => PortPattern::Any,
            Some(text) => match text.split_once("..") {
                Some((start, end)) => PortPattern::Range(
                    start.parse().map_err(|_| malformed("bad port range"))?,
                    end.parse().map_err(|_| malformed("bad port range"))?,
                ),
                None => {
                    let port: u16 = text.parse().map_err(|_| malformed("bad port"))?;
                    PortPattern::Range(port, port.saturating_add(1))
                }
            },
            None => {
                let port = default_port(scheme).ok_or_else(|| {
                    malformed("no port was provided and the scheme does not have a known default port number")
                })?;
                PortPattern::Range(port, port + 1)
            }
        };
        Ok(Self {
            scheme: (scheme != "*").then(|| scheme.to_owned()),
            host,
            port,
        })
    }

    fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let host = host.to_ascii_lowercase();
        self.scheme.as_deref().is_none_or(|s| s == scheme)
            && match &self.host {
                HostPattern::Any => true,
                HostPattern::Subdomain(suffix) => host.ends_with(suffix.as_str()),
                HostPattern::Exact(exact) => *exact == host,
            }
            && match self.port {
                PortPattern::Any => true,
                PortPattern::Range(start, end) => (start..end).contains(&port),
            }
    }
}

/// A component's allowed hosts, with templates resolved.
#[derive(Debug, Clone)]
pub struct AllowedHosts(Vec<AllowedHost>);

impl AllowedHosts {
    /// Renders the templates (resolving every app variable first, as Spin does) and parses.
    pub fn resolve(entries: &[String], variables: &Variables) -> Result<Self, String> {
        entries
            .iter()
            .map(|entry| {
                let rendered = variables
                    .render(entry)
                    .map_err(|e| format!("resolving allowed_outbound_hosts: {e:?}"))?;
                AllowedHost::parse(&rendered)
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Whether any entry allows this destination.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        self.0
            .iter()
            .any(|allowed| allowed.allows(scheme, host, port))
    }

    /// The check of Spin's Postgres `open`: every TCP host of the connection string must
    /// be allowed for the `postgres` scheme.
    pub fn check_postgres(&self, address: &str) -> Result<(), PgError> {
        let config: tokio_postgres::Config = address
            .parse()
            .map_err(|e: tokio_postgres::Error| PgError::ConnectionFailed(e.to_string()))?;
        let ports = config.get_ports();
        for (index, host) in config.get_hosts().iter().enumerate() {
            let Host::Tcp(host) = host else {
                return Err(PgError::ConnectionFailed(
                    "Unix sockets are not supported on WebAssembly".into(),
                ));
            };
            let port = ports.get(index).or_else(|| {
                if ports.len() == 1 {
                    ports.first()
                } else {
                    None
                }
            });
            let url = match port {
                Some(port) => format!("{host}:{port}"),
                None => host.clone(),
            };
            let port = port.copied().unwrap_or(5432);
            if !self
                .0
                .iter()
                .any(|allowed| allowed.allows("postgres", host, port))
            {
                return Err(PgError::ConnectionFailed(format!(
                    "address postgres://{url} is not permitted"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(entries: &[&str]) -> AllowedHosts {
        AllowedHosts(
            entries
                .iter()
                .map(|e| AllowedHost::parse(e).unwrap())
                .collect(),
        )
    }

    #[test]
    fn a_postgres_host_is_allowed_only_on_its_port() {
        let allowed = hosts(&["postgres://db:5432"]);
        assert!(
            allowed
                .check_postgres("postgres://u:p@db:5432/market")
                .is_ok()
        );
        assert!(allowed.check_postgres("postgres://u:p@db/market").is_ok());
        assert!(allowed.check_postgres("host=db user=u").is_ok());
        // The form docker/app-entrypoint.sh writes, with a quoted password.
        let compose_url = r"host=db port=5432 user=market password='pa\'ss\\wd' dbname=market sslmode=disable connect_timeout=5";
        assert!(allowed.check_postgres(compose_url).is_ok());
        let Err(PgError::ConnectionFailed(message)) =
            allowed.check_postgres("postgres://u@db:6543/m")
        else {
            panic!("other port allowed");
        };
        assert_eq!(message, "address postgres://db:6543 is not permitted");
        assert!(
            allowed
                .check_postgres("postgres://u@evil.example:5432/m")
                .is_err()
        );
    }

    #[test]
    fn wildcards_and_defaults_follow_spin() {
        assert!(
            hosts(&["postgres://*:*"])
                .check_postgres("postgres://x:1/d")
                .is_ok()
        );
        assert!(
            hosts(&["*://*.internal:5432"])
                .check_postgres("postgres://db.internal/d")
                .is_ok()
        );
        assert!(
            hosts(&["postgres://db"])
                .check_postgres("postgres://db:5432/d")
                .is_ok()
        );
        assert!(
            hosts(&["mysql://db"])
                .check_postgres("postgres://db/d")
                .is_err()
        );
    }

    #[test]
    fn malformed_entries_are_refused() {
        for entry in [
            "db:5432",
            "postgres://db/path",
            "postgres://d*b",
            "foo://db",
            "postgres://db:x",
            "*",
        ] {
            assert!(AllowedHost::parse(entry).is_err(), "{entry}");
        }
    }
}
