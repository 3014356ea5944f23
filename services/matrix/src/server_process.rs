//! One server child process per scenario (lab-server, or the study's FastAPI server): started
//! natively with the scenario's settings on a free 127.0.0.1 port, ready when `/healthz`
//! answers with the settings asked for, stopped with SIGTERM (the server drains and exits 0),
//! killed if it does not stop in time.
//!
//! A [`ServerProcess`] never outlives its owner. The child gets its own process group, so a
//! Ctrl-C in the terminal reaches only the matrix, which then stops the current scenario and
//! the server in order instead of the server vanishing mid-run; and every signal the matrix
//! sends goes to that whole group, so a server with worker processes (uvicorn, gunicorn)
//! leaves none behind: not when stopped, not when killed, not when the runner returns early or
//! panics (dropping a `ServerProcess` kills its group).

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Doing, MatrixError};
use crate::placement;
use lab_core::http::{HEALTH_PATH, Health};

pub use crate::launch::ServerCommand;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::{Child, Command};

/// How often `/healthz` is polled while the server starts. Short, because the server is
/// usually up within a few milliseconds and every scenario pays this once.
const HEALTH_POLL_INTERVAL: Duration = Duration::from_millis(25);

/// What a started server must report on `/healthz` before a scenario may begin.
#[derive(Debug, Clone, Copy)]
pub struct Expected {
    /// WORKERS.
    pub workers: usize,
    /// KEEP_ALIVE seconds, or `None` for "whatever the server's default is".
    pub keep_alive_s: Option<u64>,
    /// The allocator's name (`system`, `jemalloc`), or `None` for a server that has no
    /// choice (FastAPI).
    pub allocator: Option<&'static str>,
}

/// A running server child.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    /// The child's process group (its own pid); `None` once the group is known to be gone.
    group: Option<Pid>,
    name: &'static str,
    port: u16,
    log_path: PathBuf,
}

/// The default lab-server binary: `lab-server` next to the running executable, which is where
/// cargo puts both binaries of the workspace (target/<profile>/).
pub fn default_server_bin() -> Result<PathBuf, MatrixError> {
    let exe = std::env::current_exe().doing(|| "locate the running executable".to_string())?;
    let dir = exe.parent().ok_or_else(|| {
        MatrixError::Server("the running executable has no directory".to_string())
    })?;
    // `cargo test` runs test binaries from target/<profile>/deps/: look one level up too.
    let candidates = [dir.join("lab-server"), dir.join("../lab-server")];
    Ok(candidates
        .iter()
        .find(|path| path.is_file())
        .cloned()
        .unwrap_or_else(|| candidates[0].clone()))
}

/// Fails with a message that says how to fix it when `path` is not an executable file.
pub fn check_server_bin(path: &Path) -> Result<(), MatrixError> {
    if !path.is_file() {
        return Err(MatrixError::Server(format!(
            "lab-server binary not found at {} (build it with `cargo build --release -p lab-server`, \
             or point --server-bin / SERVER_BIN at it)",
            path.display()
        )));
    }
    Ok(())
}

/// A port that was free a moment ago on 127.0.0.1. The server binds it right after; if
/// another process took it in between, the server exits and [`ServerProcess::start`] says so.
fn free_port() -> Result<u16, MatrixError> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).doing(|| "find a free port".to_string())?;
    Ok(listener
        .local_addr()
        .doing(|| "find a free port".to_string())?
        .port())
}

impl ServerProcess {
    /// Starts the command `command_for_port` gives for a free 127.0.0.1 port, logging to
    /// `log_path`, and waits until `/healthz` reports `expected`.
    pub async fn start(
        command_for_port: impl FnOnce(u16) -> ServerCommand,
        expected: Expected,
        log_path: &Path,
        timeout: Duration,
    ) -> Result<Self, MatrixError> {
        let port = free_port()?;
        let command = command_for_port(port);
        if !command.program.is_file() {
            return Err(MatrixError::Server(format!(
                "{} cannot start: {} is not a file",
                command.name,
                command.program.display()
            )));
        }
        let log =
            std::fs::File::create(log_path).doing(|| format!("create {}", log_path.display()))?;
        let mut process = Command::new(&command.program);
        if let Some(cpus) = &command.cpus {
            let set =
                placement::cpu_set(cpus).doing(|| format!("pin {} to {cpus:?}", command.name))?;
            // SAFETY: between fork and exec the hook makes one system call
            // (sched_setaffinity) on a value prepared before the fork: nothing that allocates
            // or takes a lock.
            unsafe {
                process.pre_exec(move || placement::pin_current(&set));
            }
        }
        let child = process
            .args(&command.args)
            .envs(command.envs.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(
                log.try_clone()
                    .doing(|| "share the server log".to_string())?,
            )
            .stderr(log)
            // The log is a file: no colour codes in it.
            .env("NO_COLOR", "1")
            // The matrix owns Ctrl-C: keep the terminal's SIGINT away from the server.
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .doing(|| format!("start {}", command.program.display()))?;
        let group = child.id().map(|pid| Pid::from_raw(pid as i32));
        let mut server = Self {
            child,
            group,
            name: command.name,
            port,
            log_path: log_path.to_path_buf(),
        };
        server.wait_healthy(expected, timeout).await?;
        Ok(server)
    }

    /// The server's process id (the leader of its group), while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The last lines of the server's log, for error messages.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    }

    /// Polls `/healthz` until it answers 200 with the expected settings, the child exits, or
    /// `timeout` passes.
    async fn wait_healthy(
        &mut self,
        expected: Expected,
        timeout: Duration,
    ) -> Result<(), MatrixError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .no_proxy()
            .build()
            .map_err(|error| {
                MatrixError::Server(format!("cannot build a health client: {error}"))
            })?;
        let url = format!("{}{HEALTH_PATH}", self.base_url());
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self
                .child
                .try_wait()
                .doing(|| format!("check on {}", self.name))?
            {
                return Err(MatrixError::Server(format!(
                    "{} exited ({status}) before it was healthy; its log ({}):\n{}",
                    self.name,
                    self.log_path.display(),
                    self.log_tail()
                )));
            }
            if let Ok(response) = client.get(&url).send().await
                && response.status().is_success()
            {
                let health: Health = response.json().await.map_err(|error| {
                    MatrixError::Server(format!(
                        "{}'s /healthz did not return the expected JSON: {error}",
                        self.name
                    ))
                })?;
                if health.workers != expected.workers
                    || expected
                        .keep_alive_s
                        .is_some_and(|k| k != health.keep_alive_seconds)
                    || expected
                        .allocator
                        .is_some_and(|allocator| allocator != health.allocator)
                {
                    return Err(MatrixError::Server(format!(
                        "{} runs workers={} keep_alive={}s allocator={:?}, but the scenario \
                         asked for {:?}",
                        self.name,
                        health.workers,
                        health.keep_alive_seconds,
                        health.allocator,
                        expected
                    )));
                }
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(MatrixError::Server(format!(
                    "{} did not answer /healthz on port {} within {:?}; its log:\n{}",
                    self.name,
                    self.port,
                    timeout,
                    self.log_tail()
                )));
            }
            tokio::time::sleep(HEALTH_POLL_INTERVAL).await;
        }
    }

    /// Sends SIGTERM to the server's process group and waits up to `timeout` for the server
    /// to drain and exit; kills the group if it does not. Returns the exit status (0 after a
    /// clean drain). Whatever is left of the group afterwards (a worker that outlived its
    /// parent) is killed too.
    pub async fn stop(mut self, timeout: Duration) -> Result<ExitStatus, MatrixError> {
        let status = self.stop_group(timeout).await;
        self.kill_group();
        status
    }

    async fn stop_group(&mut self, timeout: Duration) -> Result<ExitStatus, MatrixError> {
        if let Some(status) = self
            .child
            .try_wait()
            .doing(|| format!("check on {}", self.name))?
        {
            return Ok(status);
        }
        if let Some(group) = self.group {
            killpg(group, Signal::SIGTERM).map_err(|error| {
                MatrixError::Server(format!("cannot send SIGTERM to {}: {error}", self.name))
            })?;
        }
        match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(status) => status.doing(|| format!("wait for {}", self.name)),
            Err(_) => {
                tracing::warn!(
                    port = self.port,
                    server = self.name,
                    "the server did not stop after SIGTERM; killing it"
                );
                self.kill_group();
                self.child
                    .kill()
                    .await
                    .doing(|| format!("kill {}", self.name))?;
                self.child
                    .wait()
                    .await
                    .doing(|| format!("wait for {}", self.name))
            }
        }
    }

    /// SIGKILL to the whole group, once (a group that is already gone is fine).
    fn kill_group(&mut self) {
        if let Some(group) = self.group.take() {
            let _ = killpg(group, Signal::SIGKILL);
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill_group();
    }
}
