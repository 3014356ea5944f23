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
/// event loop between chunks. The limits are not checked here: the gate has refused a declared
/// length over `limit`, and the [`GuardedBody`](crate::upload::guard::GuardedBody) it put in front of
/// the payload stops a body as soon as it passes `limit` (or the budget, or its deadline);
/// those stops arrive here as the stream's error.
pub async fn read_body(
    request: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Vec<u8>, LabError> {
    let declared = declared_length(request.headers());
    // One allocation of the declared size (never more than the limit) instead of doubling.
    let mut body = Vec::with_capacity(declared.unwrap_or(0).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|error| LabError::from_payload(error, limit))?;
        body.extend_from_slice(&chunk);
    }
    request.extensions_mut().insert(BodyBytes(body.len()));
    Ok(body)
}
