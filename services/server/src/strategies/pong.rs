//! `POST /pong`: the study's hand-rolled version, with phase timings.

use actix_web::{HttpRequest, HttpResponse, web};
use lab_core::Strategy;

use crate::{
    error::LabError,
    parse::parse_owned,
    state::AppState,
    strategies::{on_the_loop, parse_compute_drop},
    worker::WorkerContext,
};

/// Reads the payload stream chunk by chunk (the loop stays free while bytes arrive), then
/// parses, counts and frees the map on the event loop, timing each phase. The profile shows
/// where a 25 MB request's time goes; the parse and the drop block the loop.
pub async fn pong(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    worker: web::Data<WorkerContext>,
) -> Result<HttpResponse, LabError> {
    on_the_loop(
        Strategy::Pong,
        request,
        payload,
        &state,
        &worker,
        |profile, body| parse_compute_drop(profile, body, parse_owned),
    )
    .await
}
