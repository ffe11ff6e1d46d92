//! Servers the tests start (Spin, nginx) run in process groups of their own, so that
//! stopping one stops every process it forked, and a watcher stops them even when the
//! test process is killed before it can clean up.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

/// Puts the command's process in a new process group, led by itself.
pub fn own_group(command: &mut Command) -> &mut Command {
    std::os::unix::process::CommandExt::process_group(command, 0)
}

/// Starts a watcher that kills the process group led by `child` once this test process
/// is gone, so a killed or crashed test run leaves no server behind.
pub fn kill_group_when_this_process_exits(child: &Child) -> anyhow::Result<()> {
    let script = format!(
        "while kill -0 {pid} 2>/dev/null && kill -0 {child} 2>/dev/null; do sleep 1; done; \
         kill -KILL -{child} 2>/dev/null",
        pid = std::process::id(),
        child = child.id(),
    );
    run_detached(&script).context("starting a clean-up watcher")
}

/// Runs a shell script in a session of its own, outliving this process.
pub fn run_detached(script: &str) -> anyhow::Result<()> {
    Command::new("setsid")
        .args(["sh", "-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    Ok(())
}

/// The processes whose parent is `parent` (from /proc).
pub fn children_of(parent: libc::pid_t) -> Vec<libc::pid_t> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<libc::pid_t>().ok())
        .filter(|pid| {
            // /proc/<pid>/stat: "pid (comm) state ppid ...", comm may hold spaces.
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    let (_, after_comm) = stat.rsplit_once(") ")?;
                    after_comm.split_whitespace().nth(1)?.parse().ok()
                })
                == Some(parent)
        })
        .collect()
}

/// Sends `signal` to the group led by `child`, waits up to `grace` for the leader to
/// exit, then kills whatever is left of the group.
pub fn stop_group(child: &mut Child, signal: libc::c_int, grace: Duration) {
    let group = -(child.id() as libc::pid_t);
    // SAFETY: kill(2) with a process group id and a signal number has no memory effects.
    unsafe { libc::kill(group, signal) };
    let asked = Instant::now();
    while asked.elapsed() < grace {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: as above.
    unsafe { libc::kill(group, libc::SIGKILL) };
    let _ = child.wait();
}

/// The version a server prints with `flag`: the word after `marker` in what it wrote
/// (stdout and stderr: nginx prints its version on stderr).
pub fn printed_version(program: &Path, flag: &str, marker: &str) -> anyhow::Result<String> {
    let what = format!("{} {flag}", program.display());
    let output = Command::new(program)
        .arg(flag)
        .output()
        .with_context(|| format!("running {what}"))?;
    let printed = [output.stdout, output.stderr].concat();
    String::from_utf8_lossy(&printed)
        .split_once(marker)
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .map(str::to_owned)
        .with_context(|| format!("{what} printed no version after {marker:?}"))
}
