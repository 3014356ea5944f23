//! `POST /ping`: the naive baseline.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::{error::LabError, parse::StudyBody, strategies::lab_response, worker::WorkerContext};

/// The framework's typed JSON extractor: actix buffers the whole body, then `serde_json`
/// builds an owned `HashMap<String, i64>`, all on the worker's event loop before the handler
/// even starts. While a 25 MB body is parsed (and its map freed), every other request on this
/// worker waits.
pub async fn ping(
    request: HttpRequest,
    worker: web::Data<WorkerContext>,
    body: web::Json<StudyBody>,
) -> HttpResponse {
    let StudyBody { name, data } = body.into_inner();
    let summary = crate::parse::summarize(data.values());
    drop(data);
    lab_response(&request, worker.index, name, summary, Default::default())
}

/// The extractor's configuration: the same body limit as the other endpoints, JSON content
/// type required, and every error mapped to the same [`LabError`] the others return.
pub fn json_config(limit_bytes: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit_bytes)
        .content_type_required(true)
        .error_handler(move |error, _request| {
            LabError::from_json_extractor(error, limit_bytes).into()
        })
}
