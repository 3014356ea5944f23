//! `POST /stream`: parse while the body arrives, a bounded slice at a time.

use std::time::{Duration, Instant};

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use lab_core::{Phase, Strategy};

use crate::{
    error::LabError,
    loop_yield::LoopTurn,
    state::AppState,
    strategies::{Profile, lab_response},
    stream::StreamParser,
    upload::body::BodyBytes,
    upload::guard::{CutOff, UploadHandle},
    worker::WorkerContext,
};

/// The longest the handler runs on the loop before it yields to the other tasks: about the
/// loop's timer resolution, so the lag probe (and a small request) never waits much longer
/// behind a /stream upload than behind an idle loop.
pub const SLICE: Duration = Duration::from_millis(1);

/// Bytes parsed between two looks at the clock: some 50 µs of parsing.
pub const STEP_BYTES: usize = 16 * 1024;

/// Records counted between two looks at the clock: some 50 µs of counting (a study record
/// takes 10-20 ns when its bucket's table is in the cache).
pub const COUNT_STEP_RECORDS: usize = 4 * 1024;

/// When the loop last had its turn (polled its sockets and timers), and the longest the
/// handler has held it between two turns.
///
/// A wait for body bytes is not always a turn: while the HTTP/1 dispatcher has more of the
/// body in its buffer it wakes the handler's task at once, and the loop runs that task again
/// up to 61 times before its next turn (see [`crate::loop_yield`]). So the clock watches for
/// the turn itself ([`LoopTurn`]) rather than trusting the wait.
struct SliceClock {
    started: Instant,
    turn: LoopTurn,
    longest: Duration,
}

impl SliceClock {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            turn: LoopTurn::watch(),
            longest: Duration::ZERO,
        }
    }

    /// The slice ended at `held_until`, and the loop has had its turn: a new slice starts.
    fn next_slice(&mut self, held_until: Instant) {
        self.longest = self.longest.max(held_until - self.started);
        self.started = Instant::now();
        self.turn = LoopTurn::watch();
    }

    /// Back from a wait for body bytes that began at `paused_at`: if the loop had its turn
    /// meanwhile, the slice ended when the wait began.
    fn back_from_wait(&mut self, paused_at: Instant) {
        if self.turn.has_come() {
            self.next_slice(paused_at);
        }
    }

    /// Waits for the loop's turn if this slice has used up [`SLICE`].
    async fn maybe_yield(&mut self) {
        let now = Instant::now();
        if now - self.started >= SLICE {
            self.turn.wait().await;
            self.next_slice(now);
        }
    }

    /// The longest slice, the last one included.
    fn longest(&self) -> Duration {
        self.longest.max(self.started.elapsed())
    }
}

/// The key table no longer fits the budget: counted as an upload cut off `over_budget`, the
/// unread rest of the body left to the gate (which keeps it until the answer is written, see
/// [`crate::upload::guard::UnreadBody`]), and 503.
fn over_budget(state: &AppState, upload: &UploadHandle, payload: web::Payload) -> LabError {
    let budget_bytes = state.uploads.budget.capacity();
    let cut_off = CutOff::OverBudget { budget_bytes };
    state
        .metrics
        .uploads_cut_off
        .with_label_values(&[cut_off.reason()])
        .inc();
    *upload.unread.borrow_mut() = Some(payload.into_inner());
    LabError::ServerBusy { budget_bytes }
}

/// Feeds each chunk to an incremental JSON parser as it arrives from the socket, so the parse
/// overlaps the upload and the body is never held whole: only its keys and values are kept,
/// packed by hash, and counted bucket by bucket once the body has ended. After each
/// [`SLICE`] of work it yields, so a 25 MB upload never holds the event loop longer than about
/// a millisecond at a time: where `/lean` makes the blocking parse smaller, `/stream` cuts it
/// into pieces the loop can serve small requests between.
///
/// Same answers and errors as the other endpoints: the body is always read to its end first
/// (a cut-off, a too-large body or a spent budget wins over a parse error, as it does where
/// the body is read before the parse), and the parser gives serde_json's answer for any split
/// of the body (see [`crate::stream::machine`]). The memory budget charges its body's bytes as
/// they arrive, as on every endpoint, although it keeps none, and what its key table holds
/// beyond them as the table grows (503 `server_busy` when that no longer fits), so the budget
/// covers what it really holds. `profiling` gives `wait_body` (waiting for
/// bytes), `parse` (parsing them, on the loop), `compute`, `drop` and `longest_slice`.
pub async fn stream(
    request: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
    worker: web::Data<WorkerContext>,
) -> Result<HttpResponse, LabError> {
    let mut profile = Profile::new(Strategy::Stream, state.metrics.phase_duration.clone());
    let mut clock = SliceClock::new();
    let mut parser = StreamParser::new();
    let mut parsed = Ok(());
    let (mut waiting, mut parsing) = (Duration::ZERO, Duration::ZERO);
    let mut received = 0;
    let upload = request.extensions().get::<UploadHandle>().cloned();
    let mut table_charged = 0;
    loop {
        let asked = Instant::now();
        let next = payload.next().await;
        clock.back_from_wait(asked);
        waiting += asked.elapsed();
        let Some(chunk) = next else { break };
        let chunk =
            chunk.map_err(|error| LabError::from_payload(error, state.uploads.max_body_bytes()))?;
        received += chunk.len();
        // After a refusal the rest of the body is still read (and dropped): the answer comes
        // once the body has ended, as on the other endpoints.
        for step in chunk.chunks(STEP_BYTES) {
            if parsed.is_err() {
                break;
            }
            let started = Instant::now();
            parsed = parser.feed(step);
            parsing += started.elapsed();
            // The body's bytes are charged as they arrive, as on every endpoint; what the
            // key table holds beyond them is charged here.
            let beyond_body = parser.held_bytes().saturating_sub(received);
            if let Some(upload) = &upload
                && beyond_body > table_charged
            {
                if !upload.charge.grow(beyond_body - table_charged) {
                    return Err(over_budget(&state, upload, payload));
                }
                table_charged = beyond_body;
            }
            clock.maybe_yield().await;
        }
    }
    request.extensions_mut().insert(BodyBytes(received));
    profile.record(Phase::WaitBody, waiting);
    parsed?;
    let started = Instant::now();
    let body = parser.finish()?;
    profile.record(Phase::Parse, parsing + started.elapsed());

    // The count goes COUNT_STEP_RECORDS at a time, each counted bucket freed at once: the
    // `drop` phase is that freeing, and what is left of the parser's own state.
    let name = body.name;
    let mut count = crate::stream::count::Count::new(body.keys);
    let mut counting = Duration::ZERO;
    while !count.is_done() {
        let step = Instant::now();
        count.step(COUNT_STEP_RECORDS);
        counting += step.elapsed();
        clock.maybe_yield().await;
    }
    let freeing = count.freeing();
    profile.record(Phase::Compute, counting.saturating_sub(freeing));
    let summary = count.summary();
    let dropping = Instant::now();
    drop(count);
    profile.record(Phase::Drop, freeing + dropping.elapsed());
    profile.record(Phase::LongestSlice, clock.longest());
    Ok(lab_response(
        &request,
        worker.index,
        name,
        summary,
        profile.into_phases(),
    ))
}
