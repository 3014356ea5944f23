//! The five ways to handle a study body, one module each, the floor they are measured against,
//! and what they share.
//!
//! | endpoint   | reads the body          | parses with      | parses on          |
//! |------------|-------------------------|------------------|--------------------|
//! | `/ping`    | framework (`web::Json`) | [`parse_owned`]  | the event loop     |
//! | `/pong`    | chunk by chunk          | [`parse_owned`]  | the event loop     |
//! | `/offload` | chunk by chunk          | [`parse_owned`]  | the blocking pool  |
//! | `/lean`    | chunk by chunk          | [`parse_lean`]   | the event loop     |
//! | `/stream`  | chunk by chunk, parsed as it arrives | [`StreamParser`] | the event loop, ≤ 1 ms at a time |
//! | `/drain`   | chunk by chunk, thrown away | nothing (the floor) | n/a |
//!
//! `/pong` and `/offload` differ only in *where* the parse runs; `/pong` and `/lean` only in
//! *how much* work the parse does; `/lean` and `/stream` only in *when*: all at once after the
//! last byte, or in slices while the bytes arrive. `/ping` is the baseline every framework
//! gives you; `/drain` reads the body and does nothing with it: each strategy's time over
//! `/drain`'s is what its own work costs.
//!
//! [`parse_owned`]: crate::parse::parse_owned
//! [`parse_lean`]: crate::parse::parse_lean
//! [`StreamParser`]: crate::stream::StreamParser

pub mod drain;
pub mod lean;
pub mod offload;
pub mod ping;
pub mod pong;
pub mod stream;

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use actix_web::{
    FromRequest, Handler, HttpRequest, HttpResponse, Resource, Responder, middleware::from_fn, web,
};
use lab_core::{Phase, Strategy, schema::LabResponse};
use prometheus::HistogramVec;

use crate::{
    error::LabError,
    observe::request_started,
    ops,
    parse::Summary,
    state::AppState,
    upload::{body::read_body, gate::json_upload_gate, guard::ParseCost, parse_cost},
    worker::WorkerContext,
};

/// What `strategy`'s parse of a complete body allocates at most (see
/// [`crate::upload::parse_cost`]): charged to the memory budget before the parse.
pub fn parse_cost(strategy: Strategy) -> ParseCost {
    match strategy {
        Strategy::Ping | Strategy::Pong | Strategy::Offload => parse_cost::owned,
        Strategy::Lean => parse_cost::lean,
        Strategy::Stream => parse_cost::parsed_while_read,
        Strategy::Drain => parse_cost::nothing,
    }
}

/// `strategy`'s endpoint with its handler and its parse cost: adding a variant to
/// [`Strategy`] fails to compile until it has its arm here and in [`parse_cost`].
pub fn resource(strategy: Strategy) -> Resource {
    let path = strategy.path();
    let resource = match strategy {
        Strategy::Ping => post_only(path, ping::ping),
        Strategy::Pong => post_only(path, pong::pong),
        Strategy::Offload => post_only(path, offload::offload),
        Strategy::Lean => post_only(path, lean::lean),
        Strategy::Stream => post_only(path, stream::stream),
        Strategy::Drain => post_only(path, drain::drain),
    };
    resource.app_data(parse_cost(strategy))
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

/// Phase timings of one request: returned in `profiling` (ms) and recorded in
/// `lab_server_phase_duration_seconds{endpoint,phase}`.
pub struct Profile {
    strategy: Strategy,
    histogram: HistogramVec,
    phases: BTreeMap<String, f64>,
}

impl Profile {
    /// An empty profile for `strategy`, recording into `histogram`.
    pub fn new(strategy: Strategy, histogram: HistogramVec) -> Self {
        Self {
            strategy,
            histogram,
            phases: BTreeMap::new(),
        }
    }

    /// Records that `phase` took `duration`.
    pub fn record(&mut self, phase: Phase, duration: Duration) {
        self.histogram
            .with_label_values(&[self.strategy.label(), phase.name()])
            .observe(duration.as_secs_f64());
        self.phases
            .insert(phase.name().to_owned(), duration.as_secs_f64() * 1e3);
    }

    /// Runs `work`, recording its duration as `phase`.
    pub fn time<T>(&mut self, phase: Phase, work: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let output = work();
        self.record(phase, started.elapsed());
        output
    }

    /// The phases in milliseconds, for the response's `profiling`.
    pub fn into_phases(self) -> BTreeMap<String, f64> {
        self.phases
    }
}

/// Reads the body under MAX_BODY_MB (async, chunk by chunk) and starts the request's profile
/// with the `read_body` phase.
pub async fn read_profiled(
    strategy: Strategy,
    request: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<(Profile, Vec<u8>), LabError> {
    let mut profile = Profile::new(strategy, state.metrics.phase_duration.clone());
    let reading = Instant::now();
    let body = read_body(request, payload, state.uploads.max_body_bytes()).await?;
    profile.record(Phase::ReadBody, reading.elapsed());
    Ok((profile, body))
}

/// A parsed body: its name and its summary. Implemented by both parsers' outputs.
pub trait ParsedBody {
    /// The body's `name`.
    fn name(&self) -> &str;
    /// Count and maxval of its `data` (the lean pairs sort themselves to resolve repeats).
    fn summary(&mut self) -> Summary;
}

impl ParsedBody for crate::parse::StudyBody {
    fn name(&self) -> &str {
        &self.name
    }
    fn summary(&mut self) -> Summary {
        crate::parse::StudyBody::summary(self)
    }
}

impl ParsedBody for crate::parse::LeanBody<'_> {
    fn name(&self) -> &str {
        &self.name
    }
    fn summary(&mut self) -> Summary {
        crate::parse::LeanBody::summary(self)
    }
}

/// What the strategies that profile (all but /ping) do with a body, timed phase by phase:
/// parse, compute, drop. Runs on whichever thread calls it.
pub fn parse_compute_drop<'body, P: ParsedBody>(
    profile: &mut Profile,
    body: &'body [u8],
    parse: impl FnOnce(&'body [u8]) -> Result<P, LabError>,
) -> Result<(String, Summary), LabError> {
    let mut parsed = profile.time(Phase::Parse, || parse(body))?;
    let summary = profile.time(Phase::Compute, || parsed.summary());
    let name = parsed.name().to_owned();
    profile.time(Phase::Drop, move || drop(parsed));
    Ok((name, summary))
}

/// The whole of a strategy that parses on the event loop (`/pong`, `/lean`): reads the body,
/// runs `work` (in practice [`parse_compute_drop`] with the strategy's parser) right here on
/// the loop, and answers. Only the parser differs between those two handlers.
pub async fn on_the_loop(
    strategy: Strategy,
    request: HttpRequest,
    payload: web::Payload,
    state: &AppState,
    worker: &WorkerContext,
    work: impl FnOnce(&mut Profile, &[u8]) -> Result<(String, Summary), LabError>,
) -> Result<HttpResponse, LabError> {
    let (mut profile, body) = read_profiled(strategy, &request, payload, state).await?;
    let (name, summary) = work(&mut profile, &body)?;
    Ok(lab_response(
        &request,
        worker.index,
        name,
        summary,
        profile.into_phases(),
    ))
}

/// The 200 answer: a [`LabResponse`] with `elapsed_server` measured from when the worker got
/// to the request.
pub fn lab_response(
    request: &HttpRequest,
    worker: usize,
    name: String,
    summary: Summary,
    profiling: BTreeMap<String, f64>,
) -> HttpResponse {
    let elapsed_server = request_started(request).elapsed().as_millis();
    crate::answer::answer(LabResponse {
        name,
        count: summary.count,
        maxval: summary.maxval,
        elapsed_server: u64::try_from(elapsed_server).unwrap_or(u64::MAX),
        profiling,
        worker,
    })
}
