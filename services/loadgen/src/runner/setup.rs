//! [`Setup`]: what every run of one invocation shares, built once before the first clock
//! starts (step 1 of [`super::run`]).

use std::{future::Future, net::TcpListener, sync::Arc};

use lab_core::http::Health;
use tokio_util::sync::CancellationToken;

use super::{
    RunError,
    class::{Clients, LoadClass},
    names::replica_name,
};
use crate::{
    metrics::{ClientMetrics, MetricsServer},
    options::RunOptions,
    report::{ClassConfig, RunConfig},
    shutdown::Shutdown,
    watch::{Seen, ServerWatch},
    workload::{ClassPlan, build_classes},
};

/// What every run of one invocation shares.
pub(super) struct Setup {
    /// The options (the same for every run).
    pub options: RunOptions,
    /// Every class, in the run's order: small, large (unless left out), the extra ones.
    pub classes: Vec<LoadClass>,
    /// The client's metrics, kept across runs.
    pub metrics: ClientMetrics,
    metrics_server: Option<MetricsServer>,
    /// The configuration every run reports.
    pub config: RunConfig,
    /// REPLICA as it names directories ([`replica_name`]).
    pub replica: Option<String>,
    /// The server's /healthz, read during each run.
    pub watch: ServerWatch,
}

impl Setup {
    /// Everything before the first run; `None` when `shutdown` came while the bodies were
    /// being built.
    pub async fn new(
        options: RunOptions,
        shutdown: &mut Shutdown<impl Future<Output = ()>>,
    ) -> Result<Option<Self>, RunError> {
        options.check()?;
        // The metrics address first: if it cannot be bound, stop before building anything
        // or creating a run directory.
        let metrics_listener = match options.metrics_bind {
            Some(address) => Some(
                MetricsServer::bind(address)
                    .map_err(|error| RunError::MetricsBind { address, error })?,
            ),
            None => None,
        };
        let Some(plans) = build_bodies(&options, shutdown).await? else {
            tracing::info!("stopped while the bodies were being built: no run started");
            return Ok(None);
        };
        let clients = Clients::new(&options, &[])?;
        let classes = plans
            .into_iter()
            .map(|plan| LoadClass::new(Arc::new(plan), &options.target_url, clients.for_class()?))
            .collect::<Result<Vec<_>, RunError>>()?;
        let replica = options.replica.as_deref().map(replica_name);
        let metrics = client_metrics(&options, replica.as_deref())?;
        let metrics_server = serve_metrics(metrics_listener, &options, &metrics)?;
        let watch = ServerWatch::new(&options.target_url, options.server_check_interval)?;
        let config = run_config(&options, &classes);
        Ok(Some(Self {
            options,
            classes,
            metrics,
            metrics_server,
            config,
            replica,
            watch,
        }))
    }

    /// The server's settings before the first run, when it is followed and answers (not
    /// waited for once `shutdown` fired).
    pub async fn first_look(
        &self,
        shutdown: &mut Shutdown<impl Future<Output = ()>>,
    ) -> Option<Health> {
        if !self.watch.is_on() {
            return None;
        }
        let seen = tokio::select! {
            seen = self.watch.look() => seen,
            () = shutdown.fired() => Seen::NoAnswer,
        };
        match seen {
            Seen::Health(health) => Some(health),
            Seen::NotFollowable(_) | Seen::NoAnswer => None,
        }
    }

    /// The classes' plans, in the run's order.
    pub fn plans(&self) -> Vec<Arc<ClassPlan>> {
        self.classes
            .iter()
            .map(|class| class.plan.clone())
            .collect()
    }

    /// The paths the classes request, in the run's order.
    pub fn paths(&self) -> Vec<&str> {
        self.classes
            .iter()
            .map(|class| class.plan.request.path.as_str())
            .collect()
    }

    /// Stops serving /metrics, once every run is over.
    pub async fn stop_metrics(self) {
        if let Some(server) = self.metrics_server {
            server.stop().await;
        }
    }
}

/// Every class's bodies, built off the event loop so that a signal is seen while they are:
/// it stops the builders at their next check (well under a millisecond away), and waiting
/// for them means what they had built is freed before this returns `None`.
async fn build_bodies(
    options: &RunOptions,
    shutdown: &mut Shutdown<impl Future<Output = ()>>,
) -> Result<Option<Vec<ClassPlan>>, RunError> {
    let stop = CancellationToken::new();
    let mut building = {
        let options = options.clone();
        let stop = stop.clone();
        tokio::task::spawn_blocking(move || {
            build_classes(&options.workload, &options.endpoint, &stop)
        })
    };
    let built = tokio::select! {
        built = &mut building => built,
        () = shutdown.fired() => {
            stop.cancel();
            building.await
        }
    };
    Ok(built
        .map_err(|_| RunError::Task("payload generation"))?
        .ok())
}

/// The client's metrics, with `lab_client_info` saying how it runs and
/// `lab_client_large_uploads_enabled` at 1 while large uploads are sent (never, in a run
/// without the large class).
fn client_metrics(options: &RunOptions, replica: Option<&str>) -> Result<ClientMetrics, RunError> {
    let metrics = ClientMetrics::new()?;
    metrics
        .info
        .with_label_values(&[
            options.endpoint.as_str(),
            options.connection.as_str(),
            options.pool.as_str(),
            options.workload.schedule.as_str(),
            replica.unwrap_or(""),
        ])
        .set(1.0);
    let large = if options.workload.has_large() {
        1.0
    } else {
        0.0
    };
    metrics.large_uploads_enabled.set(large);
    Ok(metrics)
}

/// Serves `metrics` on the listener bound for METRICS_BIND, if any.
fn serve_metrics(
    listener: Option<TcpListener>,
    options: &RunOptions,
    metrics: &ClientMetrics,
) -> Result<Option<MetricsServer>, RunError> {
    match (listener, options.metrics_bind) {
        (Some(listener), Some(address)) => MetricsServer::serve(listener, metrics.clone())
            .map(Some)
            .map_err(|error| RunError::MetricsBind { address, error }),
        _ => Ok(None),
    }
}

/// The configuration every run reports.
fn run_config(options: &RunOptions, classes: &[LoadClass]) -> RunConfig {
    let workload = &options.workload;
    RunConfig {
        target_url: options.target_url.to_string(),
        endpoint: options.endpoint.clone(),
        connection: options.connection,
        pool: options.pool,
        schedule: workload.schedule,
        duration_s: options.duration.as_secs_f64(),
        max_in_flight: workload.max_in_flight,
        request_timeout_s: workload.request_timeout.as_secs_f64(),
        drain_timeout_s: workload.drain_timeout.as_secs_f64(),
        large_on_s: workload.large_on.as_secs_f64(),
        large_off_s: workload.large_off.as_secs_f64(),
        check_answers: workload.check_answers,
        classes: classes
            .iter()
            .map(|class| {
                let plan = &class.plan;
                ClassConfig {
                    name: plan.class.clone(),
                    size_mb: plan.size_mb,
                    interval_s: plan.interval.as_secs_f64(),
                    body_bytes: plan.body_bytes(),
                    request: plan.request.to_string(),
                    body: plan.body,
                    body_file: plan
                        .body_file
                        .as_ref()
                        .map(|path| path.display().to_string()),
                    content_type: plan
                        .content_type
                        .as_ref()
                        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned()),
                }
            })
            .collect(),
    }
}
