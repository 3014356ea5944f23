//! The HTTP conventions between the load generator and the server, beyond the JSON bodies:
//! header names and the health check.

use serde::{Deserialize, Serialize};

/// Sent by the load generator with every request (`small-000042`); the server echoes it on
/// the response and in its logs, so one request can be followed across both.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// Set by the server on every response: the index of the worker (event loop) that served it.
/// The load generator records it even when the body is not the lab's JSON.
pub const WORKER_ID_HEADER: &str = "x-worker-id";

/// The path of the health check.
pub const HEALTH_PATH: &str = "/healthz";
/// The path of the Prometheus exposition.
pub const METRICS_PATH: &str = "/metrics";

/// `GET /healthz`'s answer: the server is up, with the settings the experiments vary and
/// which server process answered. The matrix waits for it before a scenario starts, and
/// checks it runs what was asked; the load generator reads it during a run and starts a new
/// run when it changes (another WORKERS, a restarted server), so one run never mixes two
/// configurations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Always `ok` when the server answers.
    pub status: String,
    /// WORKERS.
    pub workers: usize,
    /// KEEP_ALIVE in seconds (0 = off).
    pub keep_alive_seconds: u64,
    /// The strategy endpoints it serves (`/ping`, `/pong`…); empty from a server that does
    /// not say.
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// Names this start of the server: another value means the server was restarted (same
    /// settings or not). Empty from a server that does not say.
    #[serde(default)]
    pub instance: String,
    /// The memory allocator it runs with (`system`, `jemalloc`). Empty from a server that does
    /// not say.
    #[serde(default)]
    pub allocator: String,
}

impl Health {
    /// A healthy server with these settings, endpoints and start id.
    pub fn ok(
        workers: usize,
        keep_alive_seconds: u64,
        endpoints: impl IntoIterator<Item = impl Into<String>>,
        instance: impl Into<String>,
    ) -> Self {
        Self {
            status: "ok".to_string(),
            workers,
            keep_alive_seconds,
            endpoints: endpoints.into_iter().map(Into::into).collect(),
            instance: instance.into(),
            allocator: String::new(),
        }
    }

    /// The same, running with the allocator `name`.
    pub fn with_allocator(mut self, name: impl Into<String>) -> Self {
        self.allocator = name.into();
        self
    }

    /// Whether `other` is another configuration or another start of the server: what ends a
    /// load generator's run.
    pub fn differs_from(&self, other: &Health) -> bool {
        self.workers != other.workers
            || self.keep_alive_seconds != other.keep_alive_seconds
            || self.endpoints != other.endpoints
            || self.instance != other.instance
            || self.allocator != other.allocator
    }

    /// `workers=4 keep_alive=5s endpoints=/ping,/pong instance=… allocator=system`, for logs.
    pub fn describe(&self) -> String {
        format!(
            "workers={} keep_alive={}s endpoints={} instance={} allocator={}",
            self.workers,
            self.keep_alive_seconds,
            self.endpoints.join(","),
            self.instance,
            self.allocator
        )
    }
}

/// A name for this start of a server process: the process id and the start time in
/// milliseconds since the Unix epoch, in hex (`1f2a-18c3b2a9f00`). Two starts differ unless
/// the same pid starts again within the same millisecond.
pub fn instance_id() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis());
    format!("{:x}-{millis:x}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_health_body_without_endpoints_or_instance_still_reads() {
        let old: Health =
            serde_json::from_str(r#"{"status":"ok","workers":2,"keep_alive_seconds":5}"#).unwrap();
        assert_eq!(old, Health::ok(2, 5, Vec::<String>::new(), ""));
    }

    #[test]
    fn any_setting_or_a_restart_is_a_difference() {
        let base = Health::ok(1, 5, ["/ping"], "a");
        assert!(!base.differs_from(&base.clone()));
        assert!(base.differs_from(&Health::ok(4, 5, ["/ping"], "a")));
        assert!(base.differs_from(&Health::ok(1, 0, ["/ping"], "a")));
        assert!(base.differs_from(&Health::ok(1, 5, ["/ping", "/lean"], "a")));
        assert!(base.differs_from(&Health::ok(1, 5, ["/ping"], "b")));
    }
}
