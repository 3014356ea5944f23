//! Every Prometheus series the server exports, registered from lab-core's definitions
//! ([`lab_core::metrics::server`]: name, labels, help), with their buckets.
//!
//! Each [`crate::startup::Application`] owns its own [`prometheus::Registry`] (so tests can run
//! several servers in one process). No label takes its value from request data: `endpoint`
//! is a [`Strategy`]'s label or `other`, `size_class` one of three, `status` a status code the
//! server chose, `worker` an index below WORKERS, `phase` a [`lab_core::Phase`].

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use lab_core::{
    Strategy,
    metrics::{MetricDef, OTHER_ENDPOINT, server},
};

use crate::config::ServerConfig;

/// A counter or gauge's options from its definition.
fn opts(def: MetricDef) -> Opts {
    Opts::new(def.name, def.help)
}

/// A histogram's options from its definition.
fn histogram_opts(def: MetricDef, buckets: Vec<f64>) -> HistogramOpts {
    HistogramOpts::new(def.name, def.help).buckets(buckets)
}

/// Every series the server updates, registered in one registry.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// See [`server::REQUEST_DURATION`].
    pub request_duration: HistogramVec,
    /// See [`server::PHASE_DURATION`].
    pub phase_duration: HistogramVec,
    /// See [`server::ACTIVE_REQUESTS`].
    pub active_requests: IntGaugeVec,
    /// See [`server::REQUEST_BODY_SIZE`].
    pub request_body_size: HistogramVec,
    /// See [`server::REQUESTS_TOTAL`].
    pub requests_total: IntCounterVec,
    /// See [`server::CONNECTIONS_TOTAL`].
    pub connections_total: IntCounterVec,
    /// See [`server::EVENT_LOOP_LAG`].
    pub event_loop_lag: HistogramVec,
    /// See [`server::UPLOADS_CUT_OFF`].
    pub uploads_cut_off: IntCounterVec,
    /// See [`server::BUDGET_IN_USE`]; set from the budget at each scrape.
    pub budget_in_use: IntGauge,
}

impl Metrics {
    /// Registers every series (and the process collector) and sets the configuration gauges.
    pub fn new(config: &ServerConfig) -> prometheus::Result<Self> {
        let registry = Registry::new();
        let latency = lab_core::buckets::latency_buckets_seconds();

        let request_duration = HistogramVec::new(
            histogram_opts(server::REQUEST_DURATION, latency.clone()),
            server::REQUEST_DURATION.labels,
        )?;
        let phase_duration = HistogramVec::new(
            histogram_opts(server::PHASE_DURATION, latency.clone()),
            server::PHASE_DURATION.labels,
        )?;
        let active_requests = IntGaugeVec::new(
            opts(server::ACTIVE_REQUESTS),
            server::ACTIVE_REQUESTS.labels,
        )?;
        let request_body_size = HistogramVec::new(
            histogram_opts(
                server::REQUEST_BODY_SIZE,
                lab_core::buckets::body_size_buckets_bytes(),
            ),
            server::REQUEST_BODY_SIZE.labels,
        )?;
        let requests_total =
            IntCounterVec::new(opts(server::REQUESTS_TOTAL), server::REQUESTS_TOTAL.labels)?;
        let connections_total = IntCounterVec::new(
            opts(server::CONNECTIONS_TOTAL),
            server::CONNECTIONS_TOTAL.labels,
        )?;
        let event_loop_lag = HistogramVec::new(
            histogram_opts(server::EVENT_LOOP_LAG, latency),
            server::EVENT_LOOP_LAG.labels,
        )?;
        let uploads_cut_off = IntCounterVec::new(
            opts(server::UPLOADS_CUT_OFF),
            server::UPLOADS_CUT_OFF.labels,
        )?;
        let budget_in_use = IntGauge::with_opts(opts(server::BUDGET_IN_USE))?;
        let budget_capacity = IntGauge::with_opts(opts(server::BUDGET_CAPACITY))?;
        budget_capacity.set(i64::try_from(config.body_budget_bytes()).unwrap_or(i64::MAX));
        let workers = IntGauge::with_opts(opts(server::WORKERS))?;
        let keep_alive = IntGauge::with_opts(opts(server::KEEP_ALIVE_SECONDS))?;
        let blocking_threads = IntGauge::with_opts(opts(server::BLOCKING_THREADS))?;
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
        for strategy in Strategy::ALL {
            self.active_requests.with_label_values(&[strategy.label()]);
        }
        for reason in server::CUT_OFF_REASONS {
            self.uploads_cut_off.with_label_values(&[reason]);
        }
    }

    /// Requests being handled right now, all endpoints together (the strategy endpoints and
    /// `other`).
    pub fn requests_in_flight(&self) -> usize {
        Strategy::ALL
            .map(Strategy::label)
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
