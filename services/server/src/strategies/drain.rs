//! `POST /drain`: the floor every strategy is measured against.

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use lab_core::{Phase, Strategy};

use crate::{
    distinct::Summary,
    error::LabError,
    state::AppState,
    strategies::{Profile, lab_response},
    upload::body::BodyBytes,
    worker::WorkerContext,
};

/// Reads the body chunk by chunk, at the pace every strategy reads it (the same gate, the same
/// upload rules), and throws each chunk away: no parse, no count, nothing kept. What a 25 MB
/// upload costs before any strategy does anything with it: the client's sending, the kernel's
/// copy, the loop's reads. A strategy's large median over this one's, in the same run, is what
/// its own work costs. Its answer has the study's shape with `count` and `maxval` 0 and an
/// empty `name` (nothing was read to know them), and `profiling` gives `read_body`.
pub async fn drain(
    request: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
    worker: web::Data<WorkerContext>,
) -> Result<HttpResponse, LabError> {
    let mut profile = Profile::new(Strategy::Drain, state.metrics.phase_duration.clone());
    let reading = std::time::Instant::now();
    let mut received = 0;
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|error| LabError::from_payload(error, state.uploads.max_body_bytes()))?;
        received += chunk.len();
    }
    request.extensions_mut().insert(BodyBytes(received));
    profile.record(Phase::ReadBody, reading.elapsed());
    Ok(lab_response(
        &request,
        worker.index,
        String::new(),
        Summary {
            count: 0,
            maxval: 0,
        },
        profile.into_phases(),
    ))
}
