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
/// borrowed from the body, a fast seeded hasher, a map sized once. It still blocks the loop, only for
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
