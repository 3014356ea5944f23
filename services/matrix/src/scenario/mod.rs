//! What a scenario is: one server configuration and one client configuration, named by a
//! typed [`ScenarioKey`] (server, kind, workers, [`Strategy`], connection, pool, allocator,
//! placement). The key is how the grid, the findings and the comparison of two runs find a
//! scenario; its name (`w1-ping-new`) is how files find it.
//!
//! The study compared four hand-typed configurations. The matrix runs the whole grid
//! WORKERS × STRATEGY × CONNECTION under the study's workload, with the floor (`/drain`) beside
//! every strategy, plus the reference points its questions need: an *unloaded* baseline per
//! connection mode, a server with keep-alive *off*, a keep-alive client whose classes share one
//! pool, the same server linked with jemalloc, a longer run of two single-worker cells (to see
//! which latencies grow with the run's length), and, with FASTAPI_PYTHON, the study's own
//! stack. [`crate::plan`] lists them; [`command`] says how each server is started.

pub mod command;

use std::fmt;
use std::time::Duration;

use lab_core::Strategy;
use lab_loadgen::options::{Connection, Pool, Schedule};
use serde::{Deserialize, Serialize};

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
    /// A loaded cell run for the saturation probe's duration instead of the matrix's: a
    /// latency that grows with the run's length measures the run, not the server.
    SaturationProbe,
}

impl ScenarioKind {
    /// The label used in `matrix.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScenarioKind::Loaded => "loaded",
            ScenarioKind::Unloaded => "unloaded",
            ScenarioKind::KeepAliveOff => "keep_alive_off",
            ScenarioKind::SharedPool => "shared_pool",
            ScenarioKind::SaturationProbe => "saturation_probe",
        }
    }
}

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

/// lab-server's memory allocator: lab-core's type.
pub use lab_core::Allocator;

/// Where the server and the load generator run: on every CPU the matrix may use, or on
/// separate sets (see [`crate::placement`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Placement {
    /// No CPU affinity: the kernel puts server and client where it likes.
    #[default]
    Unpinned,
    /// The server (and its children) on one set of CPUs, the matrix process (the client) on
    /// the others.
    Split,
}

impl Placement {
    /// Its name in matrix.csv and the report.
    pub fn name(self) -> &'static str {
        match self {
            Placement::Unpinned => "unpinned",
            Placement::Split => "split",
        }
    }
}

/// A scenario's identity: everything that sets it apart from the others in a matrix. The grid,
/// the findings and the comparison of two runs look scenarios up by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioKey {
    /// The server measured.
    pub server: ServerKind,
    /// What the scenario is for.
    pub kind: ScenarioKind,
    /// The server's WORKERS.
    pub workers: usize,
    /// The strategy endpoint.
    pub strategy: Strategy,
    /// The client's CONNECTION.
    pub connection: Connection,
    /// The client's POOL (per-class everywhere but the shared-pool case).
    pub pool: Pool,
    /// lab-server's ALLOCATOR; `None` for the FastAPI server.
    pub allocator: Option<Allocator>,
    /// Where server and client ran.
    pub placement: Placement,
}

impl ScenarioKey {
    /// An actix cell of the grid: loaded, per-class pools, the system allocator, unpinned.
    pub fn actix(workers: usize, strategy: Strategy, connection: Connection) -> Self {
        Self {
            server: ServerKind::Actix,
            kind: ScenarioKind::Loaded,
            workers,
            strategy,
            connection,
            pool: Pool::PerClass,
            allocator: Some(Allocator::System),
            placement: Placement::Unpinned,
        }
    }

    /// The same key with another kind (and the pool that kind runs with).
    pub fn with_kind(self, kind: ScenarioKind) -> Self {
        let pool = match kind {
            ScenarioKind::SharedPool => Pool::Shared,
            _ => Pool::PerClass,
        };
        Self { kind, pool, ..self }
    }

    /// The same key with another strategy.
    pub fn with_strategy(self, strategy: Strategy) -> Self {
        Self { strategy, ..self }
    }

    /// The same key with another worker count.
    pub fn with_workers(self, workers: usize) -> Self {
        Self { workers, ..self }
    }

    /// The same key with another connection mode.
    pub fn with_connection(self, connection: Connection) -> Self {
        Self { connection, ..self }
    }

    /// Where the scenario stands in a report: actix before FastAPI, then by placement, kind
    /// (baselines first, the probe last), allocator, workers, strategy (lab-core's order) and
    /// connection (new first): the order the plan lists them, whatever order they ran in.
    pub fn report_order(&self) -> impl Ord + use<> {
        let kind = match self.kind {
            ScenarioKind::Unloaded => 0,
            ScenarioKind::Loaded => 1,
            ScenarioKind::KeepAliveOff => 2,
            ScenarioKind::SharedPool => 3,
            ScenarioKind::SaturationProbe => 4,
        };
        let strategy = Strategy::ALL
            .iter()
            .position(|s| *s == self.strategy)
            .unwrap_or(Strategy::ALL.len());
        let connection = match self.connection {
            Connection::New => 0,
            Connection::Keepalive => 1,
        };
        (
            self.server,
            self.placement == Placement::Split,
            kind,
            self.allocator == Some(Allocator::Jemalloc),
            self.workers,
            strategy,
            connection,
        )
    }

    /// Whether the large uploads run (everything but the unloaded baseline).
    pub fn has_large(&self) -> bool {
        self.kind != ScenarioKind::Unloaded
    }

    /// The server's KEEP_ALIVE in seconds; `None` leaves the server's default.
    pub fn server_keep_alive_s(&self) -> Option<u64> {
        (self.kind == ScenarioKind::KeepAliveOff).then_some(0)
    }

    /// Short, file-name-safe identifier, e.g. `w1-ping-new`; also the load generator's run id.
    pub fn name(&self) -> String {
        let mut name = String::new();
        if self.server == ServerKind::Fastapi {
            name.push_str("fastapi-");
        }
        if self.kind == ScenarioKind::Unloaded {
            name.push_str("unloaded-");
        }
        name.push_str(&format!(
            "w{}-{}-{}",
            self.workers,
            self.strategy.label(),
            self.connection.as_str()
        ));
        match self.kind {
            ScenarioKind::KeepAliveOff => name.push_str("-ka0"),
            ScenarioKind::SharedPool => name.push_str("-shared"),
            ScenarioKind::SaturationProbe => name.push_str("-long"),
            ScenarioKind::Loaded | ScenarioKind::Unloaded => {}
        }
        if self.allocator == Some(Allocator::Jemalloc) {
            name.push_str("-jemalloc");
        }
        if self.placement == Placement::Split {
            name.push_str("-split");
        }
        name
    }

    /// The "config" column of the study's table, e.g. `1 worker, /ping, new`; FastAPI's
    /// scenarios say so first, and what else sets a scenario apart comes last.
    pub fn label(&self) -> String {
        let mut label = format!(
            "{}, {}, {}",
            workers_label(self.workers),
            self.strategy,
            self.connection.as_str()
        );
        if self.server != ServerKind::Actix {
            label = format!("{} {label}", self.server.label());
        }
        match self.kind {
            ScenarioKind::Loaded => {}
            ScenarioKind::Unloaded => label.push_str(", unloaded"),
            ScenarioKind::KeepAliveOff => label.push_str(", server KEEP_ALIVE=0"),
            ScenarioKind::SharedPool => label.push_str(", shared pool"),
            ScenarioKind::SaturationProbe => label.push_str(", long run"),
        }
        if self.allocator == Some(Allocator::Jemalloc) {
            label.push_str(", jemalloc");
        }
        if self.placement == Placement::Split {
            label.push_str(", split CPUs");
        }
        label
    }
}

impl fmt::Display for ScenarioKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.label())
    }
}

/// One scenario of a plan: its key, and how long its load runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// What it is.
    pub key: ScenarioKey,
    /// Seconds of load (the matrix's duration, or the saturation probe's).
    pub duration: Duration,
}

impl Scenario {
    /// Its file-name-safe name.
    pub fn name(&self) -> String {
        self.key.name()
    }
}

/// The study's workload as the matrix runs it (the same for every scenario but the
/// saturation probe's duration).
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

/// `1 worker`, `4 workers`.
pub fn workers_label(workers: usize) -> String {
    if workers == 1 {
        "1 worker".to_string()
    } else {
        format!("{workers} workers")
    }
}
