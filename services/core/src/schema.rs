//! The response every strategy endpoint returns, as the study defined it plus `worker`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What `/ping`, `/pong`, `/offload` and `/lean` answer for a valid body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabResponse {
    /// The request's `name`, echoed.
    pub name: String,
    /// Number of distinct keys in `data` (a repeated key counts once, its last value wins).
    pub count: usize,
    /// Largest value in `data` after duplicates are resolved; 0 when `data` is empty.
    pub maxval: i64,
    /// Milliseconds from when the handler got the request to when it built the response.
    /// Blind to any time the request spent waiting for a busy worker.
    pub elapsed_server: u64,
    /// Per-phase timings in milliseconds for endpoints that profile; empty otherwise.
    #[serde(default)]
    pub profiling: BTreeMap<String, f64>,
    /// Index of the actix worker (event loop) that served the request.
    pub worker: usize,
}

/// The body of every error the server returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A stable, machine-readable kind, e.g. `malformed_json`, `body_too_large`.
    pub error: String,
    /// A human-readable explanation (for JSON errors: the parser's message and position).
    pub message: String,
}
