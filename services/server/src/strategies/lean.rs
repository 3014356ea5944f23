//! `POST /lean`: less work, same place.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::{
    error::LabError,
    parse::parse_lean,
    state::AppState,
    strategies::{lab_response, parse_compute_drop, read_profiled},
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
    let (mut profile, body) = read_profiled("lean", &request, payload, &state).await?;
    let (name, summary) = parse_compute_drop(&mut profile, &body, parse_lean)?;
    Ok(lab_response(
        &request,
        worker.index,
        name,
        summary,
        profile.into_phases(),
    ))
}
