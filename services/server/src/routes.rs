//! Every route, registered in one place (used by [`crate::startup`] for every worker).

use actix_web::web;
use lab_core::Strategy;

use crate::{ops, strategies};

/// Registers the strategy endpoints ([`Strategy::ALL`], in that order), `/healthz`,
/// `/metrics`, and the JSON 404/405s.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for strategy in Strategy::ALL {
        cfg.service(strategies::resource(strategy));
    }
    cfg.service(
        web::resource(lab_core::http::HEALTH_PATH)
            .route(web::get().to(ops::healthz))
            .default_service(web::to(ops::method_not_allowed)),
    )
    .service(
        web::resource(lab_core::http::METRICS_PATH)
            .route(web::get().to(ops::metrics))
            .default_service(web::to(ops::method_not_allowed)),
    )
    .default_service(web::to(ops::not_found));
}
