//! `Expect: 100-continue`: a client announcing a large body asks first, and is told here.
//!
//! curl (for bodies over 1 MB) and many HTTP libraries send the request head with
//! `Expect: 100-continue` and wait for "100 Continue" before sending the body. The server's
//! chance to refuse a body it will not take is that moment: answering 413 then saves the
//! client the upload. This service runs before any handler, for every request that expects
//! 100-continue; it lets the request through (and actix sends "100 Continue") unless the
//! declared Content-Length is over MAX_BODY_MB.

use actix_http::{HttpMessage, Request};
use actix_service::{ServiceFactory, fn_service};
use actix_web::Error;

use prometheus::IntCounterVec;

use crate::{error::LabError, upload::body::declared_length, upload::guard::CutOff};

/// The expect service: 413 with the lab's JSON error body when the declared length is over
/// `limit_bytes` (counted as an upload cut off for being `too_large`), otherwise continue.
pub fn refuse_oversized_expect(
    limit_bytes: usize,
    cut_offs: IntCounterVec,
) -> impl ServiceFactory<Request, Config = (), Response = Request, Error = Error, InitError = ()> {
    fn_service(move |request: Request| {
        let declared = declared_length(request.headers());
        let cut_offs = cut_offs.clone();
        async move {
            if declared.is_some_and(|length| length > limit_bytes) {
                let cut_off = CutOff::TooLarge { limit_bytes };
                cut_offs.with_label_values(&[cut_off.reason()]).inc();
                return Err(LabError::BodyTooLarge { limit_bytes }.into());
            }
            Ok(request)
        }
    })
}
