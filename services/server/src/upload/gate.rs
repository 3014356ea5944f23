//! The checks every strategy request passes before its body is read, and the rules it is read
//! under, in one place so all five endpoints give the same answer to the same request:
//!
//! 1. Content-Type must be JSON (`application/json` or any `+json` type; charset allowed):
//!    wrong or missing → 415. A compressed body (Content-Encoding other than identity) → 415:
//!    the lab measures parsing, and only `web::Json` would decompress.
//! 2. A declared Content-Length over MAX_BODY_MB → 413, before reading a byte.
//! 3. A declared body that, with its parse, does not fit what is left of the memory budget
//!    right now → 503, before reading a byte (it would be cut off half-way otherwise).
//! 4. The body stream is replaced by a [`GuardedBody`]: it charges the request's budget
//!    [`Charge`] chunk by chunk and then for the parse, and cuts off a
//!    stalled or trickling upload. The charge is given back after the response is built.
//!    The handler finds the charge in the request's extensions ([`UploadHandle`]): `/stream`,
//!    whose key table may outgrow the body bytes charged, charges the difference.

use std::{
    pin::Pin,
    rc::Rc,
    sync::Arc,
    task::{Context, Poll},
};

use actix_web::{
    Error, HttpMessage, HttpRequest,
    body::{BodySize, BoxBody, MessageBody},
    dev::{Payload, ServiceRequest, ServiceResponse},
    http::header,
    middleware::Next,
    mime,
    web::{self, Bytes},
};

use crate::{
    connection::ConnectionControl,
    error::LabError,
    memory::{RETURN_MEMORY_AFTER_BYTES, give_back_freed_memory},
    upload::Uploads,
    upload::body::declared_length,
    upload::budget::Charge,
    upload::guard::{BodyShape, GuardedBody, ParseCost, UnreadBody, UploadGuard, UploadHandle},
};

/// An answer body that keeps, until the answer has been written (actix drops the answer body
/// only then), the unread rest of a cut-off request body, or the request's budget charge while
/// a streamed answer still holds what it echoes (see [`crate::answer`]).
struct AnswerHolding {
    body: BoxBody,
    #[allow(dead_code)] // held, never read
    rest: Option<Payload>,
    charge: Option<Arc<Charge>>,
}

impl Drop for AnswerHolding {
    fn drop(&mut self) {
        if let Some(charge) = self.charge.take() {
            give_back_charge(charge);
        }
    }
}

impl MessageBody for AnswerHolding {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.body).poll_next(cx)
    }
}

/// Route middleware for the strategy endpoints (see the module docs).
pub async fn json_upload_gate(
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let uploads = request
        .app_data::<web::Data<Uploads>>()
        .expect("Uploads is registered in every worker's App")
        .clone();
    if let Err(error) = require_plain_json(request.request()) {
        return Ok(request.error_response(error));
    }
    let limit = uploads.max_body_bytes();
    let declared = declared_length(request.headers());
    if declared.is_some_and(|length| length > limit) {
        return Ok(request.error_response(LabError::BodyTooLarge { limit_bytes: limit }));
    }
    // Each strategy's resource carries what its parse costs (`crate::strategies::resource`).
    let parse_cost = *request
        .app_data::<ParseCost>()
        .expect("every strategy resource names its parse cost");
    let budget_bytes = uploads.budget.capacity();
    let free = budget_bytes.saturating_sub(uploads.budget.in_use());
    // Before the body arrives only its length is known: assume the study's shape, ~20 bytes
    // a pair, to refuse early what clearly will not fit (the exact charge comes at its end).
    let likely_cost = |length: usize| {
        let pairs = length / 20;
        parse_cost(&BodyShape {
            bytes: length,
            colons: pairs,
            backslashes: 0,
        })
    };
    if declared.is_some_and(|length| length.saturating_add(likely_cost(length)) > free) {
        return Ok(request.error_response(LabError::ServerBusy { budget_bytes }));
    }
    let charge = Arc::new(uploads.budget.open_charge());
    let unread = UnreadBody::default();
    request.extensions_mut().insert(UploadHandle {
        charge: Arc::clone(&charge),
        unread: Rc::clone(&unread),
    });
    let body = GuardedBody::new(
        request.take_payload(),
        UploadGuard {
            rules: uploads.rules,
            charge: Arc::clone(&charge),
            budget_bytes,
            parse_cost,
            cut_offs: uploads.cut_offs.clone(),
            unread: Rc::clone(&unread),
            stop: Some(uploads.stop.clone()),
            connection: request.conn_data::<ConnectionControl>().cloned(),
        },
    );
    request.set_payload(Payload::from(
        Box::pin(body) as actix_http::BoxedPayloadStream
    ));
    let response = next.call(request).await?.map_into_boxed_body();
    let streamed = matches!(response.response().body().size(), BodySize::Stream);
    let rest = unread.take();
    if !streamed && rest.is_none() {
        give_back_charge(charge);
        return Ok(response);
    }
    // Kept with the answer until it is written: see [`UnreadBody`] and [`AnswerHolding`].
    let charge = if streamed {
        Some(charge)
    } else {
        give_back_charge(charge);
        None
    };
    Ok(response.map_body(|_, body| BoxBody::new(AnswerHolding { body, rest, charge })))
}

/// Ends a request's charge, and hands the freed memory to the OS when it was large.
fn give_back_charge(charge: Arc<Charge>) {
    let charged = charge.bytes();
    drop(charge);
    if charged >= RETURN_MEMORY_AFTER_BYTES {
        give_back_freed_memory();
    }
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
