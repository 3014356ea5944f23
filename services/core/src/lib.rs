//! What every program of the lab must agree on, and nothing else: the lab's kinds as types,
//! the names and shapes of what crosses a process boundary, and the contract file that hands
//! them to the Python side.
//!
//! # Layout
//! - [`strategy`]: [`Strategy`], the ways to handle a study body, one endpoint each.
//! - [`allocator`]: [`Allocator`], the memory allocators lab-server can run with.
//! - [`classes`]: [`Class`], the request classes (small, large, and any a run adds).
//! - [`errors`]: [`ServerErrorKind`] (a JSON error body's `error`, with its status) and
//!   [`ClientErrorKind`] (what the load generator counts a failed request as).
//! - [`phases`]: [`Phase`], the timed steps of a strategy's work.
//! - [`metrics`]: every Prometheus series by name, kind, labels and help.
//! - [`stats`]: [`Stats`], the counts and latency statistics every summary row shares.
//! - [`contract`]: all of the above as one JSON file for the Python side.
//! - [`payload`]: the study's request body, `{"name": …, "data": {10 random letters: int}}`,
//!   generated ahead of time (never on a timed path), about 50,000 pairs per MB.
//! - [`schema`]: the JSON the server answers with, which the load generator reads back
//!   (`elapsed_server`, `worker`).
//! - [`http`]: header names (`x-request-id`, `x-worker-id`) and the `/healthz` body.
//! - [`csv_rows`]: the rows of `requests.csv` and `summary.csv`, written by the load
//!   generator and read back by the matrix with the same types.
//! - [`buckets`]: the latency histogram buckets. Server and client histograms use the same
//!   ones, so their quantiles can be compared panel to panel.

pub mod allocator;
pub mod buckets;
pub mod classes;
pub mod contract;
pub mod csv_rows;
pub mod errors;
pub mod http;
pub mod metrics;
pub mod payload;
pub mod phases;
pub mod schema;
pub mod stats;
pub mod strategy;

pub use allocator::Allocator;
pub use classes::Class;
pub use errors::{ClientErrorKind, ServerErrorKind};
pub use phases::Phase;
pub use stats::{Statistic, Stats};
pub use strategy::Strategy;
