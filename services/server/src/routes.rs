//! Every route, registered in one place (used by [`crate::startup`] for every worker).

use actix_web::{FromRequest, Handler, Resource, Responder, middleware::from_fn, web};
use lab_core::Strategy;

use crate::{
    ops,
    strategies::{drain, lean, offload, ping, pong, stream},
    upload::gate::json_upload_gate,
};

/// Registers the strategy endpoints ([`Strategy::ALL`], in that order), `/healthz`,
/// `/metrics`, and the JSON 404/405s.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for strategy in Strategy::ALL {
        cfg.service(strategy_resource(strategy));
    }
    cfg.service(
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

/// A strategy's endpoint with its handler: adding a strategy to [`Strategy`] fails to compile
/// until it has one here.
fn strategy_resource(strategy: Strategy) -> Resource {
    let path = strategy.path();
    match strategy {
        Strategy::Ping => post_only(path, ping::ping),
        Strategy::Pong => post_only(path, pong::pong),
        Strategy::Offload => post_only(path, offload::offload),
        Strategy::Lean => post_only(path, lean::lean),
        Strategy::Stream => post_only(path, stream::stream),
        Strategy::Drain => post_only(path, drain::drain),
    }
}

/// A strategy endpoint: `POST` only, behind the [`json_upload_gate`] (content type, declared
/// length, body budget), 405 for other methods.
fn post_only<F, Args>(path: &str, handler: F) -> Resource
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
