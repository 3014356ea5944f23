//! [`run`]: one workload run from start to report.
//!
//! 1. Before the clock: bind METRICS_BIND (first, so a taken port leaves nothing behind),
//!    build every body, one HTTP client per class, the run directory and requests.csv, the
//!    metrics registry and its server.
//! 2. The clock starts; each class's scheduler starts; the collector thread receives records.
//! 3. Scheduling stops at the end of DURATION or when `shutdown` resolves (Ctrl-C).
//! 4. Drain: requests in flight get DRAIN_TIMEOUT to finish; those still running after it
//!    are cancelled and recorded as `cancelled` errors (their rows are not lost).
//! 5. The collector flushes requests.csv; summary.csv is written; the report is returned.

use std::{future::Future, net::SocketAddr, sync::Arc};

use tokio::time::{Instant, sleep_until, timeout};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    collector::Collector,
    engine::{Engine, build_client, content_type, resolve_target, wire_method},
    files::{FilesError, RequestsCsv, create_run_dir, write_summary_csv},
    metrics::{ClientMetrics, MetricsServer},
    options::values::path_word,
    options::{OptionsError, Pool, RunOptions, Schedule},
    progress::Progress,
    report::{ClassConfig, RunConfig, RunReport},
    schedule::ClassScheduler,
    workload::{ClassPlan, LargeCycle, build_classes},
};

/// Why a run could not be set up, or its files written. Failed requests are not errors of
/// the run: they are counted in its report.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The options cannot run (see [`RunOptions::check`]).
    #[error(transparent)]
    Options(#[from] OptionsError),
    /// METRICS_BIND could not be bound or served.
    #[error("cannot serve metrics on METRICS_BIND {address}: {error}")]
    MetricsBind {
        /// METRICS_BIND.
        address: SocketAddr,
        /// Why.
        error: std::io::Error,
    },
    /// The client's metrics could not be registered.
    #[error("cannot register the client metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// TARGET_URL and ENDPOINT do not make a URL on TARGET_URL's host.
    #[error("ENDPOINT {endpoint} would not send requests to TARGET_URL's host {target}")]
    OtherHost {
        /// ENDPOINT.
        endpoint: String,
        /// TARGET_URL.
        target: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    /// A task building bodies or collecting records failed.
    #[error("the {0} task failed")]
    Task(&'static str),
    /// The run directory or its CSV files could not be written.
    #[error(transparent)]
    Files(#[from] FilesError),
}

/// Runs the workload `options` describes until DURATION ends or `shutdown` resolves, writes
/// `RESULTS_DIR/<run-id>/{requests,summary}.csv`, and returns the report. Request failures are
/// counted in the report, not returned as errors; `Err` means the run could not be set up
/// or its files could not be written.
pub async fn run(
    options: RunOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<RunReport, RunError> {
    options.check()?;

    // 1. Before the clock. The metrics address first: if it cannot be bound, stop before
    // building anything or creating the run directory.
    let metrics_listener = match options.metrics_bind {
        Some(address) => Some(
            MetricsServer::bind(address)
                .map_err(|error| RunError::MetricsBind { address, error })?,
        ),
        None => None,
    };
    let plans: Vec<Arc<ClassPlan>> = {
        let options = options.clone();
        tokio::task::spawn_blocking(move || build_classes(&options.workload, &options.endpoint))
            .await
            .map_err(|_| RunError::Task("payload generation"))?
            .into_iter()
            .map(Arc::new)
            .collect()
    };
    let class_names: Vec<String> = plans.iter().map(|plan| plan.name.clone()).collect();
    let class_paths: Vec<String> = plans.iter().map(|plan| plan.request.path.clone()).collect();
    // Every path is checked to be a path (ENDPOINT, SMALL_REQUEST…), so the join keeps
    // TARGET_URL's host; checked again here because sending the workload to another host
    // must never happen.
    let urls = class_paths
        .iter()
        .map(|path| {
            options
                .target_url
                .join(path)
                .ok()
                .filter(|url| url.origin() == options.target_url.origin())
                .ok_or_else(|| RunError::OtherHost {
                    endpoint: path.clone(),
                    target: options.target_url.origin().ascii_serialization(),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let resolved = resolve_target(&options.target_url).await;
    let build = || {
        build_client(
            options.connection,
            options.workload.request_timeout,
            &options.target_url,
            &resolved,
        )
    };
    // POOL=per-class: one client (one pool) per class; shared: one client, cloned (a clone
    // is a handle to the same pool).
    let clients = match options.pool {
        Pool::PerClass => plans
            .iter()
            .map(|_| build())
            .collect::<Result<Vec<_>, _>>()?,
        Pool::Shared => {
            let client = build()?;
            plans.iter().map(|_| client.clone()).collect()
        }
    };

    let default_id = format!(
        "{}-{}-{}-{}",
        chrono::Utc::now().format("%Y%m%d-%H%M%S"),
        path_slug(&class_paths),
        options.connection.as_str(),
        options.workload.schedule.as_str(),
    );
    let (run_id, dir) =
        create_run_dir(&options.results_dir, options.run_id.as_deref(), &default_id)?;
    let csv = RequestsCsv::create(
        &dir,
        &run_id,
        class_paths.clone(),
        options.connection.as_str(),
        class_names.clone(),
    )?;

    let metrics = ClientMetrics::new()?;
    metrics
        .info
        .with_label_values(&[
            options.endpoint.as_str(),
            options.connection.as_str(),
            options.pool.as_str(),
            options.workload.schedule.as_str(),
        ])
        .set(1.0);
    // 1 while large uploads are being sent; a run without the large class never sends any.
    metrics
        .large_uploads_enabled
        .set(if options.workload.has_large() {
            1.0
        } else {
            0.0
        });
    let metrics_server = match (metrics_listener, options.metrics_bind) {
        (Some(listener), Some(address)) => Some(
            MetricsServer::serve(listener, metrics.clone())
                .map_err(|error| RunError::MetricsBind { address, error })?,
        ),
        _ => None,
    };

    let config = run_config(&options, &plans);
    if !options.quiet {
        tracing::info!(
            run_id,
            target = %options.target_url,
            connection = options.connection.as_str(),
            pool = options.pool.as_str(),
            schedule = options.workload.schedule.as_str(),
            duration_s = config.duration_s,
            classes = %describe_classes(&config),
            metrics = ?metrics_server.as_ref().map(|server| server.address),
            "starting"
        );
    }

    // 2. The clock starts.
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let run_start = Instant::now();
    let stop = CancellationToken::new();
    let (records, collector) = Collector::new(
        &class_names,
        &class_paths,
        csv,
        metrics.clone(),
        Progress::for_terminal(options.quiet),
        run_start.into_std(),
        stop.clone(),
    )
    .spawn();
    let cancel = CancellationToken::new();
    let tracker = TaskTracker::new();
    let end = (!options.duration.is_zero()).then_some(options.duration);
    let cycle = LargeCycle {
        on: options.workload.large_on,
        off: options.workload.large_off,
    };
    for (index, ((plan, client), url)) in plans.iter().zip(clients).zip(urls).enumerate() {
        let scheduler = ClassScheduler {
            index,
            plan: plan.clone(),
            engine: Engine {
                client,
                method: wire_method(plan.request.method),
                url,
                content_type: content_type(plan.request.method, plan.body),
                check_answers: options.workload.check_answers,
                run_start,
            },
            records: records.clone(),
            in_flight: metrics.in_flight.with_label_values(&[plan.name.as_str()]),
            cycle: plan
                .cycled
                .then(|| (cycle, metrics.large_uploads_enabled.clone())),
            end,
            stop: stop.clone(),
            cancel: cancel.clone(),
            tracker: tracker.clone(),
        };
        match options.workload.schedule {
            Schedule::Open => {
                tracker.spawn(scheduler.open(options.workload.max_in_flight as usize));
            }
            Schedule::Closed => {
                tracker.spawn(scheduler.closed());
            }
        }
    }
    drop(records);

    // 3. Stop scheduling at the end of DURATION or on shutdown.
    let interrupted = tokio::select! {
        () = shutdown => true,
        () = sleep_until(run_start + options.duration), if end.is_some() => false,
        () = stop.cancelled() => false, // the collector failed; its error is returned below
    };
    stop.cancel();
    tracker.close();

    // 4. Drain, bounded.
    if timeout(options.workload.drain_timeout, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            drain_timeout_s = options.workload.drain_timeout.as_secs_f64(),
            "requests still in flight after the drain timeout: recording them as cancelled"
        );
        cancel.cancel();
        tracker.wait().await;
    }
    let elapsed_s = run_start.elapsed().as_secs_f64();

    // 5. Collect, summarize, write.
    let stats = tokio::task::spawn_blocking(move || collector.join())
        .await
        .map_err(|_| RunError::Task("collector"))?
        .map_err(|_| RunError::Task("collector"))??;
    let classes: Vec<_> = stats.iter().map(|class| class.summary()).collect();
    write_summary_csv(
        &dir,
        &run_id,
        &class_paths,
        options.connection.as_str(),
        options.workload.schedule.as_str(),
        &classes,
    )?;
    if let Some(server) = metrics_server {
        server.stop().await;
    }
    Ok(RunReport {
        run_id,
        dir,
        started_at,
        elapsed_s,
        interrupted,
        config,
        classes,
    })
}

/// Longest part of a default run id that comes from the paths requested.
const MAX_SLUG_LEN: usize = 64;

/// The paths the classes request, as one file-name-safe word for the default run id:
/// `ping` for the usual run, `healthz+upload` when the classes ask for different paths.
fn path_slug(paths: &[String]) -> String {
    let mut distinct: Vec<&str> = Vec::new();
    for path in paths {
        if !distinct.contains(&path.as_str()) {
            distinct.push(path);
        }
    }
    let slug: String = distinct
        .iter()
        .map(|path| path_word(path, '_'))
        .collect::<Vec<_>>()
        .join("+");
    slug.chars().take(MAX_SLUG_LEN).collect()
}

fn run_config(options: &RunOptions, plans: &[Arc<ClassPlan>]) -> RunConfig {
    RunConfig {
        target_url: options.target_url.to_string(),
        endpoint: options.endpoint.clone(),
        connection: options.connection,
        pool: options.pool,
        schedule: options.workload.schedule,
        duration_s: options.duration.as_secs_f64(),
        max_in_flight: options.workload.max_in_flight,
        request_timeout_s: options.workload.request_timeout.as_secs_f64(),
        drain_timeout_s: options.workload.drain_timeout.as_secs_f64(),
        large_on_s: options.workload.large_on.as_secs_f64(),
        large_off_s: options.workload.large_off.as_secs_f64(),
        check_answers: options.workload.check_answers,
        classes: plans
            .iter()
            .map(|plan| ClassConfig {
                name: plan.name.clone(),
                size_mb: plan.size_mb,
                interval_s: plan.interval.as_secs_f64(),
                body_bytes: plan.body_bytes(),
                request: plan.request.to_string(),
                body: plan.body,
            })
            .collect(),
    }
}

/// `small 0.001 MB every 0.1 s, large 25 MB every 1 s`, for the start-up log line.
fn describe_classes(config: &RunConfig) -> String {
    config
        .classes
        .iter()
        .map(|class| {
            format!(
                "{} {} MB every {} s ({}, {} body)",
                class.name,
                class.size_mb,
                class.interval_s,
                class.request,
                class.body.as_str()
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The run id's path part is short and file-name safe whatever the paths.
    #[test]
    fn path_slugs_are_file_name_safe_and_short() {
        let slug =
            |paths: &[&str]| path_slug(&paths.iter().map(|p| p.to_string()).collect::<Vec<_>>());
        assert_eq!(slug(&["/ping", "/ping"]), "ping");
        assert_eq!(slug(&["/healthz", "/upload"]), "healthz+upload");
        assert_eq!(slug(&["/"]), "root");
        assert_eq!(slug(&["/a:b@c/d'e%20"]), "a_b_c_d_e_20");
        assert_eq!(
            slug(&[&format!("/{}", "x".repeat(1000))]).len(),
            MAX_SLUG_LEN
        );
    }
}
