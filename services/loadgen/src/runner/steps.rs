//! One run, step by step (2 to 5 of [`super::run`]): [`Setup::start`],
//! [`Setup::schedule`], [`Run::drain`], [`Setup::write`], and [`Run`], what they hand on to
//! each other.

use std::{future::Future, path::PathBuf, sync::mpsc::Sender, thread::JoinHandle, time::Duration};

use lab_core::http::Health;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::{
    RunError,
    class::{Clients, LoadClass},
    names::run_ids,
    setup::Setup,
};
use crate::{
    collector::Collector,
    engine::resolve_target,
    files::{FilesError, RequestsCsv, create_run_dir, write_summary_csv},
    options::{RunOptions, Schedule},
    progress::Progress,
    record::Record,
    report::{RunConfig, RunEnd, RunReport},
    schedule::ClassScheduler,
    shutdown::Shutdown,
    stats::{ClassStats, ClassSummary},
    workload::LargeCycle,
};

/// A run under way: what its steps hand on to each other.
pub(super) struct Run {
    /// Its id: its directory's name.
    id: String,
    /// `RESULTS_DIR/<id>`.
    dir: PathBuf,
    /// Wall-clock time its first requests were due (UTC, RFC 3339).
    started_at: String,
    /// The instant every offset in its records counts from.
    start: Instant,
    /// When scheduling stops (DURATION from the first run's start); `None` = when stopped.
    deadline: Option<Instant>,
    /// What the server's /healthz said when it started.
    server: Option<Health>,
    /// The collector thread; it ends when every sender of records is gone.
    collector: JoinHandle<Result<Vec<ClassStats>, FilesError>>,
    /// Fires when scheduling must stop (also when the collector cannot write).
    stop: CancellationToken,
    /// Fires when requests still in flight must give up (the drain timed out).
    cancel: CancellationToken,
    /// The schedulers and their requests' tasks.
    tracker: TaskTracker,
}

impl Setup {
    /// Every run of the invocation: the first, then one more each time the server changed.
    pub async fn runs(
        &mut self,
        shutdown: &mut Shutdown<impl Future<Output = ()>>,
    ) -> Result<Vec<RunReport>, RunError> {
        let mut server = self.first_look(shutdown).await;
        let mut deadline = None;
        let mut reports = Vec::new();
        for number in 1.. {
            let (report, changed) = self
                .one_run(number, &mut server, &mut deadline, shutdown)
                .await?;
            reports.push(report);
            let Some(next) = changed else { break };
            tracing::info!(
                server = %next.describe(),
                "the server changed: this run ends here and the next one measures it"
            );
            server = Some(next);
        }
        Ok(reports)
    }

    /// One run: start, schedule, drain, write. Returns its report and, when the server
    /// changed, what it reports now.
    async fn one_run(
        &mut self,
        number: u32,
        server: &mut Option<Health>,
        deadline: &mut Option<Instant>,
        shutdown: &mut Shutdown<impl Future<Output = ()>>,
    ) -> Result<(RunReport, Option<Health>), RunError> {
        let (run, records) = self
            .start(number, server.as_ref(), deadline, shutdown)
            .await?;
        let (ended_by, changed) = self.schedule(&run, records, server, shutdown).await;
        run.drain(self.options.workload.drain_timeout).await;
        let report = self.write(run, ended_by, server.as_ref()).await?;
        Ok((report, changed))
    }

    /// Step 2: new clients, the run's directory and requests.csv, then the clock and the
    /// collector. `deadline` is set by the first run (DURATION counts from its start).
    /// Returns the run and the sender its records go to.
    async fn start(
        &mut self,
        number: u32,
        server: Option<&Health>,
        deadline: &mut Option<Instant>,
        shutdown: &mut Shutdown<impl Future<Output = ()>>,
    ) -> Result<(Run, Sender<Record>), RunError> {
        self.connect(shutdown).await?;
        let options = &self.options;
        let (explicit_id, default_id) =
            run_ids(options, self.replica.as_deref(), &self.paths(), number);
        let (id, dir) = create_run_dir(&options.results_dir, explicit_id.as_deref(), &default_id)?;
        let csv = RequestsCsv::create(&dir, &id, options.connection.as_str(), &self.plans())?;
        self.metrics.start_run(&id, server);
        if !options.quiet {
            announce(&id, options, server, &self.config);
        }

        // The clock starts.
        let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let start = Instant::now();
        let deadline = (!options.duration.is_zero())
            .then(|| *deadline.get_or_insert(start + options.duration));
        let stop = CancellationToken::new();
        let (records, collector) = Collector::new(
            &self.plans(),
            csv,
            self.metrics.clone(),
            Progress::for_terminal(options.quiet),
            start.into_std(),
            stop.clone(),
        )
        .spawn();
        let run = Run {
            id,
            dir,
            started_at,
            start,
            deadline,
            server: server.cloned(),
            collector,
            stop,
            cancel: CancellationToken::new(),
            tracker: TaskTracker::new(),
        };
        Ok((run, records))
    }

    /// Gives every class a new HTTP client, with the target's address looked up now: a
    /// server started again (the change that starts a new run) may have another address, as
    /// a recreated container does. A lookup that `shutdown` interrupts leaves the name to
    /// each connection (none will be made: the run ends as it starts).
    async fn connect(
        &mut self,
        shutdown: &mut Shutdown<impl Future<Output = ()>>,
    ) -> Result<(), RunError> {
        let resolved = tokio::select! {
            resolved = resolve_target(&self.options.target_url) => resolved,
            () = shutdown.fired() => Vec::new(),
        };
        let clients = Clients::new(&self.options, &resolved)?;
        for class in &mut self.classes {
            class.client = clients.for_class()?;
        }
        Ok(())
    }

    /// Step 3: one scheduler per class, until the end of DURATION, `shutdown`, the collector
    /// failing, or the server changing (`server` is what it reported last). Returns what
    /// ended scheduling and, when the server changed, what it reports now.
    async fn schedule(
        &self,
        run: &Run,
        records: Sender<Record>,
        server: &mut Option<Health>,
        shutdown: &mut Shutdown<impl Future<Output = ()>>,
    ) -> (RunEnd, Option<Health>) {
        let max_in_flight = self.options.workload.max_in_flight as usize;
        for (index, class) in self.classes.iter().enumerate() {
            let scheduler = self.scheduler(index, class, run, records.clone());
            match self.options.workload.schedule {
                Schedule::Open => run.tracker.spawn(scheduler.open(max_in_flight)),
                Schedule::Closed => run.tracker.spawn(scheduler.closed()),
            };
        }
        // The collector ends once the schedulers and their requests have dropped theirs.
        drop(records);
        tokio::select! {
            () = shutdown.fired() => (RunEnd::Interrupted, None),
            () = sleep_until(run.deadline.unwrap_or(run.start)), if run.deadline.is_some() => {
                (RunEnd::Duration, None)
            }
            // The collector failed; its error is returned by the write step.
            () = run.stop.cancelled() => (RunEnd::Duration, None),
            next = self.watch.changed(server) => (RunEnd::ServerChanged, Some(next)),
        }
    }

    /// The scheduler of the `index`-th class in `run`.
    fn scheduler(
        &self,
        index: usize,
        class: &LoadClass,
        run: &Run,
        records: Sender<Record>,
    ) -> ClassScheduler {
        let workload = &self.options.workload;
        let cycle = LargeCycle {
            on: workload.large_on,
            off: workload.large_off,
        };
        ClassScheduler {
            index,
            plan: class.plan.clone(),
            engine: class.engine(workload.check_answers, run.start),
            records,
            in_flight: self
                .metrics
                .in_flight
                .with_label_values(&[class.plan.class.name()]),
            cycle: class
                .plan
                .cycled
                .then(|| (cycle, self.metrics.large_uploads_enabled.clone())),
            end: run
                .deadline
                .map(|deadline| deadline.saturating_duration_since(run.start)),
            stop: run.stop.clone(),
            cancel: run.cancel.clone(),
            tracker: run.tracker.clone(),
        }
    }

    /// Step 5: waits for the collector to flush requests.csv, writes summary.csv and returns
    /// the run's report. The server it names is the one the run measured: what /healthz said
    /// at its start or, when the server had not answered yet, `server`, its first answer
    /// during the run.
    async fn write(
        &self,
        run: Run,
        ended_by: RunEnd,
        server: Option<&Health>,
    ) -> Result<RunReport, RunError> {
        let elapsed_s = run.start.elapsed().as_secs_f64();
        let collector = run.collector;
        let stats = tokio::task::spawn_blocking(move || collector.join())
            .await
            .map_err(|_| RunError::Task("collector"))?
            .map_err(|_| RunError::Task("collector"))??;
        let classes: Vec<ClassSummary> = stats.iter().map(ClassStats::summary).collect();
        write_summary_csv(
            &run.dir,
            &run.id,
            &self.paths(),
            self.options.connection.as_str(),
            self.options.workload.schedule.as_str(),
            &classes,
        )?;
        Ok(RunReport {
            run_id: run.id,
            dir: run.dir,
            started_at: run.started_at,
            elapsed_s,
            interrupted: ended_by == RunEnd::Interrupted,
            ended_by,
            server: run.server.or_else(|| server.cloned()),
            config: self.config.clone(),
            classes,
        })
    }
}

impl Run {
    /// Step 4: scheduling stops, and the requests in flight get `drain_timeout` to finish;
    /// those still running after it are cancelled (each records a `cancelled` error).
    pub async fn drain(&self, drain_timeout: Duration) {
        self.stop.cancel();
        self.tracker.close();
        if timeout(drain_timeout, self.tracker.wait()).await.is_err() {
            tracing::warn!(
                drain_timeout_s = drain_timeout.as_secs_f64(),
                "requests still in flight after the drain timeout: recording them as cancelled"
            );
            self.cancel.cancel();
            self.tracker.wait().await;
        }
    }
}

/// The start-up log line of run `id`.
fn announce(id: &str, options: &RunOptions, server: Option<&Health>, config: &RunConfig) {
    tracing::info!(
        run_id = id,
        target = %options.target_url,
        server = server.map(Health::describe).unwrap_or_default(),
        connection = options.connection.as_str(),
        pool = options.pool.as_str(),
        schedule = options.workload.schedule.as_str(),
        duration_s = config.duration_s,
        classes = %describe_classes(config),
        "starting"
    );
}

/// `small 0.001 MB every 0.1 s (POST /ping, json body), large 25 MB every 1 s (…)`.
fn describe_classes(config: &RunConfig) -> String {
    config
        .classes
        .iter()
        .map(|class| {
            format!(
                "{} {} MB every {} s ({}, {})",
                class.name,
                class.size_mb,
                class.interval_s,
                class.request,
                class.body_text()
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}
