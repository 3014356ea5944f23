//! The collector: the one place records go. It runs on its own OS thread (not on the runtime
//! that times requests), and for every record it
//! 1. updates the class's [`ClassStats`] (HdrHistogram and counters),
//! 2. appends a row to requests.csv,
//! 3. updates the live Prometheus metrics,
//! 4. logs the first error of each kind per class, with its full message,
//!
//! and every [`TICK`] it flushes the CSV and redraws the progress line.
//!
//! It takes the records every [`DRAIN_EVERY`] rather than waiting on the channel: a sender
//! whose receiver is blocked in `recv` must wake it (a futex syscall, often two when the woken
//! thread then meets the channel's lock), and the woken collector takes the other core right
//! while the server answers the next request. Sending to a collector that is asleep is a push
//! onto a list; nothing on the runtime thread waits for it.

use std::{
    sync::Arc,
    sync::mpsc::{Receiver, Sender, TryRecvError, channel},
    thread::JoinHandle,
    time::{Duration, Instant},
};

use prometheus::Histogram;
use tokio_util::sync::CancellationToken;

use crate::{
    files::{FilesError, RequestsCsv},
    metrics::ClientMetrics,
    progress::Progress,
    record::{Outcome, Record},
    stats::ClassStats,
    workload::ClassPlan,
};

/// How often buffered CSV rows reach the file and the progress line is redrawn. The lab
/// promises "at least every second"; half a second keeps a killed run's loss small.
pub const TICK: Duration = Duration::from_millis(500);

/// How often the collector takes the records sent since its last look. Short next to
/// [`TICK`] and to a scrape interval, long next to a request (at 20,000 requests a second, a
/// batch of 200 instead of 200 wake-ups).
pub const DRAIN_EVERY: Duration = Duration::from_millis(10);

/// Everything the collector owns.
pub struct Collector {
    stats: Vec<ClassStats>,
    csv: RequestsCsv,
    metrics: ClientMetrics,
    endpoints: Vec<String>,
    durations: Vec<Histogram>,
    progress: Option<Progress>,
    run_start: Instant,
    on_failure: CancellationToken,
}

impl Collector {
    /// A collector for the run's `classes`, in its order ([`Record::class`] indexes them). If
    /// it cannot write requests.csv (disk full…) it cancels `on_failure`, so the run stops
    /// instead of going on unrecorded.
    pub fn new(
        classes: &[Arc<ClassPlan>],
        csv: RequestsCsv,
        metrics: ClientMetrics,
        progress: Option<Progress>,
        run_start: Instant,
        on_failure: CancellationToken,
    ) -> Self {
        let durations = classes
            .iter()
            .map(|plan| {
                metrics
                    .request_duration
                    .with_label_values(&[plan.class.name(), plan.request.path.as_str()])
            })
            .collect();
        Collector {
            stats: classes
                .iter()
                .map(|plan| ClassStats::new(plan.class.clone()))
                .collect(),
            csv,
            metrics,
            endpoints: classes
                .iter()
                .map(|plan| plan.request.path.clone())
                .collect(),
            durations,
            progress,
            run_start,
            on_failure,
        }
    }

    /// Starts the collector thread. Records go into the returned sender; when every clone of
    /// it is dropped the thread flushes, finishes, and its handle yields the statistics.
    pub fn spawn(
        self,
    ) -> (
        Sender<Record>,
        JoinHandle<Result<Vec<ClassStats>, FilesError>>,
    ) {
        let (sender, receiver) = channel();
        let handle = std::thread::Builder::new()
            .name("lab-loadgen-collector".into())
            .spawn(move || {
                let on_failure = self.on_failure.clone();
                let result = self.run(receiver);
                if result.is_err() {
                    on_failure.cancel();
                }
                result
            })
            .expect("the OS can start one thread");
        (sender, handle)
    }

    fn run(mut self, records: Receiver<Record>) -> Result<Vec<ClassStats>, FilesError> {
        let mut next_tick = Instant::now() + TICK;
        loop {
            std::thread::sleep(DRAIN_EVERY);
            let open = loop {
                match records.try_recv() {
                    Ok(record) => self.add(&record)?,
                    Err(TryRecvError::Empty) => break true,
                    Err(TryRecvError::Disconnected) => break false,
                }
            };
            if !open {
                break;
            }
            if Instant::now() >= next_tick {
                self.tick()?;
                next_tick = Instant::now() + TICK;
            }
        }
        self.csv.flush()?;
        if let Some(progress) = self.progress.take() {
            progress.finish();
        }
        Ok(self.stats)
    }

    fn add(&mut self, record: &Record) -> Result<(), FilesError> {
        if let Outcome::Failed(error) = &record.outcome {
            let stats = &self.stats[record.class];
            if !stats.errors_by_kind.contains_key(&error.kind()) {
                // The CSV keeps only the kind; say once per class and kind what it means.
                let log = || {
                    tracing::warn!(
                        class = %stats.class,
                        request = record.sequence,
                        "first {} error: {error}",
                        error.kind()
                    )
                };
                match &self.progress {
                    Some(progress) => progress.suspend(log),
                    None => log(),
                }
            }
        }
        self.stats[record.class].add(record);
        self.csv.write(record)?;
        let class = self.stats[record.class].class.name();
        if let (Outcome::Ok, Some(latency)) = (&record.outcome, record.latency()) {
            self.durations[record.class].observe(latency.as_secs_f64());
        }
        self.metrics
            .requests_total
            .with_label_values(&[class, &self.endpoints[record.class], record.outcome.label()])
            .inc();
        Ok(())
    }

    fn tick(&mut self) -> Result<(), FilesError> {
        self.csv.flush()?;
        if let Some(progress) = &self.progress {
            progress.update(self.run_start.elapsed(), &self.stats);
        }
        Ok(())
    }
}
