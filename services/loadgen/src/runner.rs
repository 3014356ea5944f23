//! [`run`]: the workload from start to report, as one run or, when the server changes under
//! it, as several.
//!
//! 1. Before the clock: bind METRICS_BIND (first, so a taken port leaves nothing behind),
//!    build every body, the metrics registry and its server, and read the server's /healthz
//!    (what the first run measures). A shutdown while the bodies are being built stops the
//!    building and ends here: no run starts, nothing is written.
//! 2. A run starts: the target's address looked up and one HTTP client per class, its
//!    directory and requests.csv, the clock, each class's scheduler, and the collector
//!    thread that receives records.
//! 3. Scheduling stops at the end of DURATION, when `shutdown` resolves (Ctrl-C), or when the
//!    server's /healthz reports other settings or another start ([`ServerWatch`]).
//! 4. Drain: requests in flight get DRAIN_TIMEOUT to finish; those still running after it
//!    are cancelled and recorded as `cancelled` errors (their rows are not lost).
//! 5. The collector flushes requests.csv; summary.csv is written; the run's report is kept.
//!    If the server changed, the next run starts at 2 (same bodies and metrics;
//!    DURATION counts from the first run's start); else the reports are returned.
//!
//! `shutdown` is waited for in every phase ([`Shutdown`]): while the bodies are built, the
//! server is looked at or its address looked up, and during each run. Once a run has its
//! directory, a shutdown ends it as in 3, so it still writes its files.

use std::{future::Future, net::SocketAddr, sync::Arc};

use lab_core::http::Health;
use reqwest::{Client, Url};
use tokio::time::{Instant, sleep_until, timeout};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    collector::Collector,
    engine::{Engine, build_client, content_type, resolve_target, wire_method},
    files::{FilesError, RequestsCsv, create_run_dir, write_summary_csv},
    metrics::{ClientMetrics, MetricsServer},
    options::values::{MAX_REPLICA_LEN, REPLICA_FROM_HOSTNAME, is_name_char, path_word},
    options::{OptionsError, Pool, RunOptions, Schedule},
    progress::Progress,
    report::{ClassConfig, RunConfig, RunEnd, RunReport},
    schedule::ClassScheduler,
    shutdown::Shutdown,
    watch::{Seen, ServerWatch},
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
/// `RESULTS_DIR/<run-id>/{requests,summary}.csv` for each run, and returns the reports in
/// order. There is one run unless the server changed during it (see [`ServerWatch`]): then
/// one per configuration the server had; none when `shutdown` resolved while the bodies
/// were being built (nothing was sent or written). Request failures are counted in the
/// reports, not returned as errors; `Err` means a run could not be set up or its files
/// could not be written.
pub async fn run(
    options: RunOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<Vec<RunReport>, RunError> {
    let mut shutdown = Shutdown::new(shutdown);
    let Some(setup) = Setup::new(options, &mut shutdown).await? else {
        return Ok(Vec::new());
    };
    let mut server = setup.first_look(&mut shutdown).await;
    let mut deadline = None;
    let mut reports = Vec::new();
    for number in 1.. {
        let outcome = setup
            .one_run(number, &mut server, &mut deadline, &mut shutdown)
            .await;
        let (report, changed) = match outcome {
            Ok(done) => done,
            Err(error) => {
                setup.stop_metrics().await;
                return Err(error);
            }
        };
        reports.push(report);
        match changed {
            Some(next) => {
                tracing::info!(
                    server = %next.describe(),
                    "the server changed: this run ends here and the next one measures it"
                );
                server = Some(next);
            }
            None => break,
        }
    }
    setup.stop_metrics().await;
    Ok(reports)
}

/// What every run of one invocation shares: built once, before the first clock starts.
struct Setup {
    options: RunOptions,
    plans: Vec<Arc<ClassPlan>>,
    class_paths: Vec<String>,
    urls: Vec<Url>,
    metrics: ClientMetrics,
    metrics_server: Option<MetricsServer>,
    /// The configuration every run reports (the options do not change between runs).
    config: RunConfig,
    replica: Option<String>,
    watch: ServerWatch,
}

impl Setup {
    /// Everything before the first run; `None` when `shutdown` came while the bodies were
    /// being built.
    async fn new(
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
        // Built off the event loop, so a signal is seen while they are: it stops the builders
        // at their next check (well under a millisecond away), and waiting for them means what
        // they had built is freed before this returns.
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
        let Ok(plans) = built.map_err(|_| RunError::Task("payload generation"))? else {
            tracing::info!("stopped while the bodies were being built: no run started");
            return Ok(None);
        };
        let plans: Vec<Arc<ClassPlan>> = plans.into_iter().map(Arc::new).collect();
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
        let replica = options.replica.as_deref().map(replica_name);
        let metrics = ClientMetrics::new()?;
        metrics
            .info
            .with_label_values(&[
                options.endpoint.as_str(),
                options.connection.as_str(),
                options.pool.as_str(),
                options.workload.schedule.as_str(),
                replica.as_deref().unwrap_or(""),
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
        let watch = ServerWatch::new(&options.target_url, options.server_check_interval)?;
        let config = run_config(&options, &plans);
        Ok(Some(Self {
            options,
            plans,
            class_paths,
            urls,
            metrics,
            metrics_server,
            config,
            replica,
            watch,
        }))
    }

    /// The server's settings before the first run, when it is followed and answers (not
    /// waited for once `shutdown` fired).
    async fn first_look(
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

    /// The run's HTTP clients, with the target's address looked up now: a server started
    /// again (the change that starts a new run) may have another address, as a recreated
    /// container does. A lookup that `shutdown` interrupts leaves the name to each
    /// connection (none will be made: the run ends as it starts).
    async fn clients(
        &self,
        shutdown: &mut Shutdown<impl Future<Output = ()>>,
    ) -> Result<Vec<Client>, RunError> {
        let options = &self.options;
        let resolved = tokio::select! {
            resolved = resolve_target(&options.target_url) => resolved,
            () = shutdown.fired() => Vec::new(),
        };
        let build = || {
            build_client(
                options.connection,
                options.workload.request_timeout,
                &options.target_url,
                &resolved,
            )
        };
        // POOL=per-class: one client (one pool) per class; shared: one client, cloned (a
        // clone is a handle to the same pool).
        Ok(match options.pool {
            Pool::PerClass => self
                .plans
                .iter()
                .map(|_| build())
                .collect::<Result<Vec<_>, _>>()?,
            Pool::Shared => {
                let client = build()?;
                self.plans.iter().map(|_| client.clone()).collect()
            }
        })
    }

    async fn stop_metrics(self) {
        if let Some(server) = self.metrics_server {
            server.stop().await;
        }
    }

    /// The directory name of run `number`: RUN_ID or a timestamp with the paths, connection
    /// and schedule; `-replica-<REPLICA>` when one of several load generators; `-<number>`
    /// from the second run of an explicit RUN_ID on (a timestamped id names a new second).
    fn run_id(&self, number: u32) -> (Option<String>, String) {
        let replica = |id: String| match &self.replica {
            Some(name) => format!("{id}-replica-{name}"),
            None => id,
        };
        let explicit = self.options.run_id.as_ref().map(|id| {
            let id = replica(id.clone());
            if number == 1 {
                id
            } else {
                format!("{id}-{number}")
            }
        });
        let default = replica(format!(
            "{}-{}-{}-{}",
            chrono::Utc::now().format("%Y%m%d-%H%M%S"),
            path_slug(&self.class_paths),
            self.options.connection.as_str(),
            self.options.workload.schedule.as_str(),
        ));
        (explicit, default)
    }

    /// One run: from its directory to its report. Returns the report and, when the server
    /// changed, what it reports now.
    async fn one_run(
        &self,
        number: u32,
        server: &mut Option<Health>,
        deadline: &mut Option<Instant>,
        shutdown: &mut Shutdown<impl Future<Output = ()>>,
    ) -> Result<(RunReport, Option<Health>), RunError> {
        let options = &self.options;
        let clients = self.clients(shutdown).await?;
        let (explicit_id, default_id) = self.run_id(number);
        let (run_id, dir) =
            create_run_dir(&options.results_dir, explicit_id.as_deref(), &default_id)?;
        let csv = RequestsCsv::create(&dir, &run_id, options.connection.as_str(), &self.plans)?;
        self.metrics.start_run(&run_id, server.as_ref());
        let config = self.config.clone();
        if !options.quiet {
            tracing::info!(
                run_id,
                target = %options.target_url,
                server = server.as_ref().map(Health::describe).unwrap_or_default(),
                connection = options.connection.as_str(),
                pool = options.pool.as_str(),
                schedule = options.workload.schedule.as_str(),
                duration_s = config.duration_s,
                classes = %describe_classes(&config),
                "starting"
            );
        }
        let server_at_start = server.clone();

        // The clock starts. DURATION counts from the first run's start.
        let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let run_start = Instant::now();
        let deadline = (!options.duration.is_zero())
            .then(|| *deadline.get_or_insert(run_start + options.duration));
        let stop = CancellationToken::new();
        let (records, collector) = Collector::new(
            &self.plans,
            csv,
            self.metrics.clone(),
            Progress::for_terminal(options.quiet),
            run_start.into_std(),
            stop.clone(),
        )
        .spawn();
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        let end = deadline.map(|deadline| deadline.saturating_duration_since(run_start));
        let cycle = LargeCycle {
            on: options.workload.large_on,
            off: options.workload.large_off,
        };
        for (index, ((plan, client), url)) in
            self.plans.iter().zip(clients).zip(&self.urls).enumerate()
        {
            let scheduler = ClassScheduler {
                index,
                plan: plan.clone(),
                engine: Engine {
                    client,
                    method: wire_method(plan.request.method),
                    url: url.clone(),
                    content_type: content_type(plan.request.method, plan.body),
                    check_answers: plan.checks_answers(options.workload.check_answers),
                    run_start,
                },
                records: records.clone(),
                in_flight: self
                    .metrics
                    .in_flight
                    .with_label_values(&[plan.class.name()]),
                cycle: plan
                    .cycled
                    .then(|| (cycle, self.metrics.large_uploads_enabled.clone())),
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

        // Stop scheduling at the end of DURATION, on shutdown, or when the server changed.
        let (ended_by, changed) = tokio::select! {
            () = shutdown.fired() => (RunEnd::Interrupted, None),
            () = sleep_until(deadline.unwrap_or(run_start)), if deadline.is_some() => {
                (RunEnd::Duration, None)
            }
            // The collector failed; its error is returned below.
            () = stop.cancelled() => (RunEnd::Duration, None),
            next = self.watch.changed(server) => (RunEnd::ServerChanged, Some(next)),
        };
        stop.cancel();
        tracker.close();

        // Drain, bounded.
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

        // Collect, summarize, write.
        let stats = tokio::task::spawn_blocking(move || collector.join())
            .await
            .map_err(|_| RunError::Task("collector"))?
            .map_err(|_| RunError::Task("collector"))??;
        let classes: Vec<_> = stats.iter().map(|class| class.summary()).collect();
        write_summary_csv(
            &dir,
            &run_id,
            &self.class_paths,
            options.connection.as_str(),
            options.workload.schedule.as_str(),
            &classes,
        )?;
        let report = RunReport {
            run_id,
            dir,
            started_at,
            elapsed_s,
            interrupted: ended_by == RunEnd::Interrupted,
            ended_by,
            // The server as this run measured it: what /healthz said at its start, or (the
            // server had not answered yet) the first answer during the run.
            server: server_at_start.or_else(|| server.clone()),
            config,
            classes,
        };
        Ok((report, changed))
    }
}

/// REPLICA as it names directories: `@hostname` becomes this machine's host name, with any
/// character a run id does not allow replaced by `_`.
fn replica_name(replica: &str) -> String {
    let name = if replica == REPLICA_FROM_HOSTNAME {
        nix::unistd::gethostname()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        replica.to_string()
    };
    let name: String = name
        .chars()
        .map(|c| if is_name_char(c) { c } else { '_' })
        .take(MAX_REPLICA_LEN)
        .collect();
    if name.is_empty() || name.starts_with('.') {
        format!("host{name}")
    } else {
        name
    }
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
                name: plan.class.clone(),
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
