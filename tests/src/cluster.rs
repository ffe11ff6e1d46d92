//! Throwaway PostgreSQL clusters for tests: `initdb` into a temporary folder, a free
//! port, and removal afterwards, even when the test process is killed. As root, the
//! server runs as the `postgres` user (initdb refuses root).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, bail};

use crate::testing::project_dir;

/// Where the PostgreSQL server binaries are: `$PG_BIN`, else where `./scripts/test`
/// installs the release `docker-compose.yml` names (`target/tools/postgresql`).
fn bin_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let installed = project_dir().join("target/tools/postgresql/bin");
    if installed.join("initdb").exists() {
        return Ok(installed);
    }
    bail!(
        "no PostgreSQL for the tests: run ./scripts/test (it installs the release \
         docker-compose.yml names into target/tools/postgresql), or set PG_BIN to a folder \
         holding initdb, pg_ctl and postgres of that release"
    )
}

/// The version of the PostgreSQL server the tests run (`postgres --version`: "18.1").
pub fn server_version() -> anyhow::Result<String> {
    crate::process::printed_version(&bin_dir()?.join("postgres"), "--version", "(PostgreSQL) ")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| out.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

fn free_port() -> anyhow::Result<u16> {
    crate::ports::free_port()
}

pub struct PgCluster {
    dir: PathBuf,
    bin: PathBuf,
    as_postgres_user: bool,
    max_connections: u32,
    pub port: u16,
}

impl PgCluster {
    /// Creates and starts a new cluster that allows plenty of connections.
    pub fn start() -> anyhow::Result<Self> {
        Self::start_with_max_connections(400)
    }

    /// Creates and starts a new cluster with Postgres' `max_connections` set.
    pub fn start_with_max_connections(max_connections: u32) -> anyhow::Result<Self> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "market-pg-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        let cluster = Self {
            bin: bin_dir()?,
            as_postgres_user: is_root(),
            max_connections,
            port: free_port()?,
            dir,
        };
        cluster.remove_when_process_exits()?;
        if cluster.as_postgres_user {
            run(Command::new("chown")
                .arg("postgres:postgres")
                .arg(&cluster.dir))?;
        }
        run(cluster
            .pg_command("initdb")
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(cluster.data_dir()))?;
        cluster.start_server()?;
        Ok(cluster)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn pg_command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if self.as_postgres_user {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    /// Starts the server (again, after [`Self::stop`]) on the same port and data.
    pub fn start_server(&self) -> anyhow::Result<()> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections={} \
             -c shared_preload_libraries=pg_stat_statements",
            self.port,
            self.dir.display(),
            self.max_connections
        );
        run(self
            .pg_command("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-l"])
            .arg(self.dir.join("server.log"))
            .args(["-o", &options, "-w", "start"]))
    }

    /// Stops the server (fast shutdown: clients are disconnected at once).
    pub fn stop(&self) -> anyhow::Result<()> {
        run(self
            .pg_command("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-m", "fast", "-w", "stop"]))
    }

    /// From now on, roles other than `postgres` must give their password over TCP
    /// (SCRAM), as in the compose setup; `postgres` keeps trust for the tests' own use.
    pub fn require_passwords(&self) -> anyhow::Result<()> {
        self.reload_with_hba(
            "local all all trust\n\
             host all postgres 127.0.0.1/32 trust\n\
             host all all 127.0.0.1/32 scram-sha-256\n",
        )
    }

    /// Replaces pg_hba.conf and has the server reread its configuration.
    fn reload_with_hba(&self, hba: &str) -> anyhow::Result<()> {
        std::fs::write(self.data_dir().join("pg_hba.conf"), hba)?;
        run(self
            .pg_command("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .arg("reload"))?;
        // The postmaster rereads its files on SIGHUP, a moment after pg_ctl returns.
        std::thread::sleep(std::time::Duration::from_millis(300));
        Ok(())
    }

    /// From now on the server speaks TLS with this certificate and key (PEM files), and
    /// refuses connections over TCP that do not use it.
    pub fn require_tls(&self, certificate: &Path, key: &Path) -> anyhow::Result<()> {
        let data = self.data_dir();
        std::fs::copy(certificate, data.join("server.crt"))?;
        std::fs::copy(key, data.join("server.key"))?;
        if self.as_postgres_user {
            run(Command::new("chown")
                .arg("postgres:postgres")
                .arg(data.join("server.crt"))
                .arg(data.join("server.key")))?;
        }
        run(Command::new("chmod")
            .arg("600")
            .arg(data.join("server.key")))?;
        let mut settings = std::fs::read_to_string(data.join("postgresql.conf"))?;
        settings
            .push_str("\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
        std::fs::write(data.join("postgresql.conf"), settings)?;
        self.reload_with_hba(
            "local all all trust\n\
             hostssl all all 127.0.0.1/32 trust\n\
             hostnossl all all 127.0.0.1/32 reject\n",
        )
    }

    /// A connection string for one database of this cluster.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{database}?sslmode=disable",
            self.port
        )
    }

    /// A watcher that stops the server and deletes the folder once this process is gone,
    /// so a killed or panicking test run leaves nothing behind.
    fn remove_when_process_exits(&self) -> anyhow::Result<()> {
        let pg_ctl = self.pg_command("pg_ctl");
        let stop = std::iter::once(pg_ctl.get_program())
            .chain(pg_ctl.get_args())
            .map(|part| shell_quote(&part.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ");
        // A server a test froze (SIGSTOP) acts on no signal: it is thawed first.
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
             postmaster=$(head -n1 {data}/postmaster.pid 2>/dev/null); \
             [ -n \"$postmaster\" ] && kill -CONT $postmaster && pkill -CONT -P $postmaster; \
             {stop} -D {data} -m immediate stop >/dev/null 2>&1; rm -rf {dir}",
            pid = std::process::id(),
            data = shell_quote(&self.data_dir().to_string_lossy()),
            dir = shell_quote(&self.dir.to_string_lossy()),
        );
        crate::process::run_detached(&script).context("starting the cluster's clean-up watcher")
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Freezes the whole server (SIGSTOP to the postmaster and every backend), as a
    /// stalled disk or a partition does: connections stay open, nothing answers.
    pub fn freeze(&self) -> anyhow::Result<()> {
        self.signal_every_process(libc::SIGSTOP)
    }

    /// Lets a frozen server go on (SIGCONT), where it stopped.
    pub fn thaw(&self) -> anyhow::Result<()> {
        self.signal_every_process(libc::SIGCONT)
    }

    fn signal_every_process(&self, signal: libc::c_int) -> anyhow::Result<()> {
        let pid_file = std::fs::read_to_string(self.data_dir().join("postmaster.pid"))
            .context("reading postmaster.pid: is the server running?")?;
        let postmaster: libc::pid_t = pid_file
            .lines()
            .next()
            .and_then(|line| line.trim().parse().ok())
            .context("postmaster.pid holds no pid")?;
        for pid in std::iter::once(postmaster).chain(crate::process::children_of(postmaster)) {
            // SAFETY: kill(2) with a pid and a signal number has no memory effects.
            unsafe { libc::kill(pid, signal) };
        }
        Ok(())
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        // A server a test froze (SIGSTOP) acts on no signal: it is thawed first.
        let _ = self.thaw();
        let _ = self
            .pg_command("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let output = command
        .output()
        .with_context(|| format!("running {command:?}"))?;
    if !output.status.success() {
        bail!(
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}
