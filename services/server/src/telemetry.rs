//! Logging: `tracing` to stderr, filtered by RUST_LOG (default `info`).
//!
//! stdout is kept for the one machine-readable `listening on http://…` line. Per-request lines
//! are at `debug` (`RUST_LOG=lab_server=debug`); bodies are never logged.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber (also captures actix's `log` records).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
