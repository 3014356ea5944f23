//! The app-wide middleware that measures every request and labels its response.
//!
//! It starts the server-side clock when the worker gets to the request (headers parsed, body
//! not yet read), so `elapsed_server` and the request-duration histogram include reading and
//! parsing the body, but not any time the request waited for a busy event loop before that.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Instant,
};

use actix_web::{
    Error, HttpMessage, HttpRequest,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderName, HeaderValue},
    middleware::Next,
    web,
};
use lab_core::{
    Strategy,
    metrics::{OTHER_ENDPOINT, size_class},
};
use prometheus::IntGauge;

use crate::{
    state::AppState,
    upload::body::{BodyBytes, declared_length},
    worker::WorkerContext,
};

/// Echoed from request to response when the client sends it.
pub const REQUEST_ID_HEADER: HeaderName =
    HeaderName::from_static(lab_core::http::REQUEST_ID_HEADER);
/// The index of the worker that served the request.
pub const WORKER_ID_HEADER: HeaderName = HeaderName::from_static(lab_core::http::WORKER_ID_HEADER);

/// When the worker got to this request; kept in the request's extensions.
#[derive(Debug, Clone, Copy)]
pub struct RequestStart(pub Instant);

/// When the worker got to `request` (now, if the middleware did not run).
pub fn request_started(request: &HttpRequest) -> Instant {
    request
        .extensions()
        .get::<RequestStart>()
        .map_or_else(Instant::now, |start| start.0)
}

/// The `endpoint` label of a path: a strategy name, or `other`. Never the raw path.
pub fn endpoint_label(path: &str) -> &'static str {
    Strategy::from_path(path).map_or(OTHER_ENDPOINT, Strategy::label)
}

/// Keeps `http_server_active_requests` right even if the request future is dropped, and
/// counts the requests that were dropped before they were answered (by a shutdown that ran
/// out of SHUTDOWN_TIMEOUT, or by a client that went away), so shutdown can tell a drain
/// from a cut.
struct ActiveRequest {
    gauge: IntGauge,
    abandoned: Arc<AtomicUsize>,
    answered: bool,
}

impl ActiveRequest {
    fn start(gauge: IntGauge, abandoned: Arc<AtomicUsize>) -> Self {
        gauge.inc();
        Self {
            gauge,
            abandoned,
            answered: false,
        }
    }
}

impl Drop for ActiveRequest {
    fn drop(&mut self) {
        self.gauge.dec();
        if !self.answered {
            self.abandoned.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Times the request, records its metrics, adds `x-worker-id`, echoes `x-request-id`, and logs
/// one line at debug level (never the body).
pub async fn observe_request(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    request.extensions_mut().insert(RequestStart(started));
    let state = request
        .app_data::<web::Data<AppState>>()
        .expect("AppState is registered in every worker's App")
        .clone();
    let worker = request
        .app_data::<web::Data<WorkerContext>>()
        .map_or(0, |worker| worker.index);
    let endpoint = endpoint_label(request.path());
    let request_id = request.headers().get(&REQUEST_ID_HEADER).cloned();
    let declared = declared_length(request.headers());
    let metrics = &state.metrics;
    let mut active = ActiveRequest::start(
        metrics.active_requests.with_label_values(&[endpoint]),
        Arc::clone(&state.abandoned_requests),
    );

    let response = next.call(request).await;
    active.answered = true;
    drop(active);
    let mut response = response?;

    let elapsed = started.elapsed();
    let status = response.status();
    let body_bytes = response
        .request()
        .extensions()
        .get::<BodyBytes>()
        .map(|bytes| bytes.0)
        .or(declared)
        .unwrap_or(0);
    metrics
        .request_duration
        .with_label_values(&[endpoint, size_class(body_bytes), status.as_str()])
        .observe(elapsed.as_secs_f64());
    if endpoint != OTHER_ENDPOINT {
        metrics
            .request_body_size
            .with_label_values(&[endpoint])
            .observe(body_bytes as f64);
        metrics
            .requests_total
            .with_label_values(&[&worker.to_string()])
            .inc();
    }

    let headers = response.headers_mut();
    headers.insert(WORKER_ID_HEADER, HeaderValue::from(worker));
    if let Some(request_id) = request_id {
        headers.insert(REQUEST_ID_HEADER, request_id);
    }
    tracing::debug!(
        endpoint,
        worker,
        status = status.as_u16(),
        body_bytes,
        elapsed_ms = elapsed.as_secs_f64() * 1e3,
        request_id = request_id_for_log(response.headers().get(&REQUEST_ID_HEADER)),
        "request served"
    );
    Ok(response)
}

fn request_id_for_log(value: Option<&HeaderValue>) -> &str {
    value.and_then(|v| v.to_str().ok()).unwrap_or("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_strategy_paths_get_their_own_label() {
        assert_eq!(endpoint_label("/ping"), "ping");
        assert_eq!(endpoint_label("/lean"), "lean");
        assert_eq!(endpoint_label("/metrics"), "other");
        assert_eq!(endpoint_label("/ping/extra"), "other");
        assert_eq!(endpoint_label("/anything-a-client-invents"), "other");
    }
}
