//! Saturation, named: is the server keeping up with the uploads, or is a queue growing for
//! the whole run? A saturated scenario's latency measures the length of the run, not the
//! server (the queue is as long as the run lets it grow), so its figures are flagged and no
//! headline comparison leans on them.
//!
//! Two views, either of which marks a scenario saturated:
//! - **the server's own time per upload** against the time between uploads. Both servers
//!   export `http_server_request_duration_seconds{size_class="large"}` (the uploads' size
//!   class: `medium` for uploads under 1 MiB); its `_sum` and `_count` are scraped before and
//!   after the load (with the lag histogram), and their differences give the server's time
//!   per upload. Utilisation = time per upload ÷
//!   (LARGE_INTERVAL × capacity), where capacity is how many uploads the server can work on
//!   at once: its event loops (WORKERS: one upload parsing at a time each) or, for
//!   `/offload`, its pool threads (WORKERS × BLOCKING_THREADS, 2 each by default), and never
//!   more than the CPUs the server may use. At 1 or more the uploads arrive faster than they
//!   are served.
//! - **the client's large latencies over the run**: the median of the last third (by
//!   scheduled start) against the median of the first third. A queue that grows for the whole
//!   run is saturation whatever the metric says (the server's clock starts when a worker picks
//!   a request up, so it cannot see the wait before that). It counts when the last third's
//!   median is [`GROWTH_SATURATED`] times the first's or more *and* at least half an interval
//!   between uploads higher: a 150 ms upload that takes 250 ms while the machine is busy has
//!   not queued, a queue that gains half an interval in two thirds of a run has.
//!
//! Past saturation the server's time per upload also holds the time an upload's body waited
//! while the loop parsed the one before it, so utilisation then grows with the queue: read
//! 1 or more as "saturated", not as by how much.

use lab_core::Strategy;
use lab_core::classes::LARGE;
use lab_core::metrics::server::REQUEST_DURATION;
use serde::{Deserialize, Serialize};

use crate::requests::RequestRecord;
use crate::scenario::{ScenarioKey, ServerKind};

/// Utilisation from which a scenario counts as saturated.
pub const UTILISATION_SATURATED: f64 = 1.0;

/// Growth of the large latency (last third's median ÷ first third's) from which a scenario
/// counts as saturated, with [`GROWTH_MIN_INTERVALS`].
pub const GROWTH_SATURATED: f64 = 1.5;

/// How much higher the last third's median must be than the first third's, in intervals
/// between uploads, for the growth to count: noise on a fast upload can pass the ratio, a
/// queue passes both.
pub const GROWTH_MIN_INTERVALS: f64 = 0.5;

/// lab-server's default BLOCKING_THREADS per worker (the matrix does not change it).
pub const BLOCKING_THREADS: usize = 2;

/// The server's upload time so far: `_sum` (seconds) and `_count` of the request histogram's
/// series of the uploads' `size_class` (`large` for the study's 25 MB; a smaller LARGE_SIZE_MB
/// may fall in `medium`, see [`upload_size_class`]), every endpoint and status added up.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LargeTime {
    /// Seconds spent on large requests.
    pub seconds: f64,
    /// Large requests answered.
    pub count: f64,
}

impl LargeTime {
    /// Reads the `size_class` series' `_sum` and `_count` out of a `/metrics` body.
    pub fn parse(text: &str, size_class: &str) -> std::io::Result<Self> {
        let lines = text.lines().map(|line| Ok(line.to_owned()));
        let exposition = prometheus_parse::Scrape::parse(lines)?;
        let sum_name = format!("{}_sum", REQUEST_DURATION.name);
        let count_name = format!("{}_count", REQUEST_DURATION.name);
        let mut time = Self::default();
        for sample in &exposition.samples {
            if sample.labels.get("size_class") != Some(size_class) {
                continue;
            }
            let value = match sample.value {
                prometheus_parse::Value::Untyped(value)
                | prometheus_parse::Value::Counter(value)
                | prometheus_parse::Value::Gauge(value) => value,
                _ => continue,
            };
            if sample.metric == sum_name {
                time.seconds += value;
            } else if sample.metric == count_name {
                time.count += value;
            }
        }
        Ok(time)
    }

    /// The server's time per upload between `before` and this scrape, ms; `None` when no
    /// upload finished in between.
    pub fn per_upload_ms_since(&self, before: &LargeTime) -> Option<f64> {
        let count = self.count - before.count;
        (count >= 1.0).then(|| (self.seconds - before.seconds) / count * 1e3)
    }
}

/// The server's `size_class` of an upload of `size_mb` (a study body of N MB is about N × 10^6
/// bytes).
pub fn upload_size_class(size_mb: f64) -> &'static str {
    lab_core::metrics::size_class(lab_core::payload::raw_len(size_mb))
}

/// How many uploads the scenario's server can work on at once, on `server_cpus` CPUs.
pub fn capacity(key: &ScenarioKey, server_cpus: usize) -> f64 {
    let parallel = match (key.server, key.strategy) {
        (ServerKind::Actix, Strategy::Offload) => key.workers * BLOCKING_THREADS,
        _ => key.workers,
    };
    parallel.min(server_cpus.max(1)) as f64
}

/// How the large latency moved over a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Growth {
    /// The last third's median over the first third's.
    pub ratio: f64,
    /// The last third's median minus the first third's, ms.
    pub increase_ms: f64,
}

/// The last third's median large latency against the first third's, by scheduled start;
/// `None` with fewer than 3 successful large requests.
pub fn queue_growth(records: &[RequestRecord]) -> Option<Growth> {
    let mut large: Vec<(f64, f64)> = records
        .iter()
        .filter(|r| r.class == LARGE && r.is_ok())
        .filter_map(|r| Some((r.scheduled_ms.0, r.latency_ms?.0)))
        .collect();
    if large.len() < 3 {
        return None;
    }
    large.sort_by(|a, b| a.0.total_cmp(&b.0));
    let third = large.len() / 3;
    let median = |part: &[(f64, f64)]| {
        let mut values: Vec<f64> = part.iter().map(|p| p.1).collect();
        crate::interval::median(&mut values)
    };
    let first = median(&large[..third])?;
    let last = median(&large[large.len() - third..])?;
    (first > 0.0).then(|| Growth {
        ratio: last / first,
        increase_ms: last - first,
    })
}

/// One scenario's saturation in one round.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Saturation {
    /// The server's own time per upload, ms.
    pub server_large_ms: Option<f64>,
    /// Uploads it can work on at once.
    pub capacity: Option<f64>,
    /// Time per upload ÷ (interval × capacity).
    pub utilisation: Option<f64>,
    /// The large latency's growth over the run (last third's median ÷ first third's).
    pub queue_growth: Option<f64>,
    /// The same as a difference, ms.
    pub queue_growth_ms: Option<f64>,
    /// Whether either view says saturated.
    pub saturated: bool,
}

impl Saturation {
    /// Both views together: `server_large_ms` from the metrics, `growth` from the client.
    pub fn judge(
        server_large_ms: Option<f64>,
        capacity: f64,
        large_interval_s: f64,
        growth: Option<Growth>,
    ) -> Self {
        let utilisation = server_large_ms
            .filter(|_| large_interval_s > 0.0 && capacity > 0.0)
            .map(|ms| ms / (large_interval_s * 1e3 * capacity));
        let queued = growth.is_some_and(|g| {
            g.ratio >= GROWTH_SATURATED
                && g.increase_ms >= GROWTH_MIN_INTERVALS * large_interval_s * 1e3
        });
        Self {
            server_large_ms,
            capacity: Some(capacity),
            utilisation,
            queue_growth: growth.map(|g| g.ratio),
            queue_growth_ms: growth.map(|g| g.increase_ms),
            saturated: utilisation.is_some_and(|u| u >= UTILISATION_SATURATED) || queued,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::tests::record;
    use lab_core::classes::{LARGE, SMALL};
    use lab_loadgen::options::Connection;

    const METRICS: &str = r#"# TYPE http_server_request_duration_seconds histogram
http_server_request_duration_seconds_bucket{endpoint="ping",size_class="large",status="200",le="+Inf"} 4
http_server_request_duration_seconds_sum{endpoint="ping",size_class="large",status="200"} 3.5
http_server_request_duration_seconds_count{endpoint="ping",size_class="large",status="200"} 4
http_server_request_duration_seconds_sum{endpoint="ping",size_class="large",status="503"} 0.5
http_server_request_duration_seconds_count{endpoint="ping",size_class="large",status="503"} 1
http_server_request_duration_seconds_sum{endpoint="ping",size_class="small",status="200"} 9
http_server_request_duration_seconds_count{endpoint="ping",size_class="small",status="200"} 90
"#;

    /// Only the large series count, every status added up.
    #[test]
    fn large_time_adds_the_large_series_only() {
        let after = LargeTime::parse(METRICS, LARGE).unwrap();
        assert_eq!(upload_size_class(25.0), LARGE);
        assert_eq!(upload_size_class(0.5), "medium");
        assert_eq!(
            LargeTime::parse(METRICS, "medium").unwrap(),
            LargeTime::default()
        );
        assert_eq!(
            after,
            LargeTime {
                seconds: 4.0,
                count: 5.0
            }
        );
        let before = LargeTime {
            seconds: 1.0,
            count: 2.0,
        };
        assert_eq!(after.per_upload_ms_since(&before), Some(1000.0));
        assert_eq!(after.per_upload_ms_since(&after), None);
    }

    /// Capacity: a loop per worker, /offload's pool threads, never more than the CPUs.
    #[test]
    fn capacity_counts_loops_or_pool_threads_up_to_the_cpus() {
        let key = |workers, strategy| ScenarioKey::actix(workers, strategy, Connection::New);
        assert_eq!(capacity(&key(1, Strategy::Ping), 2), 1.0);
        assert_eq!(capacity(&key(4, Strategy::Ping), 2), 2.0);
        assert_eq!(capacity(&key(1, Strategy::Offload), 2), 2.0);
        assert_eq!(capacity(&key(1, Strategy::Offload), 8), 2.0);
        assert_eq!(capacity(&key(4, Strategy::Stream), 8), 4.0);
    }

    /// A server busy 1.2 s per upload arriving every second on one loop is saturated; 0.4 s
    /// is not, unless the client saw its queue grow by a ratio and by half an interval.
    #[test]
    fn saturated_when_busier_than_the_interval_or_when_the_queue_grows() {
        let growth = |ratio, increase_ms| Some(Growth { ratio, increase_ms });
        let over = Saturation::judge(Some(1200.0), 1.0, 1.0, growth(1.1, 100.0));
        assert!(over.saturated);
        assert!((over.utilisation.unwrap() - 1.2).abs() < 1e-12);
        let under = Saturation::judge(Some(400.0), 1.0, 1.0, growth(1.1, 40.0));
        assert!(!under.saturated);
        assert!(Saturation::judge(Some(400.0), 1.0, 1.0, growth(2.0, 800.0)).saturated);
        // A fast upload that got 70% slower on a busy machine did not queue.
        let noisy = Saturation::judge(Some(150.0), 1.0, 1.0, growth(1.7, 105.0));
        assert!(!noisy.saturated);
        assert_eq!(noisy.queue_growth_ms, Some(105.0));
        assert!(!Saturation::judge(None, 1.0, 1.0, None).saturated);
    }

    /// Growth is the last third's median large latency over the first third's, small
    /// requests ignored.
    #[test]
    fn growth_compares_the_last_third_with_the_first() {
        let growing: Vec<_> = (0..9)
            .map(|i| record(LARGE, 1000.0 * i as f64, 1000.0 + 500.0 * i as f64, 0))
            .chain([record(SMALL, 0.0, 9000.0, 0)])
            .collect();
        // First third 1000, 1500, 2000 → 1500; last 4000, 4500, 5000 → 4500.
        assert_eq!(
            queue_growth(&growing),
            Some(Growth {
                ratio: 3.0,
                increase_ms: 3000.0
            })
        );
        let flat: Vec<_> = (0..9)
            .map(|i| record(LARGE, 1000.0 * i as f64, 150.0 + (i % 2) as f64, 0))
            .collect();
        assert!(queue_growth(&flat).unwrap().ratio < 1.01);
        assert_eq!(queue_growth(&flat[..2]), None);
    }
}
