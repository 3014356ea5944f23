//! lab-server: an actix-web server that shows what 25 MB JSON uploads do to small requests on
//! async workers, five strategies for handling them side by side, and the floor they are
//! measured against.
//!
//! # Layout
//! - [`serve`]: what both binaries run (`lab-server`, `lab-server-jemalloc`).
//! - [`allocator`]: ALLOCATOR, and the hand-over to the binary built with the one asked for.
//! - [`config`]: every option, a clap flag with an env twin (`WORKERS`, `KEEP_ALIVE`, …).
//! - [`startup`]: [`Application`]: binds, builds the shared state, the per-worker app
//!   factory, and the server settings (workers, keep-alive, client request timeout,
//!   blocking pool, shutdown).
//! - [`routes`]: every route, registered in one `configure`.
//! - [`connection`]: the TCP stream under each connection, read in bursts and not read while
//!   its answers wait for the client (what bounds a pipelining client that never reads).
//! - [`strategies`]: one handler per [`lab_core::Strategy`] (`/ping`, `/pong`, `/offload`,
//!   `/lean`, `/stream`, and `/drain`, the floor) and the phase profile they share.
//! - [`stream`]: `/stream`'s push parser, fed a chunk at a time, and the key table it keeps.
//! - [`answer`]: the 200 answer, a stream of slices when the echoed name is long.
//! - [`parse`]: the pure work: the two whole-body parsers and the count/max summary.
//! - [`distinct`]: the count of distinct keys from hash-sorted pairs (`/lean`'s), and the
//!   [`distinct::Summary`] every strategy answers with.
//! - [`loop_yield`]: a yield that really gives the event loop its turn inside a handler.
//! - [`upload`]: the upload pipeline every strategy's body goes through: `Expect` answered,
//!   the gate's checks, the guarded stream (size limit, budget charge, deadlines, a stop's
//!   cut-off), the memory budget, reading a whole body.
//! - [`memory`]: giving freed memory back to the OS after large requests and after clients
//!   that stopped reading.
//! - [`observe`]: the middleware that times every request, labels it, and sets headers.
//! - [`priority`]: the offload threads' lower scheduling priority, so the loop wins the CPU.
//! - [`worker`]: each worker's index, its connection counter, its event-loop lag probe.
//! - [`metrics`]: every Prometheus series, registered from lab-core's definitions.
//! - [`ops`]: `/healthz`, `/metrics`, JSON 404/405.
//! - [`error`]: [`error::LabError`]: every failure with its status and JSON body.
//! - [`state`]: what all workers share.
//! - [`telemetry`]: logging setup.

pub mod allocator;
pub mod answer;
pub mod config;
pub mod connection;
pub mod distinct;
pub mod error;
pub mod loop_yield;
pub mod memory;
pub mod metrics;
pub mod observe;
pub mod ops;
pub mod parse;
pub mod priority;
pub mod routes;
pub mod serve;
pub mod startup;
pub mod state;
pub mod strategies;
pub mod stream;
pub mod telemetry;
pub mod upload;
pub mod worker;

pub use startup::Application;
