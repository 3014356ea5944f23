//! The shutdown signal the binary passes to [`crate::run`]: Ctrl-C (SIGINT) or SIGTERM
//! (what `docker stop` sends). Either one stops scheduling; the run then drains and still
//! writes its summary, and the process exits 0.

use std::future::Future;

/// A future that resolves on the first SIGINT or SIGTERM.
///
/// The handlers are installed when this function is called, not when the future is first
/// polled: a Ctrl-C that arrives while the 25 MB bodies are still being built is remembered
/// (instead of killing the process), and the run stops as soon as its clock starts.
pub fn signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            match (interrupt, terminate) {
                (Ok(mut interrupt), Ok(mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                }
                (interrupt, terminate) => {
                    tracing::warn!(
                        sigint = interrupt.is_ok(),
                        sigterm = terminate.is_ok(),
                        "cannot listen for every signal; falling back to Ctrl-C only"
                    );
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
