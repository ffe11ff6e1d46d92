//! The real Spin CLI serving the project: `spin up` on the built components and the
//! project's `runtime-config.toml`, on a free port, with its variables from the
//! environment as in production (`SPIN_VARIABLE_*`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::process;
use crate::testing::project_dir;

/// How long `spin up` may take to answer its own health check (it compiles the
/// components on first start; later starts use Wasmtime's cache).
const STARTUP: Duration = Duration::from_secs(60);

/// The `spin` binary: `$SPIN_BIN`, else the first `spin` on `PATH`.
pub fn spin_binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("SPIN_BIN") {
        return Ok(PathBuf::from(path));
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("spin"))
        .find(|path| path.is_file())
        .context(
            "the Spin CLI is not on PATH: the tests run the app under the real `spin up`. \
             Run ./scripts/test (it installs Spin), or install Spin 4.0.2 \
             (https://spinframework.dev) and put it on PATH",
        )
}

/// The version of the Spin CLI the tests run (`spin --version`: "spin 4.0.2 (...)").
pub fn version() -> anyhow::Result<String> {
    process::printed_version(&spin_binary()?, "--version", "spin ")
}

/// Spin variables (name → value) as the environment variables Spin reads them from
/// (`SPIN_VARIABLE_<NAME>`).
pub fn variable_environment(
    variables: impl IntoIterator<Item = (String, String)>,
) -> Vec<(String, String)> {
    variables
        .into_iter()
        .map(|(name, value)| (format!("SPIN_VARIABLE_{}", name.to_uppercase()), value))
        .collect()
}

/// One `spin up` process; stopped (with every process it forked) when dropped.
pub struct SpinUp {
    pub addr: SocketAddr,
    dir: PathBuf,
    child: Child,
}

impl SpinUp {
    /// Starts `spin up` with these Spin variables (name → value) and waits until it
    /// answers.
    pub fn start(variables: &HashMap<String, String>) -> anyhow::Result<Self> {
        Self::start_with(&spin_binary()?, &variable_environment(variables.clone()))
    }

    /// Starts `launcher up ...` (Spin itself, or a script that runs it with the same
    /// arguments, such as `docker/app-entrypoint.sh`) with this environment added, the
    /// `spin` binary first on its `PATH`.
    pub fn start_with(launcher: &Path, environment: &[(String, String)]) -> anyhow::Result<Self> {
        let mut command = Command::new(launcher);
        command.current_dir(project_dir());
        Self::start_command(command, Path::new("runtime-config.toml"), environment)
    }

    /// Starts `command up ...`: the command names what runs Spin (with its working
    /// directory, where `spin.toml` is), this adds Spin's arguments (the runtime config
    /// file, relative to that directory or absolute) and the environment.
    pub fn start_command(
        mut command: Command,
        runtime_config: &Path,
        environment: &[(String, String)],
    ) -> anyhow::Result<Self> {
        components_are_built()?;
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "market-spin-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        let port = crate::ports::free_port()?;
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
        let log = std::fs::File::create(dir.join("spin.log"))?;
        command
            .args(["up", "--from", "spin.toml"])
            .arg("--runtime-config-file")
            .arg(runtime_config)
            .arg("--listen")
            .arg(addr.to_string())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("SPIN_VARIABLE_") {
                command.env_remove(name);
            }
        }
        let spin_dir = spin_binary()?
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let path = std::env::var_os("PATH").unwrap_or_default();
        let path =
            std::env::join_paths(std::iter::once(spin_dir).chain(std::env::split_paths(&path)))?;
        command.env("PATH", path).envs(environment.iter().cloned());
        let child = process::own_group(&mut command)
            .spawn()
            .context("starting spin up")?;
        process::kill_group_when_this_process_exits(&child)?;
        let mut spin = Self { addr, dir, child };
        spin.wait_until_serving()?;
        Ok(spin)
    }

    fn wait_until_serving(&mut self) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("spin up exited with {status}:\n{}", self.log());
            }
            if health_answers(self.addr) {
                return Ok(());
            }
            if started.elapsed() > STARTUP {
                bail!("spin up did not answer within {STARTUP:?}:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// What Spin printed, and what the components wrote (runtime-config.toml leaves
    /// Spin no log directory: component output goes to Spin's own).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("spin.log")).unwrap_or_default()
    }

    /// The OS process id of `spin up`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills `spin up` at once (SIGKILL), as a crashed or evicted instance goes.
    pub fn kill(&mut self) {
        process::stop_group(&mut self.child, libc::SIGKILL, Duration::ZERO);
    }
}

/// The components spin.toml serves, as `cargo build --target wasm32-wasip2 --release`
/// leaves them.
const COMPONENTS: [&str; 7] = [
    "pages", "items", "health", "accounts", "photos", "trading", "docs",
];

/// Fails, saying what to run, when a built component is missing or older than a file of
/// the project it was built from (cargo's dep-info beside it, and Cargo.lock): the tests
/// must never pass or fail on yesterday's components.
fn components_are_built() -> anyhow::Result<()> {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    let checked = CHECKED.get_or_init(|| {
        let project = project_dir().canonicalize().map_err(|e| e.to_string())?;
        let release = project.join("target/wasm32-wasip2/release");
        for component in COMPONENTS {
            let wasm = release.join(format!("{component}.wasm"));
            let Some(newer) = newer_input(&wasm, &release.join(format!("{component}.d")), &project)
            else {
                return Err(format!("{} is missing", wasm.display()));
            };
            if let Some(input) = newer {
                return Err(format!(
                    "{component}.wasm is older than {}: the tests would run stale components. \
                     Build them first: cargo build --target wasm32-wasip2 --release \
                     -p pages -p items -p health -p accounts -p photos -p trading -p docs (./scripts/test does)",
                    input.display()
                ));
            }
        }
        Ok(())
    });
    checked.clone().map_err(anyhow::Error::msg)
}

/// For a file cargo built (`None` when missing): the first input of it inside `project`
/// (as its dep-info file `dep_info` lists them, and Cargo.lock) that is newer than it.
pub(crate) fn newer_input(
    built: &Path,
    dep_info: &Path,
    project: &Path,
) -> Option<Option<PathBuf>> {
    let built = std::fs::metadata(built)
        .and_then(|meta| meta.modified())
        .ok()?;
    let dep_info = std::fs::read_to_string(dep_info).unwrap_or_default();
    Some(
        project_inputs(&dep_info, project)
            .into_iter()
            .chain([project.join("Cargo.lock")])
            .find(|input| {
                std::fs::metadata(input)
                    .and_then(|meta| meta.modified())
                    .is_ok_and(|modified| modified > built)
            }),
    )
}

/// The inputs inside `project` that a cargo dep-info file (`out: in in\ with\ space ...`)
/// lists.
fn project_inputs(dep_info: &str, project: &Path) -> Vec<PathBuf> {
    let inputs = dep_info.split_once(": ").map_or("", |(_, inputs)| inputs);
    let inputs = inputs.lines().next().unwrap_or_default();
    inputs
        .replace("\\ ", "\u{0}")
        .split(' ')
        .map(|input| PathBuf::from(input.replace('\u{0}', " ")))
        .filter(|input| input.starts_with(project))
        .collect()
}

/// Whether Spin's own `/.well-known/spin/health` answers 200 at `addr`.
fn health_answers(addr: SocketAddr) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request =
        "GET /.well-known/spin/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    let mut response = String::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut response).is_ok()
        && response.starts_with("HTTP/1.1 200")
}

impl Drop for SpinUp {
    fn drop(&mut self) {
        process::stop_group(&mut self.child, libc::SIGTERM, Duration::from_secs(5));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
