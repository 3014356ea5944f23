//! When requests start: one scheduler task per class.
//!
//! - [`ClassScheduler::open`]: request k of a class is due at `k × interval` after the run
//!   start, whatever happened to the earlier ones. Each request runs in its own task, so a
//!   slow response never delays the next start, and its latency is counted from the due
//!   time. MAX_IN_FLIGHT bounds the tasks: a due request waits for a free slot (and its
//!   `sent_ms` shows how late it went out), but only until the next request falls due; then
//!   it is dropped and counted as skipped, never silently lost.
//! - [`ClassScheduler::closed`]: the study's loop: send, wait for the response, sleep the
//!   interval (none if it is 0: back-to-back, like `wrk -c1`), repeat. While the server
//!   stalls, this client stops asking, so it never measures the requests a real user would
//!   have sent meanwhile (coordinated omission).
//!
//! Both stop scheduling when `stop` fires (end of DURATION or Ctrl-C); requests in flight
//! finish or are cancelled by the runner's drain.

use std::{sync::Arc, sync::mpsc::Sender, time::Duration};

use prometheus::{Gauge, IntGauge};
use tokio::{
    sync::Semaphore,
    time::{Instant, sleep_until},
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    engine::{Engine, Request},
    record::Record,
    workload::{ClassPlan, LargeCycle},
};

/// Everything one class's scheduler needs.
pub struct ClassScheduler {
    /// Index of the class in the run's class list.
    pub index: usize,
    /// What the class sends and how often.
    pub plan: Arc<ClassPlan>,
    /// The class's HTTP engine.
    pub engine: Engine,
    /// Where finished records go (the collector).
    pub records: Sender<Record>,
    /// lab_client_requests_in_flight{class}.
    pub in_flight: IntGauge,
    /// The on/off cycle and its gauge, for the large class.
    pub cycle: Option<(LargeCycle, Gauge)>,
    /// Offset after which nothing more is scheduled (DURATION); `None` = until `stop`.
    pub end: Option<Duration>,
    /// Fires when scheduling must stop.
    pub stop: CancellationToken,
    /// Fires when requests still in flight must give up (drain timeout).
    pub cancel: CancellationToken,
    /// Tracks request tasks so the runner can wait for them.
    pub tracker: TaskTracker,
}

impl ClassScheduler {
    /// The fixed timetable (see the module docs).
    pub async fn open(self, max_in_flight: usize) {
        let slots = Arc::new(Semaphore::new(max_in_flight));
        let start = self.engine.run_start;
        let mut sequence = 0;
        for tick in 0u64.. {
            let due = self.due(tick);
            if self.end.is_some_and(|end| due >= end) {
                break;
            }
            // Wake a little early: the request task waits out the rest precisely.
            let early = (start + due)
                .checked_sub(COARSE_WAKE_MARGIN)
                .unwrap_or(start);
            tokio::select! {
                biased;
                () = self.stop.cancelled() => break,
                () = sleep_until(early) => {}
            }
            if !self.cycle_allows(due) {
                continue;
            }
            sequence += 1;
            let next_due = start + self.due(tick + 1);
            let permit = tokio::select! {
                biased;
                permit = slots.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
                () = sleep_until(next_due) => {
                    self.emit(Record::skipped(self.index, sequence, due));
                    continue;
                }
                () = self.stop.cancelled() => {
                    self.emit(Record::skipped(self.index, sequence, due));
                    break;
                }
            };
            let request = self.request(sequence, due);
            let engine = self.engine.clone();
            let records = self.records.clone();
            let in_flight = self.in_flight.clone();
            let cancel = self.cancel.clone();
            self.tracker.spawn(async move {
                // Built while there is time to spare, so the due instant finds it ready.
                let request = engine.prepare(request);
                sleep_until_precisely(start + due).await;
                in_flight.inc();
                let record = engine.send(request, &cancel).await;
                in_flight.dec();
                drop(permit);
                let _ = records.send(record);
            });
        }
    }

    /// The study's closed loop (see the module docs).
    pub async fn closed(self) {
        let start = self.engine.run_start;
        let mut sequence = 0;
        loop {
            let now = self.engine.now();
            if self.stop.is_cancelled() || self.end.is_some_and(|end| now >= end) {
                break;
            }
            if !self.cycle_allows(now) {
                let (cycle, _) = self.cycle.as_ref().expect("only a cycle disallows");
                tokio::select! {
                    () = self.stop.cancelled() => break,
                    () = sleep_until(start + cycle.next_on(now)) => continue,
                }
            }
            sequence += 1;
            let mut request = self.engine.prepare(self.request(sequence, now));
            // Due the moment it is ready to go: the loop times the exchange, not its own
            // preparation of the next request.
            request.scheduled = self.engine.now();
            self.in_flight.inc();
            let record = self.engine.send(request, &self.cancel).await;
            self.in_flight.dec();
            self.emit(record);
            if self.plan.interval.is_zero() {
                continue; // back-to-back, like `wrk -c1`
            }
            tokio::select! {
                () = self.stop.cancelled() => break,
                () = tokio::time::sleep(self.plan.interval) => {}
            }
        }
    }

    /// Offset of the `tick`-th slot of the timetable.
    fn due(&self, tick: u64) -> Duration {
        let nanos = self
            .plan
            .interval
            .as_nanos()
            .saturating_mul(u128::from(tick));
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// Whether the large class's cycle lets a request due `at` go (always true for other
    /// classes); keeps lab_client_large_uploads_enabled in step.
    fn cycle_allows(&self, at: Duration) -> bool {
        match &self.cycle {
            None => true,
            Some((cycle, gauge)) => {
                let on = cycle.is_on(at);
                gauge.set(if on { 1.0 } else { 0.0 });
                on
            }
        }
    }

    fn request(&self, sequence: u64, scheduled: Duration) -> Request {
        Request {
            class: self.index,
            sequence,
            request_id: self.plan.request_id(sequence),
            scheduled,
            payload: self.plan.payload(sequence),
        }
    }

    fn emit(&self, record: Record) {
        // The collector only goes away after every scheduler has finished.
        let _ = self.records.send(record);
    }
}

/// How early tokio's timer wakes the scheduler before a due time; the rest of the wait is an
/// OS sleep on a blocking thread.
pub const COARSE_WAKE_MARGIN: Duration = Duration::from_millis(2);

/// How early the OS sleep ends; the last stretch is spent polling the clock on the runtime
/// thread (yielding to other tasks in between), because waking a parked runtime thread from
/// another thread takes about this long on a busy machine.
pub const SPIN_MARGIN: Duration = Duration::from_micros(200);

/// Waits until `deadline` to within a few µs on an idle machine.
///
/// Tokio's timer counts in whole milliseconds and rounds deadlines up, so a plain
/// `sleep_until` wakes 0-2 ms late. With an open schedule that lateness would land in every
/// latency (they count from the due time): for an unloaded small request of ~0.1 ms that is
/// an error of several hundred percent. So the wait has three stages:
/// 1. a tokio sleep until [`COARSE_WAKE_MARGIN`] before the deadline (cheap, imprecise);
/// 2. the OS's precise `nanosleep` on tokio's blocking pool (never on a runtime thread) until
///    [`SPIN_MARGIN`] before it;
/// 3. polling the clock, yielding to other tasks between polls, until the deadline.
///
/// Stage 3 costs at most [`SPIN_MARGIN`] of CPU per request: 2 ms/s at the study's 10
/// small requests per second.
pub async fn sleep_until_precisely(deadline: Instant) {
    if let Some(coarse) = deadline.checked_sub(COARSE_WAKE_MARGIN)
        && Instant::now() < coarse
    {
        sleep_until(coarse).await;
    }
    if let Some(spin_from) = deadline.checked_sub(SPIN_MARGIN) {
        let remaining = spin_from.saturating_duration_since(Instant::now());
        if !remaining.is_zero() {
            let _ = tokio::task::spawn_blocking(move || std::thread::sleep(remaining)).await;
        }
    }
    while Instant::now() < deadline {
        tokio::task::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn precise_sleep_never_wakes_before_its_deadline() {
        for micros in [0, 300, 1_500, 2_500, 4_000] {
            let deadline = Instant::now() + Duration::from_micros(micros);
            sleep_until_precisely(deadline).await;
            assert!(Instant::now() >= deadline, "woke early for {micros} µs");
        }
    }
}
