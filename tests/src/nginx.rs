//! The project's real nginx config (`nginx.conf` and `conf.d/default.conf`) in front of
//! a test upstream: the same files, with only the upstream address, the listen port and
//! the paths of the container substituted, run by the real nginx binary.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

use crate::process;

/// The start of the upstream line of `conf.d/default.conf` that compose resolves to the
/// app service (its parameters follow, up to `;`).
const UPSTREAM_START: &str = "server app:3000";
const LISTEN_LINE: &str = "listen 80;";
/// The access log of the container, here in the test's folder.
const ACCESS_LOG: &str = "/var/log/nginx/access.log";
/// The edge cache's folder in the container, here in the test's folder.
const CACHE_DIR: &str = "/var/cache/nginx/marketplace";
/// The limits of `conf.d/default.conf` that a load generator would hit by design: per
/// address (it is one), and the cap on sign-ins in progress (it measures their cost).
const LOAD_LIMIT_LINES: [&str; 4] = [
    "limit_req zone=writes burst=20 nodelay;",
    "limit_req zone=credentials burst=5 nodelay;",
    "limit_conn password_hashing 4;",
    "limit_conn requests_per_address 64;",
];

/// The line of `conf.d/default.conf` that turns the edge cache on.
const EDGE_CACHE_LINE: &str = "proxy_cache marketplace;";

/// What of the project's site a test nginx keeps.
#[derive(Debug, Clone, Copy)]
struct Site {
    rate_limit: bool,
    edge_cache: bool,
}

pub struct Nginx {
    pub addr: SocketAddr,
    dir: PathBuf,
    child: Child,
}

impl Nginx {
    /// Starts nginx with the project's `conf.d` proxying to `upstream`.
    pub fn start(conf_d: &Path, upstream: SocketAddr) -> anyhow::Result<Self> {
        Self::start_with_upstreams(conf_d, &[upstream])
    }

    /// The same in front of several app instances, as nginx sees the replicas of a
    /// scaled-out compose service (every address `app` resolves to is a server).
    pub fn start_with_upstreams(conf_d: &Path, upstreams: &[SocketAddr]) -> anyhow::Result<Self> {
        let site = Site {
            rate_limit: true,
            edge_cache: true,
        };
        Self::start_configured(conf_d, upstreams, site)
    }

    /// The same without the per-address limits and the cap on sign-ins in progress: for
    /// a load generator, whose every request comes from one address (the benchmark).
    pub fn start_without_rate_limit(conf_d: &Path, upstream: SocketAddr) -> anyhow::Result<Self> {
        let site = Site {
            rate_limit: false,
            edge_cache: true,
        };
        Self::start_configured(conf_d, &[upstream], site)
    }

    /// The same without the edge cache either: every request reaches the app (the
    /// benchmark's comparison with the app's own per-request path).
    pub fn start_without_rate_limit_or_cache(
        conf_d: &Path,
        upstream: SocketAddr,
    ) -> anyhow::Result<Self> {
        let site = Site {
            rate_limit: false,
            edge_cache: false,
        };
        Self::start_configured(conf_d, &[upstream], site)
    }

    fn start_configured(
        conf_d: &Path,
        upstreams: &[SocketAddr],
        options: Site,
    ) -> anyhow::Result<Self> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "market-nginx-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(dir.join("conf.d"))?;
        std::fs::create_dir_all(dir.join("logs"))?;
        let port = crate::ports::free_port()?;
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;

        let site = std::fs::read_to_string(conf_d.join("default.conf"))
            .context("reading conf.d/default.conf")?;
        ensure!(
            site.matches(UPSTREAM_START).count() == 1 && site.matches(LISTEN_LINE).count() == 1,
            "conf.d/default.conf must contain `{UPSTREAM_START}` and `{LISTEN_LINE}` once each"
        );
        let (before, after) = site.split_once(UPSTREAM_START).unwrap();
        let (parameters, after) = after.split_once(';').context("the upstream line ends")?;
        let servers = upstreams
            .iter()
            .map(|upstream| format!("server {upstream}{parameters};"))
            .collect::<Vec<_>>()
            .join(" ");
        let mut site = format!("{before}{servers}{after}");
        if !options.edge_cache {
            ensure!(
                site.matches(EDGE_CACHE_LINE).count() == 1,
                "conf.d/default.conf must contain `{EDGE_CACHE_LINE}` once"
            );
            site = site.replace(EDGE_CACHE_LINE, "");
        }
        if !options.rate_limit {
            for line in LOAD_LIMIT_LINES {
                // Every location that sets a limit_conn of its own repeats the others.
                ensure!(
                    site.contains(line),
                    "conf.d/default.conf must contain `{line}`"
                );
                site = site.replace(line, "");
            }
        }
        let site = site
            .replace(LISTEN_LINE, &format!("listen {addr};"))
            .replace(
                ACCESS_LOG,
                &dir.join("logs/access.log").display().to_string(),
            )
            .replace(CACHE_DIR, &dir.join("cache").display().to_string());
        std::fs::write(dir.join("conf.d/default.conf"), site)?;
        // The project's main config, whatever site is tested under it.
        let main_path = crate::testing::project_dir().join("nginx.conf");
        let main = std::fs::read_to_string(main_path).context("reading nginx.conf")?;
        std::fs::write(dir.join("nginx.conf"), main_config(&main, &dir)?)?;

        let binary = nginx_binary()?;
        let test = Command::new(&binary)
            .args(["-t", "-p"])
            .arg(&dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .output()?;
        ensure!(
            test.status.success(),
            "nginx -t failed: {}",
            String::from_utf8_lossy(&test.stderr)
        );
        let mut command = Command::new(&binary);
        command
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = process::own_group(&mut command)
            .spawn()
            .context("starting nginx")?;
        process::kill_group_when_this_process_exits(&child)?;
        let nginx = Self { addr, dir, child };
        let started = Instant::now();
        while TcpStream::connect(addr).is_err() {
            if started.elapsed() > Duration::from_secs(10) {
                bail!("nginx did not start listening on {addr}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(nginx)
    }

    /// nginx's access log so far (one JSON line per request).
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("logs/access.log")).unwrap_or_default()
    }

    /// The access log once it has a line holding `needle`: nginx writes a request's
    /// line after the response has left, so a client may read the log before it is
    /// there. Waits up to 5 s, then returns the log as it is.
    pub async fn access_log_with(&self, needle: &str) -> String {
        let started = std::time::Instant::now();
        loop {
            let log = self.access_log();
            if log.contains(needle) || started.elapsed() > Duration::from_secs(5) {
                return log;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The project's `conf.d`.
    pub fn project_conf_d() -> PathBuf {
        crate::testing::project_dir().join("conf.d")
    }
}

impl Drop for Nginx {
    /// A graceful stop (SIGQUIT, as `nginx -s quit`), then whatever is left of the master
    /// and its workers is killed.
    fn drop(&mut self) {
        process::stop_group(&mut self.child, libc::SIGQUIT, Duration::from_secs(5));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The version of the nginx the tests run (`nginx -v`: "1.22.1").
pub fn version() -> anyhow::Result<String> {
    // "nginx version: nginx/1.22.1"
    process::printed_version(&nginx_binary()?, "-v", "nginx/")
}

fn nginx_binary() -> anyhow::Result<PathBuf> {
    [
        "/usr/sbin/nginx",
        "/usr/local/sbin/nginx",
        "/usr/local/nginx/sbin/nginx",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|path| path.exists())
    .context("nginx is not installed (apt-get install nginx-light)")
}

/// The project's `nginx.conf` pointed at the test folder: in the foreground, as the
/// user running the tests, with its logs, pid and temporary files there, and the test's
/// copy of `conf.d`.
fn main_config(main: &str, dir: &Path) -> anyhow::Result<String> {
    let dir = dir.display();
    let mut config = main.to_owned();
    for (container, test) in [
        ("user  nginx;", "daemon off;".to_owned()),
        (
            "/var/log/nginx/error.log notice",
            format!("{dir}/logs/error.log warn"),
        ),
        ("/run/nginx.pid", format!("{dir}/nginx.pid")),
        (ACCESS_LOG, format!("{dir}/logs/access.log")),
        (
            "include /etc/nginx/conf.d/*.conf;",
            format!(
                "client_body_temp_path {dir}/client_body; proxy_temp_path {dir}/proxy; \
                 fastcgi_temp_path {dir}/fastcgi; uwsgi_temp_path {dir}/uwsgi; \
                 scgi_temp_path {dir}/scgi; include {dir}/conf.d/*.conf;"
            ),
        ),
    ] {
        ensure!(
            config.matches(container).count() == 1,
            "nginx.conf must contain `{container}` once"
        );
        config = config.replace(container, &test);
    }
    Ok(config)
}
