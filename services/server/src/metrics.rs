//! Every Prometheus series the server exports: names as constants, buckets explained.
//!
//! Each [`crate::startup::Application`] owns its own [`prometheus::Registry`] (so tests can run
//! several servers in one process). No label takes its value from request data: `endpoint`
//! is one of [`ENDPOINTS`] or `other`, `size_class` one of three, `status` a status code the
//! server chose, `worker` an index below WORKERS, `phase` one of the strategies' phase names.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder, exponential_buckets,
};

use crate::config::ServerConfig;

/// Server-side request latency, from when the worker got to the request (headers parsed) to
/// when the handler produced the response. Blind to time spent queued behind a busy loop.
pub const REQUEST_DURATION: &str = "http_server_request_duration_seconds";
/// Time spent in each phase of a strategy (read_body, parse, compute, drop, blocking_wait;
/// wait_body and longest_slice for /stream).
pub const PHASE_DURATION: &str = "lab_server_phase_duration_seconds";
/// Requests being handled right now, per endpoint.
pub const ACTIVE_REQUESTS: &str = "http_server_active_requests";
/// Size of request bodies, per endpoint.
pub const REQUEST_BODY_SIZE: &str = "http_server_request_body_size_bytes";
/// Strategy requests served by each worker: how the accept loop spreads the work.
pub const REQUESTS_TOTAL: &str = "lab_server_requests_total";
/// TCP connections accepted by each worker (a connection stays on its worker).
pub const CONNECTIONS_TOTAL: &str = "lab_server_connections_total";
/// WORKERS as configured.
pub const WORKERS: &str = "lab_server_workers";
/// KEEP_ALIVE in seconds as configured (0 = off).
pub const KEEP_ALIVE_SECONDS: &str = "lab_server_keep_alive_seconds";
/// BLOCKING_THREADS as configured (per worker).
pub const BLOCKING_THREADS: &str = "lab_server_blocking_threads";
/// How late each worker's lag-probe timer woke: time its event loop was busy elsewhere.
pub const EVENT_LOOP_LAG: &str = "lab_server_event_loop_lag_seconds";
/// Uploads stopped before their end, by reason: `idle` and `too_slow` (a stalled or trickling
/// client, BODY_IDLE_TIMEOUT / BODY_MIN_RATE_KB), `over_budget` (BODY_BUDGET_MB spent),
/// `too_large` (MAX_BODY_MB passed, or announced with `Expect: 100-continue`).
pub const UPLOADS_CUT_OFF: &str = "lab_server_uploads_cut_off_total";
/// Bytes of request bodies and parsed maps charged to BODY_BUDGET_MB right now.
pub const BUDGET_IN_USE: &str = "lab_server_body_budget_in_use_bytes";

/// BODY_BUDGET_MB in bytes, beside [`BUDGET_IN_USE`].
pub const BUDGET_CAPACITY: &str = "lab_server_body_budget_bytes";

/// The strategy endpoints' label values; every other path is labelled [`OTHER_ENDPOINT`].
pub const ENDPOINTS: [&str; 5] = ["ping", "pong", "offload", "lean", "stream"];
/// Label value for every path that is not a strategy endpoint.
pub const OTHER_ENDPOINT: &str = "other";

/// Bodies below this are `small` (the study's 1 KB requests and anything up to 64 KiB).
pub const SMALL_BODY_BELOW: usize = 64 * 1024;
/// Bodies from [`SMALL_BODY_BELOW`] up to this are `medium`; from here on `large`.
pub const MEDIUM_BODY_BELOW: usize = 1024 * 1024;

/// The `size_class` label of a body of `bytes` bytes.
pub fn size_class(bytes: usize) -> &'static str {
    if bytes < SMALL_BODY_BELOW {
        "small"
    } else if bytes < MEDIUM_BODY_BELOW {
        "medium"
    } else {
        "large"
    }
}

/// Body-size buckets: powers of 4 from 1 KiB to 256 MiB. 64 KiB and 1 MiB are bounds, so the
/// buckets line up with the size classes.
fn body_size_buckets() -> Vec<f64> {
    exponential_buckets(1024.0, 4.0, 10).expect("valid bucket parameters")
}

/// Every series the server updates, registered in one registry.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// See [`REQUEST_DURATION`].
    pub request_duration: HistogramVec,
    /// See [`PHASE_DURATION`].
    pub phase_duration: HistogramVec,
    /// See [`ACTIVE_REQUESTS`].
    pub active_requests: IntGaugeVec,
    /// See [`REQUEST_BODY_SIZE`].
    pub request_body_size: HistogramVec,
    /// See [`REQUESTS_TOTAL`].
    pub requests_total: IntCounterVec,
    /// See [`CONNECTIONS_TOTAL`].
    pub connections_total: IntCounterVec,
    /// See [`EVENT_LOOP_LAG`].
    pub event_loop_lag: HistogramVec,
    /// See [`UPLOADS_CUT_OFF`].
    pub uploads_cut_off: IntCounterVec,
    /// See [`BUDGET_IN_USE`]; set from the budget at each scrape.
    pub budget_in_use: IntGauge,
}

impl Metrics {
    /// Registers every series (and the process collector) and sets the configuration gauges.
    pub fn new(config: &ServerConfig) -> prometheus::Result<Self> {
        let registry = Registry::new();
        let latency = lab_core::buckets::latency_buckets_seconds();

        let request_duration = HistogramVec::new(
            HistogramOpts::new(REQUEST_DURATION, "Server-side request latency: from the worker picking up the request to the response; blind to time queued behind a busy event loop.")
                .buckets(latency.clone()),
            &["endpoint", "size_class", "status"],
        )?;
        let phase_duration = HistogramVec::new(
            HistogramOpts::new(PHASE_DURATION, "Time in each phase of a strategy: read_body, parse, compute, drop (and blocking_wait for /offload; wait_body and longest_slice for /stream).")
                .buckets(latency.clone()),
            &["endpoint", "phase"],
        )?;
        let active_requests = IntGaugeVec::new(
            Opts::new(ACTIVE_REQUESTS, "Requests being handled right now."),
            &["endpoint"],
        )?;
        let request_body_size = HistogramVec::new(
            HistogramOpts::new(REQUEST_BODY_SIZE, "Request body sizes in bytes.")
                .buckets(body_size_buckets()),
            &["endpoint"],
        )?;
        let requests_total = IntCounterVec::new(
            Opts::new(
                REQUESTS_TOTAL,
                "Strategy requests served by each worker (event loop).",
            ),
            &["worker"],
        )?;
        let connections_total = IntCounterVec::new(
            Opts::new(
                CONNECTIONS_TOTAL,
                "TCP connections accepted by each worker.",
            ),
            &["worker"],
        )?;
        let event_loop_lag = HistogramVec::new(
            HistogramOpts::new(EVENT_LOOP_LAG, "How late each worker's periodic timer woke up: the time its event loop was busy with something else.")
                .buckets(latency),
            &["worker"],
        )?;
        let uploads_cut_off = IntCounterVec::new(
            Opts::new(
                UPLOADS_CUT_OFF,
                "Uploads stopped before their end: idle or too_slow (a stalled client), over_budget (BODY_BUDGET_MB), too_large (MAX_BODY_MB).",
            ),
            &["reason"],
        )?;
        let budget_in_use = IntGauge::new(
            BUDGET_IN_USE,
            "Bytes of request bodies and parsed maps charged to BODY_BUDGET_MB right now.",
        )?;
        let budget_capacity = IntGauge::new(BUDGET_CAPACITY, "BODY_BUDGET_MB in bytes.")?;
        budget_capacity.set(i64::try_from(config.body_budget_bytes()).unwrap_or(i64::MAX));
        let workers = IntGauge::new(WORKERS, "Number of actix workers (event loops).")?;
        let keep_alive = IntGauge::new(
            KEEP_ALIVE_SECONDS,
            "Server keep-alive in seconds; 0 = the server closes each connection after one response.",
        )?;
        let blocking_threads = IntGauge::new(
            BLOCKING_THREADS,
            "Threads in each worker's blocking pool (used by /offload).",
        )?;
        workers.set(i64::from(config.workers));
        keep_alive.set(i64::try_from(config.keep_alive).unwrap_or(i64::MAX));
        blocking_threads.set(i64::from(config.blocking_threads));

        registry.register(Box::new(request_duration.clone()))?;
        registry.register(Box::new(phase_duration.clone()))?;
        registry.register(Box::new(active_requests.clone()))?;
        registry.register(Box::new(request_body_size.clone()))?;
        registry.register(Box::new(requests_total.clone()))?;
        registry.register(Box::new(connections_total.clone()))?;
        registry.register(Box::new(event_loop_lag.clone()))?;
        registry.register(Box::new(uploads_cut_off.clone()))?;
        registry.register(Box::new(budget_in_use.clone()))?;
        registry.register(Box::new(budget_capacity))?;
        registry.register(Box::new(workers))?;
        registry.register(Box::new(keep_alive))?;
        registry.register(Box::new(blocking_threads))?;
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;

        let metrics = Self {
            registry,
            request_duration,
            phase_duration,
            active_requests,
            request_body_size,
            requests_total,
            connections_total,
            event_loop_lag,
            uploads_cut_off,
            budget_in_use,
        };
        metrics.precreate_series(config);
        Ok(metrics)
    }

    /// Creates the per-worker and per-endpoint series at zero, so dashboards and `rate()` see
    /// them from the first scrape instead of from the first event.
    fn precreate_series(&self, config: &ServerConfig) {
        for worker in 0..usize::from(config.workers) {
            let worker = worker.to_string();
            self.requests_total.with_label_values(&[&worker]);
            self.connections_total.with_label_values(&[&worker]);
        }
        for endpoint in ENDPOINTS {
            self.active_requests.with_label_values(&[endpoint]);
        }
        for reason in crate::upload::CUT_OFF_REASONS {
            self.uploads_cut_off.with_label_values(&[reason]);
        }
    }

    /// Requests being handled right now, all endpoints together (the strategy endpoints and
    /// `other`).
    pub fn requests_in_flight(&self) -> usize {
        ENDPOINTS
            .into_iter()
            .chain([OTHER_ENDPOINT])
            .map(|endpoint| self.active_requests.with_label_values(&[endpoint]).get())
            .sum::<i64>()
            .try_into()
            .unwrap_or(0)
    }

    /// The lag histogram of one worker.
    pub fn event_loop_lag_for(&self, worker: usize) -> Histogram {
        self.event_loop_lag
            .with_label_values(&[&worker.to_string()])
    }

    /// The whole registry in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .expect("encoding into a Vec cannot fail");
        String::from_utf8(buffer).expect("the text format is UTF-8")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn size_classes_split_at_64_kib_and_1_mib() {
        assert_eq!(size_class(0), "small");
        assert_eq!(size_class(64 * 1024 - 1), "small");
        assert_eq!(size_class(64 * 1024), "medium");
        assert_eq!(size_class(1024 * 1024 - 1), "medium");
        assert_eq!(size_class(1024 * 1024), "large");
    }

    #[test]
    fn configuration_gauges_and_worker_series_exist_from_the_start() {
        let config = ServerConfig::parse_from(["lab-server", "--workers", "3"]);
        let text = Metrics::new(&config).unwrap().encode();
        assert!(text.contains("lab_server_workers 3"), "{text}");
        assert!(
            text.contains("lab_server_requests_total{worker=\"2\"} 0"),
            "{text}"
        );
    }
}
