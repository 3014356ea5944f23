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
    application.run_until_stopped().await?;
    tracing::info!("lab-server stopped: in-flight requests drained");
    Ok(())
}
