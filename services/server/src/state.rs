//! What every worker shares: built once in [`crate::startup::Application::build`], outside
//! the per-worker app factory, and cloned into each worker's `App` as `web::Data`.

use std::sync::{Arc, atomic::AtomicUsize};

use crate::{
    config::ServerConfig,
    metrics::Metrics,
    upload::{Uploads, budget::BodyBudget, guard::StopRule},
};

/// Shared by all workers.
pub struct AppState {
    /// Every Prometheus series.
    pub metrics: Metrics,
    /// What every upload is read under: MAX_BODY_MB and the other upload rules, the memory
    /// budget (BODY_BUDGET_MB), what a stop does to an upload (SHUTDOWN_IDLE_GRACE).
    pub uploads: Uploads,
    /// OFFLOAD_MIN_KB in bytes: /offload parses smaller bodies on the loop.
    pub offload_min_bytes: usize,
    /// OFFLOAD_NICE: the nice value of the threads that run offloaded parses.
    pub offload_nice: u8,
    /// Requests dropped before they were answered (see `observe`): read at shutdown to tell
    /// a drain from a cut.
    pub abandoned_requests: Arc<AtomicUsize>,
    /// WORKERS, reported by /healthz.
    pub workers: usize,
    /// KEEP_ALIVE in seconds, reported by /healthz.
    pub keep_alive_seconds: u64,
    /// ALLOCATOR, reported by /healthz (the binary's own, once the hand-over is done; the
    /// system's when the server runs inside another program, as in the tests).
    pub allocator: crate::allocator::Allocator,
    /// Names this start of the server, reported by /healthz (see
    /// [`lab_core::http::instance_id`]).
    pub instance: String,
}

impl AppState {
    /// The shared state for `config`, with its metrics; `stop_begins` resolves when the
    /// server begins to stop.
    pub fn new(
        config: &ServerConfig,
        metrics: Metrics,
        stop_begins: actix_server::GracefulShutdownSignal,
    ) -> Self {
        Self {
            uploads: Uploads {
                rules: config.upload_rules(),
                budget: BodyBudget::new(config.body_budget_bytes()),
                stop: StopRule {
                    signal: stop_begins,
                    idle_grace: config.shutdown_idle_grace(),
                    cut_off: Arc::default(),
                },
                cut_offs: metrics.uploads_cut_off.clone(),
            },
            offload_min_bytes: config.offload_min_bytes(),
            offload_nice: config.offload_nice,
            abandoned_requests: Arc::default(),
            workers: usize::from(config.workers),
            keep_alive_seconds: config.keep_alive,
            allocator: config
                .allocator
                .unwrap_or(crate::allocator::Allocator::System),
            instance: lab_core::http::instance_id(),
            metrics,
        }
    }
}
