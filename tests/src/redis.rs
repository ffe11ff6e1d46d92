//! A throwaway `redis-server` (Debian's package) on a free port, as the shared store of
//! several Spin instances; stopped with everything it forked when dropped.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::process;

/// The version of the `redis-server` the tests run (`redis-server --version`:
/// "Redis server v=7.0.15 ...").
pub fn version() -> anyhow::Result<String> {
    process::printed_version(Path::new("redis-server"), "--version", "v=")
        .context("apt-get install redis-server")
}

pub struct RedisServer {
    pub addr: SocketAddr,
    child: Option<Child>,
}

impl RedisServer {
    pub fn start() -> anyhow::Result<Self> {
        let port = crate::ports::free_port()?;
        let mut redis = Self {
            addr: format!("127.0.0.1:{port}").parse()?,
            child: None,
        };
        redis.start_server()?;
        Ok(redis)
    }

    /// Starts the server (again, after [`Self::stop`]) on the same port, empty, as the
    /// cache runs in compose: nothing saved to disk.
    pub fn start_server(&mut self) -> anyhow::Result<()> {
        let mut command = Command::new("redis-server");
        command
            .args(["--bind", "127.0.0.1", "--port"])
            .arg(self.addr.port().to_string())
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .args(["--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = process::own_group(&mut command)
            .spawn()
            .context("starting redis-server (apt-get install redis-server)")?;
        process::kill_group_when_this_process_exits(&child)?;
        self.child = Some(child);
        let started = Instant::now();
        while TcpStream::connect(self.addr).is_err() {
            if started.elapsed() > Duration::from_secs(10) {
                bail!("redis-server did not listen on {}", self.addr);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Freezes the server (SIGSTOP): connections stay open, nothing answers.
    pub fn freeze(&self) {
        self.signal(libc::SIGSTOP);
    }

    /// Lets a frozen server go on (SIGCONT).
    pub fn thaw(&self) {
        self.signal(libc::SIGCONT);
    }

    fn signal(&self, signal: libc::c_int) {
        if let Some(child) = &self.child {
            // SAFETY: kill(2) with a pid and a signal number has no memory effects.
            unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        }
    }

    /// Stops the server; what it held is gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            process::stop_group(&mut child, libc::SIGTERM, Duration::from_secs(5));
        }
    }

    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
