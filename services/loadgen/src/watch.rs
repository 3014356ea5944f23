//! Following the server during a run: [`ServerWatch`] reads its `/healthz` every
//! SERVER_CHECK_INTERVAL and says when it shows another configuration (workers, keep-alive,
//! endpoints) or another start of the server. The runner then ends the run and opens a new
//! one, so a run's numbers always belong to one configuration: `WORKERS=4 docker compose up
//! -d` restarts the server while the load generator keeps running, and without this the
//! run would mix requests served by 1 and by 4 workers.
//!
//! The check is off the timed path (its own client, its own task) and tolerant: a server
//! that does not answer (restarting, or busy parsing 25 MB on its only worker) is asked
//! again at the next interval; a server without a lab `/healthz` (404, or another body) is
//! not followed, and that is said once.

use std::time::Duration;

use lab_core::http::{HEALTH_PATH, Health};
use reqwest::{Client, StatusCode, Url};
use tokio::time::{MissedTickBehavior, interval};

/// How long one health check may take. Longer than a 25 MB parse on a one-worker server
/// (the check waits behind it like any request), short enough to notice a change quickly.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// What one look at `/healthz` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// A lab health body.
    Health(Health),
    /// The server answered, but not with a lab health body: it cannot be followed.
    NotFollowable(String),
    /// No answer (down, restarting, busy): look again later.
    NoAnswer,
}

/// Reads a server's `/healthz` and compares it with what the current run started with.
pub struct ServerWatch {
    client: Client,
    url: Url,
    every: Duration,
}

impl ServerWatch {
    /// A watch on `target`'s `/healthz`, every `every` (zero = never: see [`Self::is_on`]).
    pub fn new(target: &Url, every: Duration) -> reqwest::Result<Self> {
        let client = Client::builder()
            .timeout(CHECK_TIMEOUT)
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let url = target.join(HEALTH_PATH).unwrap_or_else(|_| target.clone());
        Ok(Self { client, url, every })
    }

    /// Whether the server is followed at all (SERVER_CHECK_INTERVAL is not 0).
    pub fn is_on(&self) -> bool {
        !self.every.is_zero()
    }

    /// One look at `/healthz`.
    pub async fn look(&self) -> Seen {
        let response = match self.client.get(self.url.clone()).send().await {
            Ok(response) => response,
            Err(_) => return Seen::NoAnswer,
        };
        let status = response.status();
        // 503 while a server is starting (the FastAPI server until every worker is up).
        if status == StatusCode::SERVICE_UNAVAILABLE || status.is_server_error() {
            return Seen::NoAnswer;
        }
        if !status.is_success() {
            return Seen::NotFollowable(format!("{HEALTH_PATH} answered {status}"));
        }
        match response.json::<Health>().await {
            Ok(health) if health.status == "ok" => Seen::Health(health),
            Ok(health) => Seen::NotFollowable(format!("status `{}`", health.status)),
            Err(error) if error.is_decode() => {
                Seen::NotFollowable(format!("{HEALTH_PATH} is not the lab's health body"))
            }
            Err(_) => Seen::NoAnswer,
        }
    }

    /// Waits until the server reports something that differs from `current` and returns it.
    /// With `current` unknown (the server had not answered when the run started), the first
    /// answer becomes `current` and the wait goes on. Never returns when the watch is off or
    /// the server cannot be followed: the caller selects it against the run's other ends.
    pub async fn changed(&self, current: &mut Option<Health>) -> Health {
        if !self.is_on() {
            return std::future::pending().await;
        }
        let mut ticks = interval(self.every);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ticks.tick().await; // the first tick is now: the run has just looked
        loop {
            ticks.tick().await;
            match self.look().await {
                Seen::Health(seen) => match current {
                    Some(known) if seen.differs_from(known) => return seen,
                    Some(_) => {}
                    None => *current = Some(seen),
                },
                Seen::NotFollowable(why) => {
                    tracing::info!(
                        url = %self.url,
                        "not following the server's settings ({why}): runs are not split"
                    );
                    return std::future::pending().await;
                }
                Seen::NoAnswer => {}
            }
        }
    }
}
