//! The shutdown signal the binary passes to [`crate::run`]: Ctrl-C (SIGINT) or SIGTERM
//! (what `docker stop` sends). Either one stops scheduling; the run then drains and still
//! writes its summary, and the process exits 0. One that comes while the bodies are being
//! built stops their building within milliseconds, and no run starts.
//!
//! [`Shutdown`] is how the runner waits for it: in every phase (building the bodies,
//! looking at the server, looking up its address, each run), not only once the clock runs.

use std::{future::Future, pin::Pin};

/// A future that resolves on the first SIGINT or SIGTERM.
///
/// The handlers are installed when this function is called, not when the future is first
/// polled: a Ctrl-C that arrives before the runner first waits for it (while the options
/// are checked, say) is remembered instead of killing the process.
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

/// A shutdown future that can be waited for again and again: once it has resolved, it stays
/// resolved. The runner selects it against each phase's work; a phase that ends first drops
/// only the wait, never the future itself, so no signal is lost between phases.
pub struct Shutdown<F> {
    future: Pin<Box<F>>,
    fired: bool,
}

impl<F: Future<Output = ()>> Shutdown<F> {
    /// Wraps `future` (e.g. [`signal`]`()`).
    pub fn new(future: F) -> Self {
        Self {
            future: Box::pin(future),
            fired: false,
        }
    }

    /// Resolves when shutdown was asked for, now or at any earlier moment.
    pub async fn fired(&mut self) {
        if !self.fired {
            self.future.as_mut().await;
            self.fired = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio_util::sync::CancellationToken;

    use super::*;

    /// A shutdown that fired resolves every later wait at once; one that has not fired keeps
    /// a wait pending.
    #[tokio::test]
    async fn once_fired_it_stays_fired() {
        let token = CancellationToken::new();
        let mut shutdown = Shutdown::new(token.clone().cancelled_owned());
        let waited = tokio::time::timeout(Duration::from_millis(20), shutdown.fired()).await;
        assert!(waited.is_err(), "not fired yet");
        token.cancel();
        for _ in 0..3 {
            tokio::time::timeout(Duration::from_secs(5), shutdown.fired())
                .await
                .expect("fired");
        }
    }
}
