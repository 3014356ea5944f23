//! What both halves of the lab must agree on, and nothing else.
//!
//! # Layout
//! - [`payload`]: the study's request body, `{"name": …, "data": {10 random letters: int}}`,
//!   generated ahead of time (never on a timed path), about 50,000 pairs per MB.
//! - [`schema`]: the JSON the server answers with, which the load generator reads back
//!   (`elapsed_server`, `worker`).
//! - [`http`]: header names (`x-request-id`, `x-worker-id`) and the `/healthz` body.
//! - [`classes`]: the names of the small and large request classes.
//! - [`csv_rows`]: the rows of `requests.csv` and `summary.csv`, written by the load
//!   generator and read back by the matrix with the same types.
//! - [`buckets`]: the latency histogram buckets. Server and client histograms use the same
//!   ones, so their quantiles can be compared panel to panel.

pub mod buckets;
pub mod classes;
pub mod csv_rows;
pub mod http;
pub mod payload;
pub mod schema;
