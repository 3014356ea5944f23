//! `POST /offload`: same work, another thread.

use std::time::Instant;

use actix_web::{HttpRequest, HttpResponse, web};
use lab_core::{Phase, Strategy};

use crate::{
    error::LabError,
    parse::parse_owned,
    state::AppState,
    strategies::{lab_response, parse_compute_drop, read_profiled},
    worker::WorkerContext,
};

/// Reads like `/pong`, then moves the very same parse, count and drop to the worker's blocking
/// thread pool with `web::block`; the event loop only awaits the result and keeps serving
/// other requests meanwhile. Rust has no GIL, so the threads really run in parallel: the fix
/// the study could not get from threads in Python. `blocking_wait` shows time spent waiting
/// for a free pool thread (BLOCKING_THREADS per worker). The pool threads run at a lower
/// priority than the loop (OFFLOAD_NICE, see [`crate::priority`]), so the loop wins the CPU
/// whenever both want it.
///
/// Only bodies of at least OFFLOAD_MIN_KB go to the pool: a 1 KB body parses in microseconds
/// on the loop, while sending it to the pool would make it wait for a thread behind 25 MB
/// parses (with OFFLOAD_MIN_KB=0 every body goes, and the small requests' `blocking_wait`
/// shows the queue that moved from the loop to the pool).
pub async fn offload(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    worker: web::Data<WorkerContext>,
) -> Result<HttpResponse, LabError> {
    let (mut profile, body) = read_profiled(Strategy::Offload, &request, payload, &state).await?;
    let (outcome, profile) = if body.len() < state.offload_min_bytes {
        let outcome = parse_compute_drop(&mut profile, &body, parse_owned);
        (outcome, profile)
    } else {
        let queued = Instant::now();
        let nice = state.offload_nice;
        web::block(move || {
            crate::priority::lower_this_thread(nice);
            profile.record(Phase::BlockingWait, queued.elapsed());
            let outcome = parse_compute_drop(&mut profile, &body, parse_owned);
            drop(body);
            (outcome, profile)
        })
        .await
        .map_err(|error| LabError::Internal(error.to_string()))?
    };
    let (name, summary) = outcome?;
    Ok(lab_response(
        &request,
        worker.index,
        name,
        summary,
        profile.into_phases(),
    ))
}
