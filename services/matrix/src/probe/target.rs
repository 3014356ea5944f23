//! The server under test, seen from outside: whether TARGET_URL accepts connections (before
//! the probe starts, and after a level where nothing succeeded), and whether it exports the
//! lab's metrics, in which case its own time per upload is read around every upload level.

use std::time::Duration;

use lab_core::http::{HEALTH_PATH, Health};
use lab_core::metrics::server;
use reqwest::Url;
use tokio::net::TcpStream;

use crate::lag::LagScraper;
use crate::saturation::LargeTime;

/// How long a connection attempt to TARGET_URL may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// TARGET_URL without its trailing `/`: `http://host:port`.
pub fn base_url(target: &Url) -> String {
    target.as_str().trim_end_matches('/').to_string()
}

/// Whether TARGET_URL's host and port accept a TCP connection (no request is sent); the
/// error says what failed, in words an engineer can act on.
pub async fn reachable(target: &Url) -> Result<(), String> {
    let host = target.host_str().unwrap_or_default().to_string();
    let port = target.port_or_known_default().unwrap_or(80);
    let addresses = match tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio::net::lookup_host((host.as_str(), port)),
    )
    .await
    {
        Ok(Ok(addresses)) => addresses.collect::<Vec<_>>(),
        Ok(Err(error)) => return Err(format!("cannot resolve `{host}`: {error}")),
        Err(_) => return Err(format!("cannot resolve `{host}` within 5 s")),
    };
    let mut failure = format!("`{host}` has no address");
    for address in addresses {
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(error)) => failure = format!("{address}: {error}"),
            Err(_) => failure = format!("{address}: no answer within 5 s"),
        }
    }
    Err(failure)
}

/// The server's own view, when it exports the lab's metrics.
pub struct ServerMetrics {
    scraper: LagScraper,
    /// Its WORKERS, from the lab's `/healthz`, when it answers one: how many uploads it works
    /// on at once, for the utilisation.
    pub workers: Option<usize>,
}

impl ServerMetrics {
    /// The server's metrics, when `/metrics` answers with the lab's names (lab-core's
    /// `metrics::server`, whose request histogram gives the time per upload); `None` for any
    /// other server.
    pub async fn detect(target: &Url) -> Option<Self> {
        let base = base_url(target);
        let scraper = LagScraper::new(&base).ok()?;
        let text = scraper.text().await.ok()?;
        // A histogram with labels has no series before its first observation: any of the
        // lab's server metrics (its gauges are there from the start) names a lab server.
        if !server::ALL.iter().any(|metric| text.contains(metric.name)) {
            return None;
        }
        Some(Self {
            scraper,
            workers: lab_workers(&base).await,
        })
    }

    /// The server's time on uploads of `size_class` so far; `None` when the scrape fails.
    pub async fn large_time(&self, size_class: &str) -> Option<LargeTime> {
        let text = self.scraper.text().await.ok()?;
        LargeTime::parse(&text, size_class).ok()
    }
}

/// WORKERS from the lab's `/healthz`, when the server answers one.
async fn lab_workers(base: &str) -> Option<usize> {
    let client = reqwest::Client::builder()
        .timeout(CONNECT_TIMEOUT)
        .no_proxy()
        .build()
        .ok()?;
    let response = client
        .get(format!("{base}{HEALTH_PATH}"))
        .send()
        .await
        .ok()?;
    let health: Health = response.json().await.ok()?;
    (health.workers > 0).then_some(health.workers)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A port nobody listens on is refused, with the address in the message; a listening
    /// one is reachable.
    #[tokio::test]
    async fn reachability_names_what_failed() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let open: Url = format!("http://127.0.0.1:{port}").parse().unwrap();
        assert_eq!(reachable(&open).await, Ok(()));
        assert_eq!(base_url(&open), format!("http://127.0.0.1:{port}"));
        drop(listener);
        let error = reachable(&open).await.unwrap_err();
        assert!(error.contains(&format!("127.0.0.1:{port}")), "{error}");
        assert!(ServerMetrics::detect(&open).await.is_none());
    }
}
