//! The endpoints that watch the lab rather than take part in it.

use actix_web::{HttpRequest, HttpResponse, http::header::ContentType, web};
use lab_core::http::Health;

use crate::{error::LabError, state::AppState};

/// `GET /healthz`: the server is up, with the settings the experiments vary, its strategy
/// endpoints and this start's id (a load generator starts a new run when any of them changes).
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(
        Health::ok(
            state.workers,
            state.keep_alive_seconds,
            lab_core::Strategy::ALL.map(lab_core::Strategy::path),
            state.instance.clone(),
        )
        .with_allocator(state.allocator.name()),
    )
}

/// `GET /metrics`: every series in the Prometheus text format.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let in_use = i64::try_from(state.uploads.budget.in_use()).unwrap_or(i64::MAX);
    state.metrics.budget_in_use.set(in_use);
    HttpResponse::Ok()
        .content_type(ContentType(
            "text/plain; version=0.0.4; charset=utf-8"
                .parse()
                .expect("a valid media type"),
        ))
        .body(state.metrics.encode())
}

/// Any unknown path: 404 with a JSON body.
pub async fn not_found(request: HttpRequest) -> Result<HttpResponse, LabError> {
    Err(LabError::NotFound(format!(
        "{} {}",
        request.method(),
        request.path()
    )))
}

/// A known path with the wrong method: 405 with a JSON body.
pub async fn method_not_allowed(request: HttpRequest) -> Result<HttpResponse, LabError> {
    Err(LabError::MethodNotAllowed {
        method: request.method().to_string(),
        path: request.path().to_owned(),
    })
}
