//! Reading an upload under rules, whichever handler reads it: a size limit, a budget charge
//! that grows as the bytes arrive, and a deadline for clients that stall or trickle.
//!
//! The [`gate`](crate::upload::gate) wraps every strategy request's body stream in a [`GuardedBody`]
//! before the handler (or `/ping`'s JSON extractor) sees it, so all five endpoints read their
//! bodies under the same rules and give the same answers. When a rule is broken the stream
//! ends with an error carrying a [`CutOff`], which [`crate::error::LabError::from_payload`]
//! turns into the answer (408, 413 or 503), and `lab_server_uploads_cut_off_total{reason}`
//! counts it.

use std::{
    cell::RefCell,
    io,
    pin::Pin,
    rc::Rc,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use actix_server::GracefulShutdownSignal;
use actix_web::{
    dev::Payload,
    error::PayloadError,
    rt::time::{Instant, Sleep, sleep_until},
    web::Bytes,
};
use futures_util::{FutureExt, Stream, StreamExt};
use prometheus::IntCounterVec;

use crate::{connection::ConnectionControl, error::LabError, upload::budget::Charge};

/// The limits an upload is read under (MAX_BODY_MB, BODY_IDLE_TIMEOUT, BODY_MIN_RATE_KB).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadRules {
    /// Largest body accepted.
    pub max_bytes: usize,
    /// Longest time without a body byte; `None` = no limit. Also the grace period before the
    /// minimum rate applies.
    pub idle_timeout: Option<Duration>,
    /// Slowest average rate accepted after the grace period; 0 = no minimum.
    pub min_bytes_per_second: u64,
}

/// Why an upload was stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CutOff {
    /// No byte for BODY_IDLE_TIMEOUT.
    #[error("no body byte arrived for {seconds} s (BODY_IDLE_TIMEOUT)")]
    Idle {
        /// BODY_IDLE_TIMEOUT.
        seconds: u64,
    },
    /// The average rate fell below BODY_MIN_RATE_KB.
    #[error(
        "the body arrived slower than {bytes_per_second} bytes/s on average (BODY_MIN_RATE_KB)"
    )]
    TooSlow {
        /// BODY_MIN_RATE_KB in bytes per second.
        bytes_per_second: u64,
    },
    /// The budget could not take the next chunk, or the parse the complete body needs.
    #[error("the in-flight budget of {budget_bytes} bytes (BODY_BUDGET_MB) is spent")]
    OverBudget {
        /// BODY_BUDGET_MB in bytes.
        budget_bytes: usize,
    },
    /// The body passed MAX_BODY_MB.
    #[error("the body passed the limit of {limit_bytes} bytes")]
    TooLarge {
        /// MAX_BODY_MB in bytes.
        limit_bytes: usize,
    },
    /// The server is stopping, and no body byte arrived for SHUTDOWN_IDLE_GRACE.
    #[error(
        "the server is stopping and no body byte arrived for {grace_seconds} s (SHUTDOWN_IDLE_GRACE)"
    )]
    Stopping {
        /// SHUTDOWN_IDLE_GRACE.
        grace_seconds: u64,
    },
}

/// The `reason` label values of `lab_server_uploads_cut_off_total`, one per [`CutOff`].
pub use lab_core::metrics::server::CUT_OFF_REASONS;

impl CutOff {
    /// The `reason` label (one of [`CUT_OFF_REASONS`]).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Idle { .. } => CUT_OFF_REASONS[0],
            Self::TooSlow { .. } => CUT_OFF_REASONS[1],
            Self::OverBudget { .. } => CUT_OFF_REASONS[2],
            Self::TooLarge { .. } => CUT_OFF_REASONS[3],
            Self::Stopping { .. } => CUT_OFF_REASONS[4],
        }
    }

    /// The cut-off as the body stream's error (actix's streams speak [`PayloadError`]).
    pub fn into_payload_error(self) -> PayloadError {
        PayloadError::Io(io::Error::other(self))
    }

    /// The cut-off inside a body stream's error, if that is what stopped it.
    pub fn from_payload_error(error: &PayloadError) -> Option<Self> {
        match error {
            PayloadError::Io(error) => error.get_ref()?.downcast_ref::<Self>().copied(),
            _ => None,
        }
    }
}

/// What the guard learns of a body as it passes, enough to bound what parsing it will
/// allocate: its size, and upper bounds on its pairs (every pair has a `:`) and on its keys
/// with escapes (every escape starts with a `\\`). Counted with memchr as chunks arrive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BodyShape {
    /// Body bytes.
    pub bytes: usize,
    /// `:` bytes: at least as many as the pairs in `data`.
    pub colons: usize,
    /// `\\` bytes: at least as many as the keys that must be unescaped into their own string.
    pub backslashes: usize,
}

impl BodyShape {
    /// The shape of a whole body (tests, the bench).
    pub fn of(body: &[u8]) -> Self {
        let mut shape = Self::default();
        shape.add(body);
        shape
    }

    fn add(&mut self, chunk: &[u8]) {
        self.bytes += chunk.len();
        self.colons += memchr::memchr_iter(b':', chunk).count();
        self.backslashes += memchr::memchr_iter(b'\\', chunk).count();
    }
}

/// Bytes a complete body of this shape will need to be parsed, charged before it is.
pub type ParseCost = fn(&BodyShape) -> usize;

/// Where a cut-off body stream leaves the rest of the client's body unread, so that the gate
/// can keep it until the answer is written.
///
/// Why: when the body stream of a chunked request has been dropped by the time the answer is
/// written, actix keeps the connection and reads the rest of the body to reuse it. A client
/// that stalled never sends that rest, so the connection would stay open for as long as the
/// client likes. With the stream still alive, actix writes the answer, lingers a moment
/// (LINGER_AFTER_EARLY_ANSWER) so the client can read it, and closes.
pub type UnreadBody = Rc<RefCell<Option<Payload>>>;

/// What a handler that charges memory of its own (`/stream`) gets of its upload's guard, from
/// the request's extensions: the request's budget charge, and the place where a cut-off leaves
/// the unread rest of the body.
#[derive(Clone)]
pub struct UploadHandle {
    /// The request's share of the memory budget.
    pub charge: Arc<Charge>,
    /// Where a cut-off leaves the unread rest of the body.
    pub unread: UnreadBody,
}

/// What an upload does when the server begins to stop: it may then go SHUTDOWN_IDLE_GRACE
/// without a byte, no longer. Without this, one client that sent a few bytes and stalled would
/// hold every stop for SHUTDOWN_TIMEOUT (or BODY_IDLE_TIMEOUT), since a stop lets every request
/// in flight finish.
#[derive(Clone)]
pub struct StopRule {
    /// Resolves when the stop begins.
    pub signal: GracefulShutdownSignal,
    /// SHUTDOWN_IDLE_GRACE.
    pub idle_grace: Duration,
    /// Uploads cut off by this rule, for the last log line.
    pub cut_off: Arc<AtomicUsize>,
}

/// What a [`GuardedBody`] reads its stream under, and where it reports.
pub struct UploadGuard {
    /// The limits.
    pub rules: UploadRules,
    /// The request's share of the memory budget, grown as bytes arrive.
    pub charge: Arc<Charge>,
    /// BODY_BUDGET_MB in bytes, for the error message.
    pub budget_bytes: usize,
    /// What the body's parse will allocate, charged once the body is complete.
    pub parse_cost: ParseCost,
    /// `lab_server_uploads_cut_off_total`.
    pub cut_offs: IntCounterVec,
    /// Where a cut-off leaves the unread rest of the body.
    pub unread: UnreadBody,
    /// What to do once the server begins to stop; `None` = nothing special.
    pub stop: Option<StopRule>,
    /// The request's connection, which a cut-off at a stop ends the reading of, so that it
    /// closes right after the answer instead of lingering for a body that is not coming.
    pub connection: Option<ConnectionControl>,
}

/// A body stream read under an [`UploadGuard`], charging its budget as bytes arrive.
pub struct GuardedBody {
    inner: Payload,
    guard: UploadGuard,
    started: Instant,
    last_byte: Instant,
    received: BodyShape,
    deadline: Option<Pin<Box<Sleep>>>,
    /// Resolves when the server begins to stop; dropped once it has.
    stop_begins: Option<Pin<Box<dyn Future<Output = ()>>>>,
    /// Whether the server has begun to stop.
    stopping: bool,
    finished: bool,
}

impl GuardedBody {
    /// Guards `inner`; the clock starts now (the request's head has been read).
    pub fn new(inner: Payload, guard: UploadGuard) -> Self {
        let now = Instant::now();
        let stop_begins = guard.stop.as_ref().map(|stop| {
            let signal = stop.signal.clone();
            Box::pin(async move { signal.notified().await }) as Pin<Box<dyn Future<Output = ()>>>
        });
        let mut body = Self {
            inner,
            guard,
            started: now,
            last_byte: now,
            received: BodyShape::default(),
            deadline: None,
            stop_begins,
            stopping: false,
            finished: false,
        };
        body.rearm();
        body
    }

    /// Sets the deadline timer to [`Self::next_deadline`].
    fn rearm(&mut self) {
        match (self.next_deadline(), self.deadline.as_mut()) {
            (Some((at, _)), Some(sleep)) => sleep.as_mut().reset(at),
            (Some((at, _)), None) => self.deadline = Some(Box::pin(sleep_until(at))),
            (None, _) => self.deadline = None,
        }
    }

    /// When the upload is cut off if no further byte arrives, and why: the earliest of "no byte
    /// for the idle timeout", "the average fell below the minimum rate" and, once the server
    /// has begun to stop, "no byte for SHUTDOWN_IDLE_GRACE".
    fn next_deadline(&self) -> Option<(Instant, CutOff)> {
        let grace = self.guard.rules.idle_timeout.unwrap_or(Duration::ZERO);
        let idle = self.guard.rules.idle_timeout.map(|timeout| {
            let seconds = timeout.as_secs();
            (self.last_byte + timeout, CutOff::Idle { seconds })
        });
        let rate = self.guard.rules.min_bytes_per_second;
        let slow = (rate > 0).then(|| {
            // The moment the bytes so far stop meeting the average.
            let earned = Duration::from_secs_f64(self.received.bytes as f64 / rate as f64);
            let cut_off = CutOff::TooSlow {
                bytes_per_second: rate,
            };
            (self.started + grace + earned, cut_off)
        });
        let stop = self
            .guard
            .stop
            .as_ref()
            .filter(|_| self.stopping)
            .map(|stop| {
                let grace_seconds = stop.idle_grace.as_secs();
                (
                    self.last_byte + stop.idle_grace,
                    CutOff::Stopping { grace_seconds },
                )
            });
        [idle, slow, stop]
            .into_iter()
            .flatten()
            .min_by_key(|(at, _)| *at)
    }

    /// Ends the stream with `cut_off`, counted.
    fn cut(&mut self, cut_off: CutOff) -> Poll<Option<Result<Bytes, PayloadError>>> {
        self.finished = true;
        self.deadline = None;
        if let (CutOff::Stopping { .. }, Some(stop)) = (cut_off, &self.guard.stop) {
            stop.cut_off.fetch_add(1, Ordering::Relaxed);
            if let Some(connection) = &self.guard.connection {
                connection.end_reading();
            }
            tracing::warn!(
                received_bytes = self.received.bytes,
                idle_ms = self.last_byte.elapsed().as_millis() as u64,
                "stopping: an upload that made no progress is cut off (503 shutting_down)"
            );
        }
        self.guard
            .cut_offs
            .with_label_values(&[cut_off.reason()])
            .inc();
        let rest = std::mem::replace(&mut self.inner, Payload::None);
        *self.guard.unread.borrow_mut() = Some(rest);
        Poll::Ready(Some(Err(cut_off.into_payload_error())))
    }

    fn on_chunk(&mut self, chunk: Bytes) -> Poll<Option<Result<Bytes, PayloadError>>> {
        self.received.add(&chunk);
        if self.received.bytes > self.guard.rules.max_bytes {
            let limit_bytes = self.guard.rules.max_bytes;
            return self.cut(CutOff::TooLarge { limit_bytes });
        }
        if !self.guard.charge.grow(chunk.len()) {
            let budget_bytes = self.guard.budget_bytes;
            return self.cut(CutOff::OverBudget { budget_bytes });
        }
        self.last_byte = Instant::now();
        self.rearm();
        Poll::Ready(Some(Ok(chunk)))
    }

    fn on_end(&mut self) -> Poll<Option<Result<Bytes, PayloadError>>> {
        if !self
            .guard
            .charge
            .grow((self.guard.parse_cost)(&self.received))
        {
            let budget_bytes = self.guard.budget_bytes;
            return self.cut(CutOff::OverBudget { budget_bytes });
        }
        self.finished = true;
        self.deadline = None;
        Poll::Ready(None)
    }
}

impl Stream for GuardedBody {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.finished {
            return Poll::Ready(None);
        }
        match this.inner.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(chunk))) => this.on_chunk(chunk),
            Poll::Ready(Some(Err(error))) => {
                this.finished = true;
                Poll::Ready(Some(Err(error)))
            }
            Poll::Ready(None) => this.on_end(),
            Poll::Pending => {
                // Only when no byte is waiting does the clock get a say.
                let stop_began = this
                    .stop_begins
                    .as_mut()
                    .is_some_and(|begins| begins.poll_unpin(cx).is_ready());
                if stop_began {
                    this.stop_begins = None;
                    this.stopping = true;
                    this.rearm();
                }
                let expired = this
                    .deadline
                    .as_mut()
                    .is_some_and(|sleep| sleep.poll_unpin(cx).is_ready());
                match this.next_deadline() {
                    Some((_, cut_off)) if expired => this.cut(cut_off),
                    _ => Poll::Pending,
                }
            }
        }
    }
}

impl LabError {
    /// Maps a broken body stream, and a body stream cut off by the upload rules.
    pub fn from_payload(error: PayloadError, limit_bytes: usize) -> Self {
        if let Some(cut_off) = CutOff::from_payload_error(&error) {
            return match cut_off {
                CutOff::Idle { .. } | CutOff::TooSlow { .. } => {
                    Self::BodyReadTimeout(cut_off.to_string())
                }
                CutOff::OverBudget { budget_bytes } => Self::ServerBusy { budget_bytes },
                CutOff::TooLarge { limit_bytes } => Self::BodyTooLarge { limit_bytes },
                CutOff::Stopping { .. } => Self::ShuttingDown(cut_off.to_string()),
            };
        }
        match error {
            PayloadError::Overflow => Self::BodyTooLarge { limit_bytes },
            other => Self::BodyReadFailed(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_off_survives_the_trip_through_a_payload_error() {
        let cut_off = CutOff::Idle { seconds: 30 };
        let error = cut_off.into_payload_error();
        assert_eq!(CutOff::from_payload_error(&error), Some(cut_off));
        assert_eq!(CutOff::from_payload_error(&PayloadError::Overflow), None);
    }

    #[test]
    fn every_cut_off_has_its_own_reason_label() {
        let reasons = [
            CutOff::Idle { seconds: 1 }.reason(),
            CutOff::TooSlow {
                bytes_per_second: 1,
            }
            .reason(),
            CutOff::OverBudget { budget_bytes: 1 }.reason(),
            CutOff::TooLarge { limit_bytes: 1 }.reason(),
            CutOff::Stopping { grace_seconds: 1 }.reason(),
        ];
        assert_eq!(reasons, CUT_OFF_REASONS);
    }
}
