//! The checks every strategy request passes before its body is read, in one place so all four
//! endpoints give the same answer to the same bad request:
//!
//! 1. Content-Type must be JSON (`application/json` or any `+json` type; charset allowed):
//!    wrong or missing → 415. A compressed body (Content-Encoding other than identity) → 415:
//!    the lab measures parsing, and only `web::Json` would decompress.
//! 2. A declared Content-Length over MAX_BODY_MB → 413, before reading a byte.
//! 3. The body's size is reserved from the in-flight [`BodyBudget`](crate::budget::BodyBudget)
//!    (MAX_BODY_MB when the length is unknown) → 503 when spent; given back after the response.

use actix_web::{
    Error, HttpMessage, HttpRequest,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::header,
    middleware::Next,
    mime, web,
};

use crate::{body::declared_length, error::LabError, state::AppState};

/// Route middleware for the four strategy endpoints (see the module docs).
pub async fn json_upload_gate(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let state = request
        .app_data::<web::Data<AppState>>()
        .expect("AppState is registered in every worker's App")
        .clone();
    if let Err(error) = require_plain_json(request.request()) {
        return Ok(request.error_response(error));
    }
    let limit = state.max_body_bytes;
    let declared = declared_length(request.headers());
    if declared.is_some_and(|length| length > limit) {
        return Ok(request.error_response(LabError::BodyTooLarge { limit_bytes: limit }));
    }
    let Some(reservation) = state.budget.try_reserve(declared.unwrap_or(limit)) else {
        let budget_bytes = state.budget.capacity();
        return Ok(request.error_response(LabError::ServerBusy { budget_bytes }));
    };
    let response = next.call(request).await?;
    drop(reservation);
    Ok(response.map_into_boxed_body())
}

/// Accepts `application/json` and `+json` types (the same rule as actix's `JsonConfig`), and
/// only uncompressed bodies.
pub fn require_plain_json(request: &HttpRequest) -> Result<(), LabError> {
    let is_json = matches!(
        request.mime_type(),
        Ok(Some(mime)) if mime.subtype() == mime::JSON || mime.suffix() == Some(mime::JSON)
    );
    if !is_json {
        return Err(LabError::UnsupportedMediaType(
            "Content-Type must be application/json (or another +json type)".into(),
        ));
    }
    let compressed = request
        .headers()
        .get(header::CONTENT_ENCODING)
        .is_some_and(|encoding| !encoding.as_bytes().eq_ignore_ascii_case(b"identity"));
    if compressed {
        return Err(LabError::UnsupportedMediaType(
            "compressed bodies (Content-Encoding) are not accepted".into(),
        ));
    }
    Ok(())
}
