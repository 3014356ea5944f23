//! Every route, registered in one place (used by [`crate::startup`] for every worker).

use actix_web::{FromRequest, Handler, Resource, Responder, middleware::from_fn, web};

use crate::{
    gate::json_upload_gate,
    ops,
    strategies::{lean, offload, ping, pong, stream},
};

/// Registers the strategy endpoints ([`crate::strategies::PATHS`], in that order),
/// `/healthz`, `/metrics`, and the JSON 404/405s.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(strategy("/ping", ping::ping))
        .service(strategy("/pong", pong::pong))
        .service(strategy("/offload", offload::offload))
        .service(strategy("/lean", lean::lean))
        .service(strategy("/stream", stream::stream))
        .service(
            web::resource(lab_core::http::HEALTH_PATH)
                .route(web::get().to(ops::healthz))
                .default_service(web::to(ops::method_not_allowed)),
        )
        .service(
            web::resource("/metrics")
                .route(web::get().to(ops::metrics))
                .default_service(web::to(ops::method_not_allowed)),
        )
        .default_service(web::to(ops::not_found));
}

/// A strategy endpoint: `POST` only, behind the [`json_upload_gate`] (content type, declared
/// length, body budget), 405 for other methods.
fn strategy<F, Args>(path: &str, handler: F) -> Resource
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    web::resource(path)
        // `wrap` after `to`: `Route::to` replaces the service, dropping earlier middleware.
        .route(web::post().to(handler).wrap(from_fn(json_upload_gate)))
        .default_service(web::to(ops::method_not_allowed))
}
