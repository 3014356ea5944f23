//! Which worker (event loop) is this, and how busy is its loop.
//!
//! actix runs WORKERS threads, each with its own single-threaded runtime, and calls the app
//! factory once on each of them. The first call on a thread takes the next index from a
//! shared counter, remembers it in a thread-local (so the connection counter, which runs on
//! the same thread, can read it), and spawns that worker's lag probe on its own loop.
//!
//! Should a worker thread die (a panic in a handler), actix starts a replacement on a new
//! thread, which takes the next index: WORKERS and beyond. That never happens in the tests,
//! and a new index makes it visible on the dashboard rather than hiding it.

use std::{
    cell::Cell,
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use actix_web::dev::Extensions;
use prometheus::Histogram;

use crate::metrics::Metrics;

thread_local! {
    /// The index of the worker running on this thread, once the app factory has run here.
    static WORKER_INDEX: Cell<Option<usize>> = const { Cell::new(None) };
}

/// The worker a request runs on, stored in each worker's `App` as `web::Data`.
#[derive(Debug, Clone, Copy)]
pub struct WorkerContext {
    /// 0..WORKERS, in the order the workers started.
    pub index: usize,
}

/// Called by the app factory on a worker thread: returns this worker's index. On the first
/// call on a thread it takes the next index and starts the worker's lag probe.
pub fn enter_worker(next_index: &AtomicUsize, metrics: &Metrics, probe_every: Duration) -> usize {
    WORKER_INDEX.with(|cell| {
        if let Some(index) = cell.get() {
            return index;
        }
        let index = next_index.fetch_add(1, Ordering::Relaxed);
        cell.set(Some(index));
        actix_web::rt::spawn(probe_event_loop_lag(
            metrics.event_loop_lag_for(index),
            probe_every,
        ));
        index
    })
}

/// The index of the worker running on this thread (`None` outside a worker).
pub fn current_worker() -> Option<usize> {
    WORKER_INDEX.with(Cell::get)
}

/// The `on_connect` hook: counts each accepted TCP connection for the worker that got it.
pub fn connection_counter<Io>(metrics: Metrics) -> impl Fn(&Io, &mut Extensions) + 'static {
    move |_connection, _extensions| {
        if let Some(index) = current_worker() {
            metrics
                .connections_total
                .with_label_values(&[&index.to_string()])
                .inc();
        }
    }
}

/// Sleeps `period` again and again on this worker's loop and records how much later than
/// asked each sleep ended. A free loop wakes within about a millisecond (tokio's timer
/// resolution); a loop busy parsing 25 MB wakes only when the parse is done, so the lag
/// equals the time the loop was blocked. Runs until the worker's runtime stops.
pub async fn probe_event_loop_lag(lag: Histogram, period: Duration) {
    loop {
        let asked_at = Instant::now();
        actix_web::rt::time::sleep(period).await;
        let late_by = asked_at.elapsed().saturating_sub(period);
        lag.observe(late_by.as_secs_f64());
    }
}
