//! What both halves of the lab must agree on, and nothing else.
//!
//! # Layout
//! - [`payload`]: the study's request body, `{"name": …, "data": {10 random letters: int}}`,
//!   generated ahead of time (never on a timed path), about 50,000 pairs per MB.
//! - [`schema`]: the JSON the server answers with, which the load generator reads back
//!   (`elapsed_server`, `worker`).
//! - [`buckets`]: the latency histogram buckets. Server and client histograms use the same
//!   ones, so their quantiles can be compared panel to panel.

pub mod buckets;
pub mod payload;
pub mod schema;
