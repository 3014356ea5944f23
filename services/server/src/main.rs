//! The `lab-server` binary: logging, options, bind, serve until SIGTERM/SIGINT.

use clap::Parser;
use lab_server::{Application, config::ServerConfig, telemetry};

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init();
    let config = ServerConfig::parse();
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
