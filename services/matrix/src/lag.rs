//! The server's event-loop lag during a scenario's run, read from the server's own `/metrics`.
//!
//! Both servers (lab-server and the study's FastAPI server) export the histogram
//! [`EVENT_LOOP_LAG`]`{worker="N"}`: each worker's lag probe asks to wake every few
//! milliseconds and records how late it woke, that is how long its event loop was busy with
//! something else. The matrix scrapes it twice per scenario, right before the load generator
//! starts and right after it returns (drained, the server still up), so neither scrape is on
//! a timed path. The first scrape is taken from the second worker by worker, what is left is
//! summed over the workers, and p99 and the highest bucket reached are read from it the way
//! Prometheus' `histogram_quantile` reads a histogram.
//!
//! The text format is read by the `prometheus-parse` crate, which groups a histogram's
//! `_bucket` samples by their other labels.

use std::collections::BTreeMap;
use std::time::Duration;

/// The lag histogram's name, from lab-core's definition (lab-server registers it from there;
/// a test here checks services/fastapi/labfastapi/metrics.py says it too).
pub const EVENT_LOOP_LAG: &str = lab_core::metrics::server::EVENT_LOOP_LAG.name;

/// Where both servers serve their metrics.
pub const METRICS_PATH: &str = "/metrics";

/// How long one scrape may take. The server is idle at both scrapes (before the load, after the
/// drain), so it answers in milliseconds; the bound only keeps a stuck server from holding the
/// matrix for long.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(5);

/// The quantile the matrix reports.
const QUANTILE: f64 = 0.99;

/// Why a scrape gave no lag histogram to use. Never fails a scenario: the runner logs it and
/// leaves the lag columns empty.
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    /// The request failed or timed out, or the body could not be read.
    #[error("GET {url}: {error}")]
    Request {
        /// The URL scraped.
        url: String,
        /// What went wrong.
        error: reqwest::Error,
    },
    /// The server answered with another status than 200.
    #[error("GET {url}: status {status}")]
    Status {
        /// The URL scraped.
        url: String,
        /// The status it answered.
        status: reqwest::StatusCode,
    },
    /// The body could not be read as the text format.
    #[error("cannot read the metrics text: {0}")]
    Malformed(std::io::Error),
}

/// Cumulative bucket counts of one histogram: `(le, count)` in increasing `le`, `+Inf` last
/// when the server exported it. Counts are `f64`s, as the text format carries them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Buckets(pub Vec<(f64, f64)>);

impl Buckets {
    /// Adds `count` to the bucket with upper bound `le`, making it if needed.
    fn add(&mut self, le: f64, count: f64) {
        match self.0.iter_mut().find(|(bound, _)| *bound == le) {
            Some((_, total)) => *total += count,
            None => {
                self.0.push((le, count));
                self.0.sort_by(|a, b| a.0.total_cmp(&b.0));
            }
        }
    }

    /// The count of the bucket with upper bound `le` (0 when there is none).
    fn count(&self, le: f64) -> f64 {
        self.0
            .iter()
            .find(|(bound, _)| *bound == le)
            .map_or(0.0, |(_, count)| *count)
    }

    /// The buckets with counts that never decrease, as `histogram_quantile` makes them first
    /// (a scrape that caught the counters mid-update can be off by one).
    fn monotonic(&self) -> Vec<(f64, f64)> {
        let mut highest = 0.0_f64;
        self.0
            .iter()
            .map(|&(bound, count)| {
                highest = highest.max(count);
                (bound, highest)
            })
            .collect()
    }

    /// The buckets when they can be read: a `+Inf` bucket last, holding at least one
    /// observation.
    fn readable(&self) -> Option<Vec<(f64, f64)>> {
        let buckets = self.monotonic();
        let &(last_bound, total) = buckets.last()?;
        (last_bound == f64::INFINITY && total > 0.0).then_some(buckets)
    }

    /// The `q` quantile (0 < q ≤ 1) as Prometheus' `histogram_quantile` computes it: the
    /// bucket that holds the rank `q × total`, interpolated linearly between its bounds (from 0
    /// for the first bucket); the highest finite bound when the rank falls in `+Inf`. `None`
    /// without observations or without a `+Inf` bucket.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if !(q > 0.0 && q <= 1.0) {
            return None;
        }
        let buckets = self.readable()?;
        let total = buckets.last()?.1;
        let rank = q * total;
        let index = buckets.iter().position(|&(_, count)| count >= rank)?;
        if index == buckets.len() - 1 {
            // In +Inf: the highest finite bound, or nothing when there is none.
            return index.checked_sub(1).map(|below| buckets[below].0);
        }
        let (bound, count) = buckets[index];
        if index == 0 && bound <= 0.0 {
            return Some(bound);
        }
        let (start, below) = match index {
            0 => (0.0, 0.0),
            _ => buckets[index - 1],
        };
        Some(start + (bound - start) * (rank - below) / (count - below))
    }

    /// The smallest bucket bound that holds every observation: the longest one was at most
    /// this long (and longer than the bound below). `+Inf` when one passed the last finite
    /// bound; `None` without observations.
    pub fn max_bound(&self) -> Option<f64> {
        let buckets = self.readable()?;
        let total = buckets.last()?.1;
        buckets
            .iter()
            .find(|&&(_, count)| count >= total)
            .map(|&(bound, _)| bound)
    }
}

/// The lag histogram as one scrape found it: each worker's cumulative buckets, by its `worker`
/// label (samples that differ in any other label are added together). Empty when the server
/// exports no lag histogram.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LagScrape {
    workers: BTreeMap<String, Buckets>,
}

impl LagScrape {
    /// Reads the lag histogram out of a `/metrics` body in the text format (its `# TYPE`
    /// line says it is a histogram, as both servers write it); every other family is skipped.
    pub fn parse(text: &str) -> Result<Self, ScrapeError> {
        let lines = text.lines().map(|line| Ok(line.to_owned()));
        let exposition = prometheus_parse::Scrape::parse(lines).map_err(ScrapeError::Malformed)?;
        let mut scrape = Self::default();
        for sample in exposition
            .samples
            .iter()
            .filter(|sample| sample.metric == EVENT_LOOP_LAG)
        {
            let prometheus_parse::Value::Histogram(counts) = &sample.value else {
                continue;
            };
            let worker = sample.labels.get("worker").unwrap_or_default().to_string();
            let buckets = scrape.workers.entry(worker).or_default();
            for count in counts {
                buckets.add(count.less_than, count.count);
            }
        }
        Ok(scrape)
    }

    /// Whether the server exported no lag histogram.
    pub fn is_empty(&self) -> bool {
        self.workers.is_empty()
    }

    /// What the workers recorded between `before` and this scrape, summed over the workers. A
    /// worker that `before` does not have (it started in between) counts whole; a worker whose
    /// counts went down (a restart under the same label) counts from zero, as Prometheus'
    /// `increase` treats a reset; a worker gone from this scrape counts nothing.
    pub fn since(&self, before: &LagScrape) -> Buckets {
        let mut sum = Buckets::default();
        for (worker, after) in &self.workers {
            let earlier = before
                .workers
                .get(worker)
                .filter(|earlier| after.0.iter().all(|&(le, n)| n >= earlier.count(le)));
            for &(le, count) in &after.0 {
                let already = earlier.map_or(0.0, |earlier| earlier.count(le));
                sum.add(le, count - already);
            }
        }
        sum
    }
}

/// The lag numbers a scenario's rows carry, in ms; `None` when there are none (no lag
/// histogram, a failed scrape, or no probe recorded anything).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RunLag {
    /// p99 of the probe's wake-up delays during the run.
    pub p99_ms: Option<f64>,
    /// The smallest bucket bound holding every delay (`inf` past the last bucket).
    pub max_ms: Option<f64>,
}

impl RunLag {
    /// The lag recorded between two scrapes.
    pub fn between(before: &LagScrape, after: &LagScrape) -> Self {
        let buckets = after.since(before);
        Self {
            p99_ms: buckets.quantile(QUANTILE).map(seconds_to_ms),
            max_ms: buckets.max_bound().map(seconds_to_ms),
        }
    }
}

/// Seconds to ms, rounded to the µs (bucket bounds then read `0.72`, not `0.7200000000000001`).
fn seconds_to_ms(seconds: f64) -> f64 {
    if seconds.is_finite() {
        (seconds * 1e6).round() / 1e3
    } else {
        seconds
    }
}

/// Reads one server's lag histogram over HTTP.
#[derive(Debug, Clone)]
pub struct LagScraper {
    client: reqwest::Client,
    url: String,
}

impl LagScraper {
    /// A scraper of `base_url`'s `/metrics` (`http://127.0.0.1:<port>`).
    pub fn new(base_url: &str) -> Result<Self, ScrapeError> {
        let url = format!("{base_url}{METRICS_PATH}");
        let client = reqwest::Client::builder()
            .timeout(SCRAPE_TIMEOUT)
            .no_proxy()
            .build()
            .map_err(|error| ScrapeError::Request {
                url: url.clone(),
                error,
            })?;
        Ok(Self { client, url })
    }

    /// One scrape: the server's `/metrics` text as it is now.
    pub async fn text(&self) -> Result<String, ScrapeError> {
        let request_error = |error| ScrapeError::Request {
            url: self.url.clone(),
            error,
        };
        let response = self
            .client
            .get(&self.url)
            .send()
            .await
            .map_err(request_error)?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(ScrapeError::Status {
                url: self.url.clone(),
                status: response.status(),
            });
        }
        response.text().await.map_err(request_error)
    }

    /// One scrape: the lag histogram as the server has it now.
    pub async fn scrape(&self) -> Result<LagScrape, ScrapeError> {
        LagScrape::parse(&self.text().await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// lab-server's way of writing it (worker first, integer counts), with the rest of an
    /// exposition around it.
    const RUST_BEFORE: &str = r#"# HELP lab_server_event_loop_lag_seconds How late each worker's periodic timer woke up.
# TYPE lab_server_event_loop_lag_seconds histogram
lab_server_event_loop_lag_seconds_bucket{worker="0",le="0.0005"} 8
lab_server_event_loop_lag_seconds_bucket{worker="0",le="0.001"} 10
lab_server_event_loop_lag_seconds_bucket{worker="0",le="0.01"} 10
lab_server_event_loop_lag_seconds_bucket{worker="0",le="+Inf"} 10
lab_server_event_loop_lag_seconds_sum{worker="0"} 0.004
lab_server_event_loop_lag_seconds_count{worker="0"} 10
lab_server_event_loop_lag_seconds_total_other{worker="0"} 99
lab_server_event_loop_lag_seconds_bucket_other{worker="0",le="+Inf"} 99
http_server_active_requests{endpoint="/p{i}ng \"x\""} 1
"#;

    /// prometheus_client's multiprocess way (le first, float counts), one scrape later: worker 0
    /// recorded 90 more (80 under 0.5 ms, 5 under 1 ms, 5 under 10 ms), worker 1 appeared with
    /// 100 (all under 0.5 ms).
    const PYTHON_AFTER: &str = r#"# HELP lab_server_event_loop_lag_seconds Multiprocess metric
# TYPE lab_server_event_loop_lag_seconds histogram
lab_server_event_loop_lag_seconds_bucket{le="0.0005",worker="0"} 88.0
lab_server_event_loop_lag_seconds_bucket{le="0.001",worker="0"} 95.0
lab_server_event_loop_lag_seconds_bucket{le="0.01",worker="0"} 100.0
lab_server_event_loop_lag_seconds_bucket{le="+Inf",worker="0"} 100.0
lab_server_event_loop_lag_seconds_bucket{le="0.0005",worker="1"} 100.0
lab_server_event_loop_lag_seconds_bucket{le="0.001",worker="1"} 100.0
lab_server_event_loop_lag_seconds_bucket{le="0.01",worker="1"} 100.0
lab_server_event_loop_lag_seconds_bucket{le="+Inf",worker="1"} 100.0
lab_server_event_loop_lag_seconds_count{worker="1"} 100.0
"#;

    fn parse(text: &str) -> LagScrape {
        LagScrape::parse(text).unwrap()
    }

    /// Only the lag family's buckets are read, whatever the label order and number style.
    #[test]
    fn parse_reads_the_lag_buckets_of_each_worker_and_nothing_else() {
        let before = parse(RUST_BEFORE);
        assert_eq!(
            before.workers["0"],
            Buckets(vec![
                (0.0005, 8.0),
                (0.001, 10.0),
                (0.01, 10.0),
                (f64::INFINITY, 10.0)
            ])
        );
        assert_eq!(before.workers.len(), 1);
        let after = parse(PYTHON_AFTER);
        assert_eq!(after.workers.len(), 2);
        assert_eq!(after.workers["1"].0[0], (0.0005, 100.0));
        assert!(parse("# nothing\nother_metric 1\n").is_empty());
        assert!(parse("").is_empty());
    }

    /// The difference is taken worker by worker and summed: a worker only in the second scrape
    /// counts whole.
    #[test]
    fn difference_sums_the_workers_and_counts_a_new_worker_whole() {
        let run = parse(PYTHON_AFTER).since(&parse(RUST_BEFORE));
        // Worker 0: 80 / 85 / 90 / 90, worker 1: 100 / 100 / 100 / 100.
        assert_eq!(
            run,
            Buckets(vec![
                (0.0005, 180.0),
                (0.001, 185.0),
                (0.01, 190.0),
                (f64::INFINITY, 190.0)
            ])
        );
        // A reset (counts lower than before) counts from zero.
        assert_eq!(
            parse(RUST_BEFORE).since(&parse(PYTHON_AFTER)),
            parse(RUST_BEFORE).workers["0"]
        );
    }

    /// p99 and the max bucket on the difference above, computed by hand as
    /// `histogram_quantile(0.99, …)` would.
    #[test]
    fn p99_interpolates_inside_its_bucket_and_max_is_the_bucket_holding_everything() {
        let run = parse(PYTHON_AFTER).since(&parse(RUST_BEFORE));
        // rank 0.99 × 190 = 188.1, in (0.001, 0.01] which holds 185 → 190:
        // 0.001 + 0.009 × (188.1 − 185) / 5.
        let p99 = run.quantile(0.99).unwrap();
        assert!((p99 - (0.001 + 0.009 * 3.1 / 5.0)).abs() < 1e-12, "{p99}");
        assert_eq!(run.max_bound(), Some(0.01));
        // In the first bucket, interpolation starts at 0.
        assert_eq!(run.quantile(0.5), Some(0.0005 * 95.0 / 180.0));
        let lag = RunLag::between(&parse(RUST_BEFORE), &parse(PYTHON_AFTER));
        assert_eq!(lag.p99_ms, Some(6.58));
        assert_eq!(lag.max_ms, Some(10.0));
    }

    /// A rank in `+Inf` gives the highest finite bound; the max bucket is then `+Inf`.
    #[test]
    fn beyond_the_last_bound_p99_is_that_bound_and_max_is_inf() {
        let run = Buckets(vec![(0.5, 1.0), (1.0, 1.0), (f64::INFINITY, 10.0)]);
        assert_eq!(run.quantile(0.99), Some(1.0));
        assert_eq!(run.max_bound(), Some(f64::INFINITY));
    }

    /// No histogram, no observation, or no `+Inf` bucket: no numbers.
    #[test]
    fn empty_histograms_give_no_numbers() {
        let empty = LagScrape::default();
        assert_eq!(empty.since(&empty), Buckets::default());
        assert_eq!(RunLag::between(&empty, &empty), RunLag::default());
        let nothing_new = parse(RUST_BEFORE);
        assert_eq!(
            RunLag::between(&nothing_new, &nothing_new),
            RunLag::default()
        );
        assert_eq!(Buckets(vec![(0.5, 3.0)]).quantile(0.99), None);
        assert_eq!(Buckets(vec![(0.5, 3.0)]).max_bound(), None);
    }

    /// A server that is gone is an error the runner logs, not a panic or a hang.
    #[tokio::test]
    async fn a_server_that_is_gone_is_a_scrape_error() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let error = LagScraper::new(&format!("http://127.0.0.1:{port}"))
            .unwrap()
            .scrape()
            .await
            .unwrap_err();
        assert!(matches!(error, ScrapeError::Request { .. }), "{error}");
        assert!(error.to_string().contains("/metrics"), "{error}");
    }

    /// The name read here is the one the FastAPI server exports (lab-server registers it
    /// from the same lab-core definition).
    #[test]
    fn both_servers_export_the_name_read_here() {
        let services = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let line = format!("EVENT_LOOP_LAG = \"{EVENT_LOOP_LAG}\"");
        let text = std::fs::read_to_string(services.join("fastapi/labfastapi/metrics.py")).unwrap();
        assert!(
            text.contains(&line),
            "labfastapi/metrics.py does not say {line}"
        );
    }
}
