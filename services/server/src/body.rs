//! Reading a request body under a limit, chunk by chunk, without trusting the client.

use actix_web::{HttpMessage, HttpRequest, http::header, web};
use futures_util::StreamExt;

use crate::error::LabError;

/// Body bytes a handler actually read, left in the request's extensions for the metrics
/// middleware (which records `size_class` and the body-size histogram from it).
#[derive(Debug, Clone, Copy)]
pub struct BodyBytes(pub usize);

/// The Content-Length the client declared, if any (and parsable).
pub fn declared_length(headers: &header::HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Reads the whole body of `request` from `payload`, one chunk at a time, yielding to the
/// event loop between chunks. Refuses a declared length over `limit` before reading a byte,
/// and stops a body without (or lying about) its length as soon as it passes `limit`.
pub async fn read_body(
    request: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Vec<u8>, LabError> {
    let declared = declared_length(request.headers());
    if declared.is_some_and(|length| length > limit) {
        return Err(LabError::BodyTooLarge { limit_bytes: limit });
    }
    // One allocation of the declared size (bounded by the limit) instead of repeated doubling.
    let mut body = Vec::with_capacity(declared.unwrap_or(0));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|error| LabError::from_payload(error, limit))?;
        if body.len() + chunk.len() > limit {
            return Err(LabError::BodyTooLarge { limit_bytes: limit });
        }
        body.extend_from_slice(&chunk);
    }
    request.extensions_mut().insert(BodyBytes(body.len()));
    Ok(body)
}
