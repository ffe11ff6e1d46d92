//! The compose stacks as users run them: `docker compose ... up --build --wait` on the
//! Docker engine, reached only through nginx's port published on 127.0.0.1, and taken
//! down with its volumes when dropped (also when the test before it failed).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use hyper::Method;
use serde_json::Value;

use crate::testing::{TestPerson, TestResponse, send_to, sign_up_at};

/// How long `up --build --wait` may take: a cold build of the components in the image
/// (about 80 s on 2 cores), or the first build inside the dev container (about 60 s).
const WAIT_TIMEOUT: Duration = Duration::from_secs(420);

/// One compose project: its files, the folder they are in, and the port nginx publishes.
pub struct Stack {
    project: String,
    dir: PathBuf,
    files: Vec<String>,
    pub port: u16,
    /// Where the stack's MailDev answers on this machine (its web page and REST API).
    pub mail_port: u16,
    /// The person who buys (and lists with the forms) through the stack, signed up on
    /// first use.
    shopper: tokio::sync::OnceCell<TestPerson>,
    /// The person who lists what the shopper buys (nobody buys their own listing),
    /// signed up on first use.
    merchant: tokio::sync::OnceCell<TestPerson>,
}

impl Stack {
    /// The project `project` of these compose files in `dir`, nginx on a free port. What
    /// a previous run of the same project left behind is removed first.
    pub fn new(project: &str, dir: &Path, files: &[&str]) -> anyhow::Result<Self> {
        let port = crate::ports::free_port()?;
        let mail_port = crate::ports::free_port()?;
        let stack = Self {
            project: project.to_owned(),
            dir: dir.to_path_buf(),
            files: files.iter().map(|file| (*file).to_owned()).collect(),
            port,
            mail_port,
            shopper: tokio::sync::OnceCell::new(),
            merchant: tokio::sync::OnceCell::new(),
        };
        stack.compose(&["down", "--volumes", "--remove-orphans"])?;
        Ok(stack)
    }

    /// Where nginx answers on this machine.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `GET path` through nginx.
    pub async fn get(&self, path: &str) -> anyhow::Result<TestResponse> {
        send_to(self.addr(), Method::GET, path, &[], Bytes::new()).await
    }

    /// The person who buys through this stack: signed up through nginx (the forms) the
    /// first time it is asked for, their address verified.
    pub async fn shopper(&self) -> anyhow::Result<&TestPerson> {
        self.shopper
            .get_or_try_init(|| self.sign_up_verified("Compose shopper"))
            .await
    }

    /// The person who lists what the [`Stack::shopper`] buys: signed up through nginx
    /// (the forms) the first time it is asked for, their address verified.
    pub async fn merchant(&self) -> anyhow::Result<&TestPerson> {
        self.merchant
            .get_or_try_init(|| self.sign_up_verified("Compose merchant"))
            .await
    }

    /// Signs a person up through nginx, finds the verification email the stack's
    /// mailer delivered to its MailDev, and opens its link through nginx, as they would.
    pub async fn sign_up_verified(&self, name: &str) -> anyhow::Result<TestPerson> {
        let person = sign_up_at(self.addr(), name).await?;
        let email = self
            .mailed(&person.email, "Confirm your email address")
            .await?;
        let text = email["text"].as_str().unwrap_or_default();
        let html = email["html"].as_str().unwrap_or_default();
        anyhow::ensure!(
            html.contains("/account/email/verify?token="),
            "the HTML part has the link too: {html}"
        );
        let link = link_path(text, "/account/email/verify?token=")
            .with_context(|| format!("no verification link in: {text}"))?;
        let opened = self.get(&link).await?;
        anyhow::ensure!(
            opened.status == hyper::StatusCode::OK,
            "opening the verification link: {} {}",
            opened.status,
            opened.text()
        );
        Ok(person)
    }

    /// The newest email the stack's MailDev holds for `address` whose subject contains
    /// `subject`, waiting up to a minute for the mailer to deliver it.
    pub async fn mailed(&self, address: &str, subject: &str) -> anyhow::Result<Value> {
        let maildev = SocketAddr::from(([127, 0, 0, 1], self.mail_port));
        let started = Instant::now();
        loop {
            let listed = send_to(maildev, Method::GET, "/email", &[], Bytes::new()).await;
            if let Ok(listed) = listed
                && let Value::Array(emails) = listed.json()
                && let Some(email) = emails.into_iter().rev().find(|email| {
                    email["subject"]
                        .as_str()
                        .unwrap_or_default()
                        .contains(subject)
                        && email["to"].as_array().is_some_and(|to| {
                            to.iter().any(|to| to["address"].as_str() == Some(address))
                        })
                })
            {
                return Ok(email);
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!("no email \"{subject}\" to {address} in the stack's MailDev after 60 s");
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// `POST path` with a JSON body through nginx, as a program of the [`Stack::shopper`]
    /// using the API does.
    pub async fn post_json(&self, path: &str, body: &str) -> anyhow::Result<TestResponse> {
        self.post_json_as(self.shopper().await?, path, body).await
    }

    /// `POST path` with a JSON body through nginx, as a program of `person`.
    pub async fn post_json_as(
        &self,
        person: &TestPerson,
        path: &str,
        body: &str,
    ) -> anyhow::Result<TestResponse> {
        let bearer = person.bearer();
        let headers = [
            ("content-type", "application/json"),
            ("authorization", bearer.as_str()),
        ];
        send_to(
            self.addr(),
            Method::POST,
            path,
            &headers,
            Bytes::from(body.to_owned()),
        )
        .await
    }

    /// `docker compose -p <project> -f <file>... <args>`, run in the stack's folder.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("docker");
        command
            .arg("compose")
            .args(["--project-name", &self.project])
            .current_dir(&self.dir)
            .env("NGINX_PORT", self.port.to_string())
            .env("MAIL_UI_PORT", self.mail_port.to_string())
            .env_remove("NGINX_BIND")
            .env_remove("SMTP_URL")
            .env_remove("PUBLIC_URL")
            .stdin(Stdio::null());
        for file in &self.files {
            command.args(["--file", file]);
        }
        command.args(args);
        command
    }

    /// Runs `docker compose ... <args>` and fails with its output when it fails.
    pub fn compose(&self, args: &[&str]) -> anyhow::Result<Output> {
        let output = self
            .command(args)
            .output()
            .with_context(|| format!("running docker compose {}", args.join(" ")))?;
        if !output.status.success() {
            bail!(
                "docker compose {} failed ({}):\n{}{}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(output)
    }

    /// `up --build --wait`: returns once every service is healthy (or, for the one-shot
    /// ones, exited 0), with how long that took; fails with the services' logs if not.
    pub fn up(&self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let timeout = WAIT_TIMEOUT.as_secs().to_string();
        let result = self.compose(&["up", "--build", "--wait", "--wait-timeout", &timeout]);
        match result {
            Ok(_) => Ok(started.elapsed()),
            Err(error) => bail!("{error:#}\nlogs:\n{}", self.logs()),
        }
    }

    /// Everything the services printed so far.
    pub fn logs(&self) -> String {
        self.command(&["logs", "--no-color", "--tail", "200"])
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
            .unwrap_or_default()
    }

    /// What these services printed, as printed (no service prefix): the app's and
    /// nginx's JSON lines, one per line. `docker compose logs` passes what a container
    /// wrote to stderr (the components' lines) on its own stderr: both are read.
    pub fn service_logs(&self, services: &[&str]) -> String {
        let mut args = vec!["logs", "--no-color", "--no-log-prefix"];
        args.extend(services);
        self.command(&args)
            .output()
            .map(|out| {
                let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
                text.push_str(&String::from_utf8_lossy(&out.stderr));
                text
            })
            .unwrap_or_default()
    }

    /// Every container of the project, running or exited, as `docker inspect` shows it.
    pub fn containers(&self) -> anyhow::Result<Vec<Value>> {
        let ids = self.compose(&["ps", "--all", "--quiet"])?;
        let ids: Vec<String> = String::from_utf8_lossy(&ids.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let output = Command::new("docker")
            .arg("inspect")
            .args(&ids)
            .output()
            .context("running docker inspect")?;
        let containers: Value =
            serde_json::from_slice(&output.stdout).context("docker inspect printed no JSON")?;
        Ok(containers.as_array().cloned().unwrap_or_default())
    }

    /// The containers of one service.
    pub fn service_containers(&self, service: &str) -> anyhow::Result<Vec<Value>> {
        Ok(self
            .containers()?
            .into_iter()
            .filter(|container| service_of(container) == service)
            .collect())
    }

    /// The volumes Docker holds for this project (named by compose, or anonymous ones
    /// attached to its containers).
    pub fn volumes(&self) -> anyhow::Result<Vec<String>> {
        volume_names(&[
            "--filter",
            &format!("label=com.docker.compose.project={}", self.project),
        ])
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Err(error) = self.compose(&["down", "--volumes", "--remove-orphans"]) {
            eprintln!("taking the stack {} down: {error:#}", self.project);
        }
    }
}

/// The compose service a container belongs to.
pub fn service_of(container: &Value) -> &str {
    container["Config"]["Labels"]["com.docker.compose.service"]
        .as_str()
        .unwrap_or_default()
}

/// Every volume on the Docker engine, named or anonymous.
pub fn all_volumes() -> anyhow::Result<Vec<String>> {
    volume_names(&[])
}

/// `docker volume ls --quiet` with these options.
fn volume_names(options: &[&str]) -> anyhow::Result<Vec<String>> {
    let output = Command::new("docker")
        .args(["volume", "ls", "--quiet"])
        .args(options)
        .output()
        .context("running docker volume ls")?;
    Ok(String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect())
}

/// A copy of the project's files (without `target`, `.git` and `node_modules`) in a new
/// temporary folder, for a stack that writes to its source (the dev override's bind
/// mount), so a test never edits the checkout it runs from. Removed when dropped.
pub struct ProjectCopy {
    pub dir: PathBuf,
}

impl ProjectCopy {
    pub fn new(from: &Path, name: &str) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        let copy = Self { dir };
        let status = Command::new("sh")
            .arg("-c")
            .arg(
                "tar -C \"$1\" --exclude=./target --exclude=./.git --exclude=node_modules \
                 -cf - . | tar -C \"$2\" -xf -",
            )
            .args([
                "copy",
                &from.display().to_string(),
                &copy.dir.display().to_string(),
            ])
            .status()
            .context("copying the project with tar")?;
        if !status.success() {
            bail!("copying the project to {} failed", copy.dir.display());
        }
        Ok(copy)
    }
}

impl Drop for ProjectCopy {
    fn drop(&mut self) {
        // The dev container writes here as its own user; removing needs no more than that.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The path (and query) of the first link in `text` whose path starts with `prefix`.
fn link_path(text: &str, prefix: &str) -> Option<String> {
    let start = text.find(prefix)?;
    let link: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, '>' | '"' | '<' | ')'))
        .collect();
    Some(link)
}
