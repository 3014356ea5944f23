//! The upload pipeline: every strategy request's body goes through it, in this order.
//!
//! - [`expect`]: `Expect: 100-continue` answered with 413 before the body is sent, when the
//!   declared body is too large.
//! - [`gate`]: the checks before the body is read (content type, declared length, memory
//!   budget), and the body stream replaced by a [`guard::GuardedBody`].
//! - [`guard`]: the body stream read under the rules: MAX_BODY_MB, the budget charge growing as
//!   the bytes arrive, a deadline for clients that stall or trickle, and a stop's cut-off.
//! - [`budget`]: the cap on memory held by request bodies and their parses, all workers
//!   together.
//! - [`parse_cost`]: what each strategy's parse allocates at most, charged before it runs.
//! - [`body`]: reading a whole body chunk by chunk, for the strategies that hold it.
//!
//! The pipeline takes what it needs from [`Uploads`], registered in every worker's `App`, and
//! from nothing else of the server's, so that it stays one piece.

pub mod body;
pub mod budget;
pub mod expect;
pub mod gate;
pub mod guard;
pub mod parse_cost;

use prometheus::IntCounterVec;

use budget::BodyBudget;
use guard::{StopRule, UploadRules};

/// What every upload is read under, shared by all workers (cheap to clone).
#[derive(Clone)]
pub struct Uploads {
    /// MAX_BODY_MB, BODY_IDLE_TIMEOUT, BODY_MIN_RATE_KB.
    pub rules: UploadRules,
    /// BODY_BUDGET_MB: bodies and their parses, all workers together.
    pub budget: BodyBudget,
    /// SHUTDOWN_IDLE_GRACE, and the signal that a stop has begun.
    pub stop: StopRule,
    /// `lab_server_uploads_cut_off_total{reason}`.
    pub cut_offs: IntCounterVec,
}

impl Uploads {
    /// MAX_BODY_MB in bytes.
    pub fn max_body_bytes(&self) -> usize {
        self.rules.max_bytes
    }
}
