//! The client's live Prometheus metrics, registered from lab-core's definitions
//! ([`lab_core::metrics::client`]: name, labels, help), and the tiny server that exposes them.
//!
//! These are what the dashboard's "small-request p95" reads. The server's own histogram
//! starts when a handler gets the request; it cannot see time spent queued behind a blocked
//! worker. The client's histogram starts at the scheduled send, so it can.
//!
//! Each run has its own [`Registry`], so several runs in one process (the matrix, tests)
//! never mix their numbers.

use std::net::{SocketAddr, TcpListener};

use actix_web::{App, HttpResponse, HttpServer, dev::ServerHandle, web};
use lab_core::metrics::{MetricDef, client};
use prometheus::{
    Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

/// A counter or gauge's options from its definition.
fn opts(def: MetricDef) -> Opts {
    Opts::new(def.name, def.help)
}

/// Handles to every client metric of one run.
#[derive(Debug, Clone)]
pub struct ClientMetrics {
    /// The run's registry (what /metrics encodes).
    pub registry: Registry,
    /// See [`client::REQUEST_DURATION`].
    pub request_duration: HistogramVec,
    /// See [`client::REQUESTS_TOTAL`].
    pub requests_total: IntCounterVec,
    /// See [`client::REQUESTS_IN_FLIGHT`].
    pub in_flight: IntGaugeVec,
    /// See [`client::INFO`].
    pub info: GaugeVec,
    /// See [`client::LARGE_UPLOADS_ENABLED`].
    pub large_uploads_enabled: Gauge,
    /// See [`client::RUNS_TOTAL`].
    pub runs_total: IntCounter,
    /// See [`client::RUN_INFO`].
    pub run_info: GaugeVec,
}

impl ClientMetrics {
    /// Registers every metric in a fresh registry; the latency histogram has the buckets the
    /// server's has ([`lab_core::buckets`]).
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let request_duration = HistogramVec::new(
            HistogramOpts::new(client::REQUEST_DURATION.name, client::REQUEST_DURATION.help)
                .buckets(lab_core::buckets::latency_buckets_seconds()),
            client::REQUEST_DURATION.labels,
        )?;
        let requests_total =
            IntCounterVec::new(opts(client::REQUESTS_TOTAL), client::REQUESTS_TOTAL.labels)?;
        let in_flight = IntGaugeVec::new(
            opts(client::REQUESTS_IN_FLIGHT),
            client::REQUESTS_IN_FLIGHT.labels,
        )?;
        let info = GaugeVec::new(opts(client::INFO), client::INFO.labels)?;
        let large_uploads_enabled = Gauge::with_opts(opts(client::LARGE_UPLOADS_ENABLED))?;
        let runs_total = IntCounter::with_opts(opts(client::RUNS_TOTAL))?;
        let run_info = GaugeVec::new(opts(client::RUN_INFO), client::RUN_INFO.labels)?;
        registry.register(Box::new(request_duration.clone()))?;
        registry.register(Box::new(requests_total.clone()))?;
        registry.register(Box::new(in_flight.clone()))?;
        registry.register(Box::new(info.clone()))?;
        registry.register(Box::new(large_uploads_enabled.clone()))?;
        registry.register(Box::new(runs_total.clone()))?;
        registry.register(Box::new(run_info.clone()))?;
        Ok(ClientMetrics {
            registry,
            request_duration,
            requests_total,
            in_flight,
            info,
            large_uploads_enabled,
            runs_total,
            run_info,
        })
    }

    /// A run starts: counts it, and makes it the only one [`client::RUN_INFO`] shows.
    pub fn start_run(&self, run_id: &str, server: Option<&lab_core::http::Health>) {
        self.runs_total.inc();
        self.run_info.reset();
        let (workers, keep_alive) = server.map_or((String::new(), String::new()), |health| {
            (
                health.workers.to_string(),
                health.keep_alive_seconds.to_string(),
            )
        });
        self.run_info
            .with_label_values(&[run_id, workers.as_str(), keep_alive.as_str()])
            .set(1.0);
    }

    /// The registry in Prometheus' text format.
    pub fn encode(&self) -> String {
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .expect("encoding to a Vec cannot fail");
        String::from_utf8(buffer).expect("the text format is UTF-8")
    }
}

/// A running /metrics server.
pub struct MetricsServer {
    /// The address it listens on (useful when bound to port 0).
    pub address: SocketAddr,
    handle: ServerHandle,
}

impl MetricsServer {
    /// Binds `address` now, without serving yet. The runner does this first of all, so a
    /// port already in use or an address not on this machine fails the run before anything
    /// (bodies, the run directory) is created. Dropping the listener frees the port.
    pub fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
        // std sets SO_REUSEADDR on Unix, as actix's own `bind` does: a port left in
        // TIME_WAIT by the previous run binds, a port someone listens on does not.
        let listener = TcpListener::bind(address)?;
        listener.set_nonblocking(true)?;
        Ok(listener)
    }

    /// Binds `address` and serves on it: [`MetricsServer::bind`] then [`MetricsServer::serve`].
    pub fn start(address: SocketAddr, metrics: ClientMetrics) -> std::io::Result<Self> {
        Self::serve(Self::bind(address)?, metrics)
    }

    /// Serves `GET /metrics` on `listener` on one actix worker thread (its own thread, so
    /// scrapes never run on the runtime that times requests).
    pub fn serve(listener: TcpListener, metrics: ClientMetrics) -> std::io::Result<Self> {
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(metrics.clone()))
                .route("/metrics", web::get().to(serve_metrics))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)?;
        let address = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Ok(MetricsServer { address, handle })
    }

    /// Stops the server (scrapes in progress finish first).
    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}

/// `GET /metrics`: the run's registry in the text format.
async fn serve_metrics(metrics: web::Data<ClientMetrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(metrics.encode())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lab_core::Class;

    /// The `# TYPE` word of a kind.
    fn type_name(kind: lab_core::metrics::MetricKind) -> &'static str {
        match kind {
            lab_core::metrics::MetricKind::Counter => "counter",
            lab_core::metrics::MetricKind::Gauge => "gauge",
            lab_core::metrics::MetricKind::Histogram => "histogram",
        }
    }

    /// Every series lab-core defines for the client is exported with its help and kind.
    #[test]
    fn every_metric_is_registered_with_the_shared_buckets() {
        let metrics = ClientMetrics::new().unwrap();
        metrics
            .request_duration
            .with_label_values(&[Class::Small.name(), "/ping"])
            .observe(0.001);
        metrics
            .requests_total
            .with_label_values(&[Class::Small.name(), "/ping", client::OK_OUTCOME])
            .inc();
        metrics
            .in_flight
            .with_label_values(&[Class::Small.name()])
            .set(0);
        metrics
            .info
            .with_label_values(&["/ping", "new", "per-class", "open", ""])
            .set(1.0);
        metrics.large_uploads_enabled.set(1.0);
        metrics.start_run("first", None);
        metrics.start_run(
            "second",
            Some(&lab_core::http::Health::ok(4, 5, ["/ping"], "a")),
        );
        let text = metrics.encode();
        for def in client::ALL {
            assert!(
                text.contains(&format!("# HELP {} {}", def.name, def.help)),
                "{} missing",
                def.name
            );
            assert!(
                text.contains(&format!("# TYPE {} {}", def.name, type_name(def.kind))),
                "{} has not its kind",
                def.name
            );
        }
        // Only the current run is shown, with the settings it measures.
        assert!(text.contains("lab_client_runs_total 2"), "{text}");
        assert!(!text.contains("run_id=\"first\""), "{text}");
        assert!(
            text.contains(
                "lab_client_run_info{run_id=\"second\",server_keep_alive_seconds=\"5\",server_workers=\"4\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("le=\"0.0005\""),
            "shared first bucket missing"
        );
    }
}
