//! `POST /lean`: less work, same place.

use actix_web::{HttpRequest, HttpResponse, web};
use lab_core::Strategy;

use crate::{
    error::LabError,
    parse::parse_lean,
    state::AppState,
    strategies::{on_the_loop, parse_compute_drop},
    worker::WorkerContext,
};

/// Reads like `/pong`, then parses on the event loop with the cheapest correct parser: keys
/// borrowed from the body, no hash map (the pairs in a flat vector, in document order, each with
/// its key's seeded hash; repeats resolved by sorting them). It still blocks the loop, only for
/// less time: how far making the work smaller goes without moving it.
pub async fn lean(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    worker: web::Data<WorkerContext>,
) -> Result<HttpResponse, LabError> {
    on_the_loop(
        Strategy::Lean,
        request,
        payload,
        &state,
        &worker,
        |profile, body| parse_compute_drop(profile, body, parse_lean),
    )
    .await
}
