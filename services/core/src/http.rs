//! The HTTP conventions between the load generator and the server, beyond the JSON bodies:
//! header names and the health check.

use serde::{Deserialize, Serialize};

/// Sent by the load generator with every request (`small-000042`); the server echoes it on
/// the response and in its logs, so one request can be followed across both.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// Set by the server on every response: the index of the worker (event loop) that served it.
/// The load generator records it even when the body is not the lab's JSON.
pub const WORKER_ID_HEADER: &str = "x-worker-id";

/// The path of the health check.
pub const HEALTH_PATH: &str = "/healthz";

/// `GET /healthz`'s answer: the server is up, with the two settings the experiments vary.
/// The matrix waits for it before a scenario starts, and checks it runs what was asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Always `ok` when the server answers.
    pub status: String,
    /// WORKERS.
    pub workers: usize,
    /// KEEP_ALIVE in seconds (0 = off).
    pub keep_alive_seconds: u64,
}

impl Health {
    /// A healthy server with these settings.
    pub fn ok(workers: usize, keep_alive_seconds: u64) -> Self {
        Self {
            status: "ok".to_string(),
            workers,
            keep_alive_seconds,
        }
    }
}
