//! [`Phase`]: the steps a strategy's work is timed in, in its answer's `profiling` and in the
//! server's `lab_server_phase_duration_seconds{phase}`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One timed step of a strategy's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Receiving the body from the socket (async: the loop serves others meanwhile).
    ReadBody,
    /// `/offload` only: waiting for a free thread in the worker's blocking pool.
    BlockingWait,
    /// Turning bytes into a name and pairs.
    Parse,
    /// Counting the keys and finding the largest value.
    Compute,
    /// Freeing what the parse built.
    Drop,
    /// `/stream` only: waiting for the next bytes from the socket (the loop is free).
    WaitBody,
    /// `/stream` only: the longest the handler held the loop at once (not a sum).
    LongestSlice,
}

impl Phase {
    /// Every phase.
    pub const ALL: [Phase; 7] = [
        Phase::ReadBody,
        Phase::BlockingWait,
        Phase::Parse,
        Phase::Compute,
        Phase::Drop,
        Phase::WaitBody,
        Phase::LongestSlice,
    ];

    /// Its name: `read_body`.
    pub fn name(self) -> &'static str {
        match self {
            Phase::ReadBody => "read_body",
            Phase::BlockingWait => "blocking_wait",
            Phase::Parse => "parse",
            Phase::Compute => "compute",
            Phase::Drop => "drop",
            Phase::WaitBody => "wait_body",
            Phase::LongestSlice => "longest_slice",
        }
    }

    /// Whether the server was busy with the request's work during it (parse, compute, drop):
    /// the time a request costs the thread it runs on.
    pub fn is_work(self) -> bool {
        matches!(self, Phase::Parse | Phase::Compute | Phase::Drop)
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}
