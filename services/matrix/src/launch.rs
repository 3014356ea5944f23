//! What the matrix starts, and from where: the [`Launch`] settings (binaries, paths) and one
//! [`ServerCommand`] per scenario, built by [`crate::scenario`] and run by
//! [`crate::server_process`].

use std::path::PathBuf;

/// How to start one server: a program, its arguments and environment, and its name for
/// messages. Built per scenario, for the port the server must bind.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerCommand {
    /// `lab-server` or `FastAPI`, in messages.
    pub name: &'static str,
    /// The executable (the lab-server binary, or a venv's python).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Environment variables set for it (on top of the matrix's own environment).
    pub envs: Vec<(String, String)>,
    /// The CPUs it (and everything it starts) may run on; `None` = no affinity set.
    pub cpus: Option<Vec<usize>>,
}

/// Where the servers to start are.
#[derive(Debug, Clone, PartialEq)]
pub struct Launch {
    /// The lab-server binary.
    pub server_bin: PathBuf,
    /// A python with services/fastapi's requirements; `None` when no FastAPI scenario runs.
    pub fastapi_python: Option<PathBuf>,
    /// The directory holding the `labfastapi` package.
    pub fastapi_dir: PathBuf,
    /// SHUTDOWN_TIMEOUT given to every server: below the matrix's stop timeout, so a server
    /// drains and exits by itself before the matrix would kill it.
    pub shutdown_timeout_s: u64,
}
