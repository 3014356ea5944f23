//! What each `lab-server` binary runs: logging, options, the allocator hand-over, bind, serve
//! until SIGTERM/SIGINT, and the stop's last log line.

use std::process::ExitCode;

use clap::Parser;

use crate::{
    Application,
    allocator::{Allocator, hand_over_if_asked},
    config::ServerConfig,
    telemetry,
};

/// Runs the server of a binary built with `built_in`; the exit code is 0 after a clean stop.
pub fn main(built_in: Allocator) -> ExitCode {
    telemetry::init();
    let mut config = ServerConfig::parse();
    if let Err(error) = hand_over_if_asked(config.allocator.unwrap_or(built_in), built_in) {
        eprintln!("lab-server: {error}");
        return ExitCode::from(2);
    }
    config.allocator = Some(built_in);
    match actix_web::rt::System::new().block_on(serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("lab-server: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: ServerConfig) -> anyhow::Result<()> {
    let application = Application::build(config.clone())?;
    let address = application.address();
    tracing::info!(%address, ?config, "lab-server started");
    // The one stdout line, for scripts and tests that started us on port 0.
    println!("listening on http://{address}");
    let shutdown = application.run_until_stopped().await?;
    let finished = shutdown.requests_finished();
    let stalled = shutdown.stalled_uploads_cut_off;
    match shutdown.requests_cut_off {
        0 => tracing::info!(
            requests_finished = finished,
            stalled_uploads_cut_off = stalled,
            "lab-server stopped: in-flight requests drained ({finished} finished, {stalled} stalled upload(s) cut off after SHUTDOWN_IDLE_GRACE with 503 shutting_down)"
        ),
        cut => tracing::warn!(
            requests_finished = finished,
            stalled_uploads_cut_off = stalled,
            requests_cut_off = cut,
            "lab-server stopped: {cut} request(s) were still running when SHUTDOWN_TIMEOUT ran out and were cut off ({finished} finished, {stalled} stalled upload(s) cut off after SHUTDOWN_IDLE_GRACE)"
        ),
    }
    Ok(())
}
