//! Every knob of the server: a clap flag with an environment-variable twin of the same name.
//!
//! Tests build a config with `ServerConfig::parse_from(["lab-server", "--workers", "3"])`;
//! the binary reads flags and environment with `ServerConfig::parse()`.

use std::time::Duration;

use actix_web::http::KeepAlive;
use clap::Parser;
use serde::Serialize;

/// Limits are in mebibytes: `MAX_BODY_MB=64` means 64 MiB, comfortably above a 25 MB body.
pub const BYTES_PER_MB: usize = 1024 * 1024;

/// lab-server: an actix-web server that shows what 25 MB JSON uploads do to small requests
/// on async workers, and five strategies to handle them side by side.
#[derive(Debug, Clone, Parser, Serialize)]
#[command(name = "lab-server", version, about, long_about = None)]
pub struct ServerConfig {
    /// Address to listen on (port 0 picks a free port; the bound address is printed).
    #[arg(long, env = "BIND", default_value = "0.0.0.0:8000")]
    pub bind: String,

    /// The memory allocator: `system` (what a Rust program gets by default) or `jemalloc`.
    /// Unset: the binary's own (`lab-server`: system, `lab-server-jemalloc`: jemalloc). Asked
    /// for the other one, a binary hands over to the binary built with it, found beside it.
    #[arg(long, env = "ALLOCATOR", value_parser = str::parse::<lab_core::Allocator>)]
    pub allocator: Option<lab_core::Allocator>,

    /// Number of actix workers. Each is one thread running one single-threaded event loop;
    /// a connection stays on the worker that accepted it.
    #[arg(long, env = "WORKERS", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: u16,

    /// Connections each worker holds open at once; past it the worker accepts no new one until
    /// one closes (the rest wait in the listen queue). Each connection holds about 1.6 MB at
    /// most whatever its client does (see `connection.rs`), so this bounds what clients that
    /// never read their answers can make the server hold: WORKERS x MAX_CONNECTIONS x 1.6 MB.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=25_600))]
    pub max_connections: u32,

    /// Largest request body accepted, in MiB. Larger bodies get 413: refused from
    /// Content-Length before reading, or stopped as soon as a chunked body passes it.
    #[arg(long, env = "MAX_BODY_MB", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub max_body_mb: u32,

    /// Keep-alive in seconds. 0 = off: the server closes each connection after one
    /// response (`connection: close`), so every request pays for a new connection.
    #[arg(long, env = "KEEP_ALIVE", default_value_t = 5)]
    pub keep_alive: u64,

    /// Threads in each worker's blocking pool (used by /offload's `web::block`). The pool is
    /// per worker, so the total is WORKERS x BLOCKING_THREADS.
    #[arg(long, env = "BLOCKING_THREADS", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub blocking_threads: u16,

    /// /offload moves a body's parse to the blocking pool only when the body has at least
    /// this many KiB; smaller bodies are parsed on the event loop, where they take
    /// microseconds. Offloading everything would make small requests queue for one of the
    /// BLOCKING_THREADS behind 25 MB parses: the queue moves from the loop to the pool.
    /// 0 = offload every body (to see that happen). Default 64 KiB, the small/medium boundary
    /// of the `size_class` label.
    #[arg(long, env = "OFFLOAD_MIN_KB", default_value_t = 64)]
    pub offload_min_kb: u64,

    /// The scheduling priority (Linux nice value, 1 to 19) of the blocking-pool threads that
    /// run /offload's parses: above the event loop's 0, so when a loop and a parse want the
    /// same core, the loop wins. 0 = the same priority as the loop (to see what it buys).
    #[arg(long, env = "OFFLOAD_NICE", default_value_t = 10, value_parser = clap::value_parser!(u8).range(0..=19))]
    pub offload_nice: u8,

    /// Seconds a new connection's first request head may take to arrive whole, counted from
    /// when the worker first looks at the connection; 0 = no limit. Past it the server answers
    /// 408 and closes the connection. actix's default is 5 s, meant for slow clients; here it
    /// would also hit a request that arrived in time but sat in the socket while its worker's
    /// event loop was blocked by a 25 MB parse: that request would be counted as a 408 instead
    /// of being served late, hiding the very queueing delay this lab measures. The default is
    /// therefore 60 s, above lab-loadgen's REQUEST_TIMEOUT (30 s), so under the default
    /// settings a long queue shows up as client-side latency (or client timeouts), not 408s.
    #[arg(long, env = "CLIENT_REQUEST_TIMEOUT", default_value_t = 60)]
    pub client_request_timeout: u64,

    /// Seconds the server waits for in-flight requests after SIGTERM/SIGINT before it drops
    /// them.
    #[arg(long, env = "SHUTDOWN_TIMEOUT", default_value_t = 30)]
    pub shutdown_timeout: u64,

    /// Seconds an upload may go without a body byte once a stop (SIGTERM/SIGINT) has begun:
    /// past it the upload is cut off with 503 `shutting_down` and its connection closed, so a
    /// client that stalls cannot hold the restart for SHUTDOWN_TIMEOUT. Uploads that keep
    /// receiving bytes finish. 0 = cut off at once every upload that is not receiving bytes
    /// when the stop begins.
    #[arg(long, env = "SHUTDOWN_IDLE_GRACE", default_value_t = 1, value_parser = clap::value_parser!(u64).range(0..=3_600))]
    pub shutdown_idle_grace: u64,

    /// Period of each worker's event-loop lag probe in milliseconds: a timer that should
    /// wake every period; how late it wakes is the time the loop was busy with something else.
    #[arg(long, env = "LAG_PROBE_INTERVAL_MS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub lag_probe_interval_ms: u64,

    /// Memory that request bodies and the maps parsed from them may hold in all workers
    /// together, in MiB. A strategy request charges each chunk of its body as it arrives, then
    /// what its parse will allocate; a request that would go over gets 503 `server_busy`
    /// instead of growing memory without bound. Peak RSS stays under about this plus the
    /// server's own ~100 MiB (measured in docs/server.md, "Memory").
    #[arg(long, env = "BODY_BUDGET_MB", default_value_t = 2048, value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    pub body_budget_mb: u32,

    /// Seconds an upload may go without a single body byte arriving; then it is cut off with
    /// 408 `body_read_timeout` and its connection closed. 0 = no limit. A live link, however
    /// slow, sends something every few seconds; a client that sent headers and then nothing
    /// does not hold a connection (and its worker's attention) for longer than this.
    #[arg(long, env = "BODY_IDLE_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub body_idle_timeout: u64,

    /// Slowest average upload rate accepted, in KiB/s, counted from when the request's head was
    /// read, after a grace period of BODY_IDLE_TIMEOUT seconds: an upload that falls behind is
    /// cut off with 408 `body_read_timeout`. 0 = no minimum. The default, 8 KiB/s, is 64 kbit/s,
    /// a 25 MB body in under an hour: no real link is that slow, but a client trickling a byte
    /// every few seconds to hold the connection is.
    #[arg(long, env = "BODY_MIN_RATE_KB", default_value_t = 8, value_parser = clap::value_parser!(u64).range(0..=1_048_576))]
    pub body_min_rate_kb: u64,
}

impl ServerConfig {
    /// The body limit in bytes.
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_mb as usize * BYTES_PER_MB
    }

    /// The smallest body /offload sends to the blocking pool, in bytes.
    pub fn offload_min_bytes(&self) -> usize {
        usize::try_from(self.offload_min_kb.saturating_mul(1024)).unwrap_or(usize::MAX)
    }

    /// The in-flight body budget in bytes.
    pub fn body_budget_bytes(&self) -> usize {
        self.body_budget_mb as usize * BYTES_PER_MB
    }

    /// actix's keep-alive setting: 0 seconds means disabled (close after each response).
    pub fn keep_alive_setting(&self) -> KeepAlive {
        match self.keep_alive {
            0 => KeepAlive::Disabled,
            seconds => KeepAlive::Timeout(Duration::from_secs(seconds)),
        }
    }

    /// actix's client request timeout: `Duration::ZERO` is how actix spells "no limit".
    pub fn client_request_timeout_setting(&self) -> Duration {
        Duration::from_secs(self.client_request_timeout)
    }

    /// The rules every upload is read under (see [`crate::upload`]).
    pub fn upload_rules(&self) -> crate::upload::guard::UploadRules {
        crate::upload::guard::UploadRules {
            max_bytes: self.max_body_bytes(),
            idle_timeout: (self.body_idle_timeout > 0)
                .then(|| Duration::from_secs(self.body_idle_timeout)),
            min_bytes_per_second: self.body_min_rate_kb.saturating_mul(1024),
        }
    }

    /// How long an upload may go without a byte once a stop has begun.
    pub fn shutdown_idle_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_idle_grace)
    }

    /// The lag probe's period.
    pub fn lag_probe_interval(&self) -> Duration {
        Duration::from_millis(self.lag_probe_interval_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documented_ones() {
        let config = ServerConfig::parse_from(["lab-server"]);
        assert_eq!(config.bind, "0.0.0.0:8000");
        assert_eq!(config.workers, 1);
        assert_eq!(config.max_body_bytes(), 64 * 1024 * 1024);
        assert_eq!(config.keep_alive, 5);
        assert!(matches!(config.keep_alive_setting(), KeepAlive::Timeout(d) if d.as_secs() == 5));
        assert_eq!(
            config.client_request_timeout_setting(),
            Duration::from_secs(60)
        );
        assert_eq!(config.offload_min_bytes(), 64 * 1024);
    }

    #[test]
    fn client_request_timeout_zero_is_no_limit() {
        let config = ServerConfig::parse_from(["lab-server", "--client-request-timeout", "0"]);
        assert_eq!(config.client_request_timeout_setting(), Duration::ZERO);
    }

    #[test]
    fn keep_alive_zero_disables_keep_alive() {
        let config = ServerConfig::parse_from(["lab-server", "--keep-alive", "0"]);
        assert!(matches!(config.keep_alive_setting(), KeepAlive::Disabled));
    }

    #[test]
    fn zero_workers_is_refused() {
        assert!(ServerConfig::try_parse_from(["lab-server", "--workers", "0"]).is_err());
    }
}
