//! A throwaway MailDev (the npm package `maildev`, the release the compose file's image
//! `maildev/maildev` is built from) on free ports: the SMTP relay the email tests send
//! through, read back through its REST API. Stopped with everything it forked when
//! dropped; [`MailDev::stop`] and [`MailDev::start_server`] take it down and bring it
//! back on the same ports (a relay that went away), keeping the emails it had.
//!
//! `npm ci --prefix tests/browser` installs it (./scripts/test does).

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use bytes::Bytes;
use hyper::{Method, StatusCode};

use crate::process;
use crate::testing::{project_dir, send_to};

/// How long MailDev may take to listen (Node loads its modules first).
const STARTUP: Duration = Duration::from_secs(30);

/// The MailDev program, as npm installs it.
fn program() -> anyhow::Result<PathBuf> {
    let program = project_dir().join("tests/browser/node_modules/maildev/bin/maildev");
    ensure!(
        program.is_file(),
        "MailDev is not installed ({} is missing): run `npm ci --prefix tests/browser` \
         (./scripts/test does)",
        program.display()
    );
    Ok(program)
}

/// The version of the MailDev the tests run (its package.json), to compare with the
/// image the compose file names.
pub fn version() -> anyhow::Result<String> {
    // bin/maildev's package: two folders up (a path through a file cannot use "..").
    let program = program()?;
    let manifest = program
        .parent()
        .and_then(Path::parent)
        .context("MailDev's program is not in its package's bin folder")?
        .join("package.json");
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("reading {}", manifest.display()))?;
    let manifest: serde_json::Value = serde_json::from_str(&text)?;
    manifest["version"]
        .as_str()
        .map(str::to_owned)
        .context("MailDev's package.json names no version")
}

fn free_port() -> anyhow::Result<u16> {
    crate::ports::free_port()
}

/// One MailDev: its SMTP relay and its web API, both on 127.0.0.1.
pub struct MailDev {
    pub smtp: SocketAddr,
    pub web: SocketAddr,
    /// Where it keeps the emails (so a restart finds them again), and its log.
    dir: PathBuf,
    /// Its options beyond the ports and the mail folder.
    options: Vec<String>,
    child: Option<Child>,
}

impl MailDev {
    pub fn start() -> anyhow::Result<Self> {
        Self::start_with(Vec::new())
    }

    /// MailDev with these options of its command line as well, e.g. `--incoming-secure`
    /// (TLS from the first byte) with `--incoming-cert`, `--incoming-key`, and
    /// `--incoming-user`, `--incoming-pass` (a relay that wants a sign-in).
    pub fn start_with(options: Vec<String>) -> anyhow::Result<Self> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "market-maildev-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(dir.join("mail"))?;
        let mut maildev = Self {
            smtp: SocketAddr::from(([127, 0, 0, 1], free_port()?)),
            web: SocketAddr::from(([127, 0, 0, 1], free_port()?)),
            dir,
            options,
            child: None,
        };
        maildev.start_server()?;
        Ok(maildev)
    }

    /// Starts MailDev (again, after [`Self::stop`]) on the same ports, with the emails
    /// it had.
    pub fn start_server(&mut self) -> anyhow::Result<()> {
        // One that crashed leaves its group to clean up.
        self.stop();
        let logged_before = self.log().len();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("maildev.log"))?;
        let mut command = Command::new("node");
        command
            .arg(program()?)
            .args(["--ip", "127.0.0.1", "--smtp"])
            .arg(self.smtp.port().to_string())
            .arg("--web")
            .arg(self.web.port().to_string())
            .arg("--mail-directory")
            .arg(self.dir.join("mail"))
            .args(&self.options)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = process::own_group(&mut command)
            .spawn()
            .context("starting MailDev with node (apt-get install nodejs)")?;
        process::kill_group_when_this_process_exits(&child)?;
        self.child = Some(child);
        // Ready once it says both servers listen. Not probed by connecting: MailDev with
        // `--incoming-secure` dies of a connection closed before its TLS handshake.
        let started = Instant::now();
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                bail!("MailDev exited with {status}:\n{}", self.log());
            }
            let log = self.log();
            let said = log.get(logged_before..).unwrap_or_default();
            if said.contains("MailDev SMTP Server running at")
                && said.contains("MailDev webapp running at")
                && TcpStream::connect(self.web).is_ok()
            {
                return Ok(());
            }
            if started.elapsed() > STARTUP {
                bail!("MailDev did not listen within {STARTUP:?}:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Freezes MailDev (SIGSTOP): connections are accepted by the kernel, nothing
    /// answers them, as a relay that hangs mid-conversation.
    pub fn freeze(&self) {
        self.signal(libc::SIGSTOP);
    }

    /// Lets a frozen MailDev go on (SIGCONT).
    pub fn thaw(&self) {
        self.signal(libc::SIGCONT);
    }

    fn signal(&self, signal: libc::c_int) {
        if let Some(child) = &self.child {
            // SAFETY: kill(2) with a pid and a signal number has no memory effects.
            unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        }
    }

    /// Stops MailDev: its ports refuse connections until [`Self::start_server`].
    pub fn stop(&mut self) {
        self.thaw();
        if let Some(mut child) = self.child.take() {
            process::stop_group(&mut child, libc::SIGTERM, Duration::from_secs(5));
        }
    }

    /// The relay's address as the sender's `SMTP_URL`.
    pub fn smtp_url(&self) -> String {
        format!("smtp://{}", self.smtp)
    }

    /// What MailDev printed.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("maildev.log")).unwrap_or_default()
    }

    /// Every email MailDev holds, as its REST API gives them (`GET /email`: `subject`,
    /// `text`, `html`, `headers`, `to`, `from`, `messageId`, ...), oldest first.
    pub async fn emails(&self) -> anyhow::Result<Vec<serde_json::Value>> {
        let response = send_to(self.web, Method::GET, "/email", &[], Bytes::new()).await?;
        ensure!(
            response.status == StatusCode::OK,
            "GET /email: {} {}",
            response.status,
            response.text()
        );
        match response.json() {
            serde_json::Value::Array(emails) => Ok(emails),
            other => bail!("GET /email gave no list: {other}"),
        }
    }

    /// The emails once there are at least `count`, or an error after `patience`.
    pub async fn wait_for_emails(
        &self,
        count: usize,
        patience: Duration,
    ) -> anyhow::Result<Vec<serde_json::Value>> {
        let started = Instant::now();
        loop {
            let emails = self.emails().await?;
            if emails.len() >= count {
                return Ok(emails);
            }
            if started.elapsed() > patience {
                bail!(
                    "MailDev holds {} emails after {patience:?}, not {count}",
                    emails.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Deletes every email MailDev holds (`DELETE /email/all`).
    pub async fn delete_all(&self) -> anyhow::Result<()> {
        let response = send_to(self.web, Method::DELETE, "/email/all", &[], Bytes::new()).await?;
        ensure!(
            response.status == StatusCode::OK,
            "DELETE /email/all: {}",
            response.status
        );
        Ok(())
    }
}

impl Drop for MailDev {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
