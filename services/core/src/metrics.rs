//! Every Prometheus series of the lab, by name, kind, labels and help text: the servers and the
//! load generator register theirs from these definitions, the dashboard and the FastAPI peer
//! read them from the contract file ([`crate::contract`]). Latency histograms share
//! [`crate::buckets`]; label values that are kinds (`endpoint`, `phase`, `reason`, `outcome`)
//! come from [`crate::strategy`], [`crate::phases`] and [`crate::errors`].

use serde::Serialize;

/// What a series is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// Only goes up.
    Counter,
    /// Goes up and down.
    Gauge,
    /// Observations in buckets.
    Histogram,
}

/// One series family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MetricDef {
    /// Its name, `http_server_request_duration_seconds`.
    pub name: &'static str,
    /// Counter, gauge or histogram.
    pub kind: MetricKind,
    /// Its label names, in order.
    pub labels: &'static [&'static str],
    /// What it shows (the `# HELP` line).
    pub help: &'static str,
}

/// The `endpoint` label of every path that is not a strategy endpoint.
pub const OTHER_ENDPOINT: &str = "other";

/// The `size_class` label values of the server's request histogram, with the body sizes that
/// separate them: below 64 KiB `small`, below 1 MiB `medium`, `large` from there.
pub const SIZE_CLASSES: [(&str, usize); 3] = [
    ("small", 64 * 1024),
    ("medium", 1024 * 1024),
    ("large", usize::MAX),
];

/// The `size_class` of a body of `bytes` bytes.
pub fn size_class(bytes: usize) -> &'static str {
    SIZE_CLASSES
        .into_iter()
        .find(|(_, below)| bytes < *below)
        .map_or("large", |(name, _)| name)
}

/// What a server (lab-server, or the FastAPI peer with the same names) exports.
pub mod server {
    use super::{MetricDef, MetricKind};

    /// Server-side latency: from the worker picking up the request to the response.
    pub const REQUEST_DURATION: MetricDef = MetricDef {
        name: "http_server_request_duration_seconds",
        kind: MetricKind::Histogram,
        labels: &["endpoint", "size_class", "status"],
        help: "Server-side request latency: from the worker picking up the request to the response; blind to time queued behind a busy event loop.",
    };
    /// Time in each phase of a strategy's work.
    pub const PHASE_DURATION: MetricDef = MetricDef {
        name: "lab_server_phase_duration_seconds",
        kind: MetricKind::Histogram,
        labels: &["endpoint", "phase"],
        help: "Time in each phase of a strategy: read_body, parse, compute, drop (and blocking_wait for /offload; wait_body and longest_slice for /stream).",
    };
    /// Requests being handled right now.
    pub const ACTIVE_REQUESTS: MetricDef = MetricDef {
        name: "http_server_active_requests",
        kind: MetricKind::Gauge,
        labels: &["endpoint"],
        help: "Requests being handled right now.",
    };
    /// Request body sizes.
    pub const REQUEST_BODY_SIZE: MetricDef = MetricDef {
        name: "http_server_request_body_size_bytes",
        kind: MetricKind::Histogram,
        labels: &["endpoint"],
        help: "Request body sizes in bytes.",
    };
    /// Strategy requests served by each worker.
    pub const REQUESTS_TOTAL: MetricDef = MetricDef {
        name: "lab_server_requests_total",
        kind: MetricKind::Counter,
        labels: &["worker"],
        help: "Strategy requests served by each worker (event loop).",
    };
    /// TCP connections accepted by each worker.
    pub const CONNECTIONS_TOTAL: MetricDef = MetricDef {
        name: "lab_server_connections_total",
        kind: MetricKind::Counter,
        labels: &["worker"],
        help: "TCP connections accepted by each worker.",
    };
    /// How late each worker's lag probe woke.
    pub const EVENT_LOOP_LAG: MetricDef = MetricDef {
        name: "lab_server_event_loop_lag_seconds",
        kind: MetricKind::Histogram,
        labels: &["worker"],
        help: "How late each worker's periodic timer woke up: the time its event loop was busy with something else.",
    };
    /// Uploads stopped before their end, by reason.
    pub const UPLOADS_CUT_OFF: MetricDef = MetricDef {
        name: "lab_server_uploads_cut_off_total",
        kind: MetricKind::Counter,
        labels: &["reason"],
        help: "Uploads stopped before their end: idle or too_slow (a stalled client), over_budget (BODY_BUDGET_MB), too_large (MAX_BODY_MB), shutdown (stalled while the server stopped).",
    };
    /// Bytes charged to the body budget right now.
    pub const BUDGET_IN_USE: MetricDef = MetricDef {
        name: "lab_server_body_budget_in_use_bytes",
        kind: MetricKind::Gauge,
        labels: &[],
        help: "Bytes of request bodies and parsed maps charged to BODY_BUDGET_MB right now.",
    };
    /// The body budget.
    pub const BUDGET_CAPACITY: MetricDef = MetricDef {
        name: "lab_server_body_budget_bytes",
        kind: MetricKind::Gauge,
        labels: &[],
        help: "BODY_BUDGET_MB in bytes.",
    };
    /// WORKERS.
    pub const WORKERS: MetricDef = MetricDef {
        name: "lab_server_workers",
        kind: MetricKind::Gauge,
        labels: &[],
        help: "Number of actix workers (event loops).",
    };
    /// KEEP_ALIVE.
    pub const KEEP_ALIVE_SECONDS: MetricDef = MetricDef {
        name: "lab_server_keep_alive_seconds",
        kind: MetricKind::Gauge,
        labels: &[],
        help: "Server keep-alive in seconds; 0 = the server closes each connection after one response.",
    };
    /// BLOCKING_THREADS.
    pub const BLOCKING_THREADS: MetricDef = MetricDef {
        name: "lab_server_blocking_threads",
        kind: MetricKind::Gauge,
        labels: &[],
        help: "Threads in each worker's blocking pool (used by /offload).",
    };

    /// Every series a lab server exports (beside the `process_*` ones).
    pub const ALL: [MetricDef; 13] = [
        REQUEST_DURATION,
        PHASE_DURATION,
        ACTIVE_REQUESTS,
        REQUEST_BODY_SIZE,
        REQUESTS_TOTAL,
        CONNECTIONS_TOTAL,
        EVENT_LOOP_LAG,
        UPLOADS_CUT_OFF,
        BUDGET_IN_USE,
        BUDGET_CAPACITY,
        WORKERS,
        KEEP_ALIVE_SECONDS,
        BLOCKING_THREADS,
    ];

    /// The `reason` values of [`UPLOADS_CUT_OFF`].
    pub const CUT_OFF_REASONS: [&str; 5] =
        ["idle", "too_slow", "over_budget", "too_large", "shutdown"];
}

/// What the load generator exports.
pub mod client {
    use super::{MetricDef, MetricKind};

    /// Client-side latency of successful requests.
    pub const REQUEST_DURATION: MetricDef = MetricDef {
        name: "lab_client_request_duration_seconds",
        kind: MetricKind::Histogram,
        labels: &["class", "endpoint"],
        help: "Client-side latency of successful requests, from the scheduled start to the last response byte (includes queueing the server cannot see).",
    };
    /// Requests by class and outcome.
    pub const REQUESTS_TOTAL: MetricDef = MetricDef {
        name: "lab_client_requests_total",
        kind: MetricKind::Counter,
        labels: &["class", "endpoint", "outcome"],
        help: "Requests by class and outcome: ok, an error kind, or skipped (in-flight cap).",
    };
    /// Requests sent and not yet answered.
    pub const REQUESTS_IN_FLIGHT: MetricDef = MetricDef {
        name: "lab_client_requests_in_flight",
        kind: MetricKind::Gauge,
        labels: &["class"],
        help: "Requests sent and not yet answered.",
    };
    /// How the client runs.
    pub const INFO: MetricDef = MetricDef {
        name: "lab_client_info",
        kind: MetricKind::Gauge,
        labels: &["endpoint", "connection", "pool", "schedule", "replica"],
        help: "Always 1; the labels describe how this client runs.",
    };
    /// Whether the large class's on/off cycle is on.
    pub const LARGE_UPLOADS_ENABLED: MetricDef = MetricDef {
        name: "lab_client_large_uploads_enabled",
        kind: MetricKind::Gauge,
        labels: &[],
        help: "1 while the large class's LARGE_ON/LARGE_OFF cycle is on, else 0.",
    };
    /// Runs started by this process.
    pub const RUNS_TOTAL: MetricDef = MetricDef {
        name: "lab_client_runs_total",
        kind: MetricKind::Counter,
        labels: &[],
        help: "Runs started; each change of the server's settings or instance ends one and starts the next.",
    };
    /// The current run.
    pub const RUN_INFO: MetricDef = MetricDef {
        name: "lab_client_run_info",
        kind: MetricKind::Gauge,
        labels: &["run_id", "server_workers", "server_keep_alive_seconds"],
        help: "Always 1, for the current run: its id and the server settings it measures (empty when the server does not report them).",
    };

    /// Every series the load generator exports.
    pub const ALL: [MetricDef; 7] = [
        REQUEST_DURATION,
        REQUESTS_TOTAL,
        REQUESTS_IN_FLIGHT,
        INFO,
        LARGE_UPLOADS_ENABLED,
        RUNS_TOTAL,
        RUN_INFO,
    ];

    /// The `outcome` of a request that got a 2xx.
    pub const OK_OUTCOME: &str = "ok";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_classes_split_at_64_kib_and_1_mib() {
        assert_eq!(size_class(0), "small");
        assert_eq!(size_class(64 * 1024 - 1), "small");
        assert_eq!(size_class(64 * 1024), "medium");
        assert_eq!(size_class(1024 * 1024 - 1), "medium");
        assert_eq!(size_class(1024 * 1024), "large");
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = server::ALL
            .iter()
            .chain(client::ALL.iter())
            .map(|metric| metric.name)
            .collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
    }
}
