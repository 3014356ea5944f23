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

use actix_web::{HttpRequest, HttpResponse, web};
use lab_core::{Phase, Strategy, schema::LabResponse};
use prometheus::HistogramVec;

use crate::{
    body::read_body,
    error::LabError,
    observe::request_started,
    parse::Summary,
    state::AppState,
    upload::{BodyShape, ParseCost},
    worker::WorkerContext,
};

/// What parsing a complete body of this shape allocates, at most, with `strategy`'s parser:
/// charged to the memory budget before the parse (see [`crate::budget`]).
///
/// A bound, not an average, because a client chooses the body: `tests/parse_memory.rs` counts
/// every byte each parser allocates (with malloc's per-allocation overhead) for the study's
/// body, for the densest body (short distinct keys) and for one whose every key is escaped,
/// and checks each stays under this.
/// - The owned map (`/ping`, `/pong`, `/offload`): a heap `String` per key (32 bytes at least,
///   and never more in all than the body) and a SipHash table that grows by doubling (while
///   it grows, the old table and the new one, 1.5 × the final, are both alive).
/// - The lean pairs (`/lean`): keys borrowed from the body except the escaped ones, in two
///   flat vectors reserved once from the body length (pairs, and their hash and position),
///   doubling only past that size.
///
/// For the study's 25 MB body: owned ≈ 6.8 × the body (measured peak 5.4 ×), lean 3.0 ×
/// (measured 3.0 ×; the densest body 8.0 ×, escaped keys 4.2 ×); stream none (while it parses
/// it charges what its key table holds beyond the body's bytes: about 0.35 × the body).
pub fn parse_memory(strategy: Strategy) -> ParseCost {
    match strategy {
        Strategy::Ping | Strategy::Pong | Strategy::Offload => owned_parse_memory,
        Strategy::Lean => lean_parse_memory,
        Strategy::Stream => stream_parse_memory,
        Strategy::Drain => drain_parse_memory,
    }
}

/// Bytes of one table slot: a 24-byte key (`String` or `Cow<str>`), an `i64`, a control byte.
const SLOT_BYTES: usize = 24 + 8 + 1;
/// Smallest heap block malloc hands out: what a short key `String` costs.
const MIN_ALLOCATION_BYTES: usize = 32;
/// What does not grow with the body: a table's control-byte padding and header, the name.
const FIXED_BYTES: usize = 4096;

/// Slots of a hashbrown table holding `entries` (7/8 load, a power of two).
fn table_slots(entries: usize) -> usize {
    (entries.saturating_mul(8) / 7 + 1)
        .checked_next_power_of_two()
        .unwrap_or(usize::MAX)
        .max(4)
}

/// Peak bytes of a table grown by doubling to hold `entries`: the last doubling keeps the old
/// half-size table alive beside the new one.
fn grown_table_bytes(entries: usize) -> usize {
    let slots = table_slots(entries);
    slots.saturating_add(slots / 2).saturating_mul(SLOT_BYTES)
}

/// [`parse_memory`] for the owned parse.
fn owned_parse_memory(shape: &BodyShape) -> usize {
    let keys = shape.colons.saturating_mul(MIN_ALLOCATION_BYTES);
    keys.saturating_add(shape.bytes)
        .saturating_add(grown_table_bytes(shape.colons))
        .saturating_add(FIXED_BYTES)
}

/// Bytes of one lean pair: the key (`Cow<str>`, 24) and value (8) in document order, and the
/// key's hash and position (16).
const LEAN_PAIR_BYTES: usize = 24 + 8 + 16;

/// [`parse_memory`] for the lean parse.
fn lean_parse_memory(shape: &BodyShape) -> usize {
    let presized = shape.bytes / crate::parse::LEAN_BYTES_PER_PAIR_HINT;
    let vectors = if shape.colons <= presized {
        presized.saturating_mul(LEAN_PAIR_BYTES)
    } else {
        // Past the reservation both vectors double. While the pairs vector moves, its old and
        // new blocks and the positions' new block are alive: 16 + 32 + 64 bytes per 2 pairs
        // of the final capacity, i.e. 64 per pair.
        let mut capacity = presized.max(1);
        while capacity < shape.colons {
            capacity = capacity.saturating_mul(2);
        }
        capacity.saturating_mul(64)
    };
    let escaped_keys = shape.colons.min(shape.backslashes);
    let owned_keys = if escaped_keys == 0 {
        0
    } else {
        escaped_keys
            .saturating_mul(MIN_ALLOCATION_BYTES)
            .saturating_add(shape.bytes)
    };
    vectors
        .saturating_add(owned_keys)
        .saturating_add(FIXED_BYTES)
}

/// [`parse_memory`] for `/stream`: nothing more once the body has ended. `/stream` has parsed
/// it by then, and charged as it went what its key table holds beyond the body's bytes (charged
/// as they arrived, as on every endpoint, though it keeps none of them): see
/// [`crate::strategies::stream`]. A study pair takes 18 bytes there, 20 in the JSON.
fn stream_parse_memory(_shape: &BodyShape) -> usize {
    FIXED_BYTES
}

/// [`parse_memory`] for `/drain`: nothing, it keeps none of the body.
fn drain_parse_memory(_shape: &BodyShape) -> usize {
    0
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
    let body = read_body(request, payload, state.max_body_bytes).await?;
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
