//! Which scenarios the matrix runs, and with which server and client settings.
//!
//! The study compared four hand-typed configurations. The matrix runs the whole grid
//! WORKERS × ENDPOINT × CONNECTION under the study's workload, plus the two reference points
//! its open questions need: an *unloaded* baseline (small requests only) per connection mode,
//! to say how much worse "loaded" is, and a server with keep-alive *off*, to say what closing
//! every connection costs the client. With FASTAPI_PYTHON set it also runs the study's own
//! stack, FastAPI on uvicorn, on the same workload, measured by the same client.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::launch::{Launch, ServerCommand};
use crate::options::MatrixOptions;
use lab_loadgen::options::{Connection, Pool, Schedule};

/// What a scenario is for in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScenarioKind {
    /// The study's workload: small requests next to large uploads.
    Loaded,
    /// Small requests only: the reference every loaded small p95 is divided by.
    Unloaded,
    /// The study's workload against a server with `KEEP_ALIVE=0` (a keep-alive client is
    /// forced to reconnect for every request): the open question's cost, measured.
    KeepAliveOff,
    /// The study's workload from a keepalive client whose classes share one connection pool
    /// (POOL=shared), as a proxy's would: small requests can ride the connection a large
    /// upload uses, and so land on the worker parsing it.
    SharedPool,
}

impl ScenarioKind {
    /// The label used in `matrix.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScenarioKind::Loaded => "loaded",
            ScenarioKind::Unloaded => "unloaded",
            ScenarioKind::KeepAliveOff => "keep_alive_off",
            ScenarioKind::SharedPool => "shared_pool",
        }
    }
}

/// The endpoints the study's FastAPI server has (it has no /lean).
pub const FASTAPI_ENDPOINTS: [&str; 3] = ["/ping", "/pong", "/offload"];

/// Which server a scenario measures.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ServerKind {
    /// lab-server (actix-web), this lab's server.
    #[default]
    Actix,
    /// The study's stack, FastAPI on uvicorn (services/fastapi).
    Fastapi,
}

impl ServerKind {
    /// The name used in reports.
    pub fn label(self) -> &'static str {
        match self {
            ServerKind::Actix => "actix",
            ServerKind::Fastapi => "FastAPI",
        }
    }
}

/// One server configuration plus one client configuration, run for the matrix duration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// Short, file-name-safe identifier, e.g. `w1-ping-new`; also the run id and subdirectory.
    pub name: String,
    /// The server measured.
    pub server: ServerKind,
    /// What the scenario is for.
    pub kind: ScenarioKind,
    /// The server's `WORKERS`.
    pub workers: usize,
    /// The strategy endpoint, e.g. `/ping`.
    pub endpoint: String,
    /// The client's `CONNECTION`.
    pub connection: Connection,
    /// The client's `POOL` (per-class everywhere but the shared-pool case).
    pub pool: Pool,
    /// The server's `KEEP_ALIVE` in seconds; `None` leaves the server's default.
    pub server_keep_alive_s: Option<u64>,
}

impl Scenario {
    /// Whether the large uploads run (everything but the unloaded baseline).
    pub fn has_large(&self) -> bool {
        self.kind != ScenarioKind::Unloaded
    }

    /// The "config" column of the study's table, e.g. `1 worker, /ping, new`; FastAPI's
    /// scenarios say so first (`FastAPI 1 worker, /ping, new`).
    pub fn config_label(&self) -> String {
        let mut base = format!(
            "{}, {}, {}",
            workers_label(self.workers),
            self.endpoint,
            self.connection.as_str()
        );
        if self.server != ServerKind::Actix {
            base = format!("{} {base}", self.server.label());
        }
        match self.kind {
            ScenarioKind::Loaded => base,
            ScenarioKind::Unloaded => format!("{base}, unloaded"),
            ScenarioKind::KeepAliveOff => format!(
                "{base}, server KEEP_ALIVE={}",
                self.server_keep_alive_s.unwrap_or_default()
            ),
            ScenarioKind::SharedPool => format!("{base}, shared pool"),
        }
    }

    /// The command that starts this scenario's server bound to `127.0.0.1:port`: lab-server
    /// with flags, or `python -m labfastapi` with the same settings as environment variables.
    pub fn server_command(&self, port: u16, launch: &Launch) -> ServerCommand {
        let bind = format!("127.0.0.1:{port}");
        match self.server {
            ServerKind::Actix => {
                let mut args = vec![
                    "--bind".to_string(),
                    bind,
                    "--workers".to_string(),
                    self.workers.to_string(),
                ];
                if let Some(keep_alive) = self.server_keep_alive_s {
                    args.push("--keep-alive".to_string());
                    args.push(keep_alive.to_string());
                }
                ServerCommand {
                    name: "lab-server",
                    program: launch.server_bin.clone(),
                    args,
                    envs: vec![(
                        "SHUTDOWN_TIMEOUT".to_string(),
                        launch.shutdown_timeout_s.to_string(),
                    )],
                }
            }
            ServerKind::Fastapi => {
                let mut envs = vec![
                    ("BIND".to_string(), bind),
                    ("WORKERS".to_string(), self.workers.to_string()),
                    ("PYTHONPATH".to_string(), path_text(&launch.fastapi_dir)),
                    // The study's stack: uvicorn's own process manager, whatever the shell has.
                    ("SERVER".to_string(), "uvicorn".to_string()),
                    (
                        "SHUTDOWN_TIMEOUT".to_string(),
                        launch.shutdown_timeout_s.to_string(),
                    ),
                ];
                if let Some(keep_alive) = self.server_keep_alive_s {
                    envs.push(("KEEP_ALIVE".to_string(), keep_alive.to_string()));
                }
                ServerCommand {
                    name: "FastAPI",
                    program: launch.fastapi_python.clone().unwrap_or_default(),
                    args: vec!["-m".to_string(), "labfastapi".to_string()],
                    envs,
                }
            }
        }
    }
}

/// The study's workload as the matrix runs it (the same for every scenario).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    /// Seconds of load per scenario.
    pub duration_s: f64,
    /// Nominal size of a small request body, MB.
    pub small_size_mb: f64,
    /// Seconds between small requests.
    pub small_interval_s: f64,
    /// Nominal size of a large request body, MB.
    pub large_size_mb: f64,
    /// Seconds between large requests.
    pub large_interval_s: f64,
    /// The load generator's `SCHEDULE` (open or closed).
    pub schedule: Schedule,
}

impl Workload {
    /// The workload the options describe.
    pub fn from_options(options: &MatrixOptions) -> Self {
        Self {
            duration_s: options.duration.as_secs_f64(),
            small_size_mb: options.workload.small_size_mb,
            small_interval_s: options.workload.small_interval.as_secs_f64(),
            large_size_mb: options.workload.large_size_mb,
            large_interval_s: options.workload.large_interval.as_secs_f64(),
            schedule: options.workload.schedule,
        }
    }
}

/// `1 worker`, `4 workers`.
pub fn workers_label(workers: usize) -> String {
    if workers == 1 {
        "1 worker".to_string()
    } else {
        format!("{workers} workers")
    }
}

/// File-name-safe form of an endpoint: `/ping` → `ping`.
fn endpoint_slug(endpoint: &str) -> String {
    lab_loadgen::options::values::path_word(endpoint, '-')
}

/// The scenario list the options ask for, in run order: unloaded baselines first (so the
/// reference exists even if the run is interrupted early), then the grid, then keep-alive off,
/// then the shared pool.
pub fn plan(options: &MatrixOptions) -> Vec<Scenario> {
    let mut scenarios = Vec::new();
    let first_workers = options.workers.0.first().copied().unwrap_or(1);
    let first_endpoint = options
        .endpoints
        .first()
        .cloned()
        .unwrap_or_else(|| "/ping".to_string());

    if options.baseline {
        for &connection in &options.connections {
            scenarios.push(Scenario {
                server: ServerKind::Actix,
                name: format!(
                    "unloaded-w{first_workers}-{}-{}",
                    endpoint_slug(&first_endpoint),
                    connection.as_str()
                ),
                kind: ScenarioKind::Unloaded,
                workers: first_workers,
                endpoint: first_endpoint.clone(),
                connection,
                pool: Pool::PerClass,
                server_keep_alive_s: None,
            });
        }
    }
    for &workers in &options.workers.0 {
        for endpoint in &options.endpoints {
            for &connection in &options.connections {
                scenarios.push(Scenario {
                    server: ServerKind::Actix,
                    name: format!(
                        "w{workers}-{}-{}",
                        endpoint_slug(endpoint),
                        connection.as_str()
                    ),
                    kind: ScenarioKind::Loaded,
                    workers,
                    endpoint: endpoint.clone(),
                    connection,
                    pool: Pool::PerClass,
                    server_keep_alive_s: None,
                });
            }
        }
    }
    for &workers in &options.keep_alive_off_workers.0 {
        scenarios.push(Scenario {
            server: ServerKind::Actix,
            name: format!(
                "w{workers}-{}-keepalive-ka0",
                endpoint_slug(&first_endpoint)
            ),
            kind: ScenarioKind::KeepAliveOff,
            workers,
            endpoint: first_endpoint.clone(),
            connection: Connection::Keepalive,
            pool: Pool::PerClass,
            server_keep_alive_s: Some(0),
        });
    }
    for &workers in &options.shared_pool_workers.0 {
        scenarios.push(Scenario {
            server: ServerKind::Actix,
            name: format!(
                "w{workers}-{}-keepalive-shared",
                endpoint_slug(&first_endpoint)
            ),
            kind: ScenarioKind::SharedPool,
            workers,
            endpoint: first_endpoint.clone(),
            connection: Connection::Keepalive,
            pool: Pool::Shared,
            server_keep_alive_s: None,
        });
    }
    if options.fastapi_python.is_some() {
        scenarios.extend(fastapi_plan(options));
    }
    scenarios
}

/// The study's stack on the same workload: an unloaded baseline (first FastAPI workers and
/// endpoint), then FASTAPI workers × endpoints, all with the grid's first connection mode (the
/// study's client opened a new connection per request).
fn fastapi_plan(options: &MatrixOptions) -> Vec<Scenario> {
    let connection = options
        .connections
        .first()
        .copied()
        .unwrap_or(Connection::New);
    let scenario = |kind: ScenarioKind, workers: usize, endpoint: &str| {
        let prefix = match kind {
            ScenarioKind::Unloaded => "fastapi-unloaded",
            _ => "fastapi",
        };
        Scenario {
            name: format!(
                "{prefix}-w{workers}-{}-{}",
                endpoint_slug(endpoint),
                connection.as_str()
            ),
            server: ServerKind::Fastapi,
            kind,
            workers,
            endpoint: endpoint.to_string(),
            connection,
            pool: Pool::PerClass,
            server_keep_alive_s: None,
        }
    };
    let mut scenarios = Vec::new();
    if let (true, Some(&workers), Some(endpoint)) = (
        options.baseline,
        options.fastapi_workers.0.first(),
        options.fastapi_endpoints.first(),
    ) {
        scenarios.push(scenario(ScenarioKind::Unloaded, workers, endpoint));
    }
    for &workers in &options.fastapi_workers.0 {
        for endpoint in &options.fastapi_endpoints {
            scenarios.push(scenario(ScenarioKind::Loaded, workers, endpoint));
        }
    }
    scenarios
}

/// A path as an environment value.
fn path_text(path: &Path) -> String {
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use std::path::PathBuf;

    use super::*;

    fn launch() -> Launch {
        Launch {
            server_bin: PathBuf::from("target/release/lab-server"),
            fastapi_python: Some(PathBuf::from(".venv-fastapi/bin/python")),
            fastapi_dir: PathBuf::from("/lab/services/fastapi"),
            shutdown_timeout_s: 10,
        }
    }

    /// With FASTAPI_PYTHON, the study's stack joins the matrix: an unloaded baseline, then
    /// its workers × endpoints, started as `python -m labfastapi` with the same settings.
    #[test]
    fn fastapi_scenarios_run_the_studys_stack_with_the_same_settings() {
        let scenarios = plan(&options(&["--fastapi-python", "/venv/bin/python"]));
        let fastapi: Vec<&Scenario> = scenarios
            .iter()
            .filter(|s| s.server == ServerKind::Fastapi)
            .collect();
        let names: Vec<&str> = fastapi.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "fastapi-unloaded-w1-ping-new",
                "fastapi-w1-ping-new",
                "fastapi-w1-pong-new",
                "fastapi-w4-ping-new",
                "fastapi-w4-pong-new"
            ]
        );
        assert_eq!(fastapi[1].config_label(), "FastAPI 1 worker, /ping, new");
        let command = fastapi[3].server_command(8123, &launch());
        assert_eq!(command.program, PathBuf::from(".venv-fastapi/bin/python"));
        assert_eq!(command.args, ["-m", "labfastapi"]);
        assert!(command.envs.contains(&("WORKERS".into(), "4".into())));
        assert!(
            command
                .envs
                .contains(&("BIND".into(), "127.0.0.1:8123".into()))
        );
        assert!(
            command
                .envs
                .contains(&("PYTHONPATH".into(), "/lab/services/fastapi".into()))
        );
        // Without it, no FastAPI row.
        assert!(
            plan(&options(&[]))
                .iter()
                .all(|s| s.server == ServerKind::Actix)
        );
    }

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        options: MatrixOptions,
    }

    fn options(args: &[&str]) -> MatrixOptions {
        let mut argv = vec!["matrix"];
        argv.extend_from_slice(args);
        Cli::parse_from(argv).options
    }

    /// The default plan is the lab's grid (workers × endpoint × connection) plus two baselines, one keep-alive-off case and
    /// one shared-pool case.
    #[test]
    fn default_plan_is_the_lab_grid_plus_baselines_keep_alive_off_and_shared_pool() {
        let scenarios = plan(&options(&[]));
        // 2 baselines + 2 workers × 5 endpoints × 2 connections + keep-alive off + shared pool.
        assert_eq!(scenarios.len(), 2 + 20 + 1 + 1);
        let shared: Vec<_> = scenarios
            .iter()
            .filter(|s| s.pool == Pool::Shared)
            .collect();
        assert_eq!(shared.len(), 1);
        assert_eq!(shared[0].kind, ScenarioKind::SharedPool);
        assert_eq!(shared[0].name, "w4-ping-keepalive-shared");
        assert_eq!(
            (
                shared[0].workers,
                shared[0].endpoint.as_str(),
                shared[0].connection
            ),
            (4, "/ping", Connection::Keepalive)
        );
        assert_eq!(
            shared[0].config_label(),
            "4 workers, /ping, keepalive, shared pool"
        );
        assert_eq!(
            shared[0].server_command(9, &launch()).args.len(),
            4,
            "the server's defaults"
        );
        let unloaded: Vec<_> = scenarios
            .iter()
            .filter(|s| s.kind == ScenarioKind::Unloaded)
            .collect();
        assert_eq!(unloaded.len(), 2);
        assert!(
            unloaded
                .iter()
                .all(|s| !s.has_large() && s.workers == 1 && s.endpoint == "/ping")
        );
        let off: Vec<_> = scenarios
            .iter()
            .filter(|s| s.kind == ScenarioKind::KeepAliveOff)
            .collect();
        assert_eq!(off.len(), 1);
        assert_eq!(off[0].workers, 4);
        assert_eq!(off[0].connection, Connection::Keepalive);
        assert_eq!(
            off[0].server_command(9, &launch()).args[4..],
            ["--keep-alive".to_string(), "0".to_string()]
        );
        let mut names: Vec<_> = scenarios.iter().map(|s| s.name.clone()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), scenarios.len(), "scenario names are unique");
    }

    /// Filters shrink the grid, and `none` / `false` drop the extra cases.
    #[test]
    fn filters_shrink_the_grid_and_empty_lists_drop_the_extra_cases() {
        let scenarios = plan(&options(&[
            "--workers",
            "4",
            "--endpoints",
            "/offload",
            "--connections",
            "keepalive",
            "--baseline",
            "false",
            "--keep-alive-off-workers",
            "none",
            "--shared-pool-workers",
            "none",
        ]));
        assert_eq!(scenarios.len(), 1);
        assert_eq!(scenarios[0].name, "w4-offload-keepalive");
        assert_eq!(
            scenarios[0].config_label(),
            "4 workers, /offload, keepalive"
        );
        assert_eq!(
            scenarios[0].server_command(8123, &launch()).args,
            ["--bind", "127.0.0.1:8123", "--workers", "4"].map(String::from)
        );
    }

    /// Worker lists accept `none` and spaces, and refuse 0 workers or unknown connection modes.
    #[test]
    fn worker_lists_accept_none_and_reject_zero() {
        assert_eq!(
            options(&["--keep-alive-off-workers", ""])
                .keep_alive_off_workers
                .0,
            Vec::<usize>::new()
        );
        assert_eq!(options(&["--workers", "1, 2,8"]).workers.0, [1, 2, 8]);
        assert!(Cli::try_parse_from(["matrix", "--workers", "0"]).is_err());
        assert_eq!(options(&["--workers", "256"]).workers.0, [256]);
        assert!(Cli::try_parse_from(["matrix", "--workers", "257"]).is_err());
        assert!(Cli::try_parse_from(["matrix", "--endpoints", "/ping,//other-host/x"]).is_err());
        assert!(Cli::try_parse_from(["matrix", "--connections", "sometimes"]).is_err());
    }

    /// Config labels name what sets a scenario apart (unloaded, server KEEP_ALIVE=0, shared
    /// pool).
    #[test]
    fn labels_say_what_is_special_about_a_scenario() {
        let scenarios = plan(&options(&[
            "--workers",
            "1",
            "--endpoints",
            "/lean",
            "--connections",
            "new",
        ]));
        let labels: Vec<_> = scenarios.iter().map(Scenario::config_label).collect();
        assert_eq!(
            labels,
            [
                "1 worker, /lean, new, unloaded",
                "1 worker, /lean, new",
                "4 workers, /lean, keepalive, server KEEP_ALIVE=0",
                "4 workers, /lean, keepalive, shared pool"
            ]
        );
    }
}
