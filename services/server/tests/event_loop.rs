//! The lesson itself, measured: a 25 MB parse on the event loop (/pong) makes the worker's lag
//! probe wake as late as the parse is long; the same parse on the blocking pool (/offload)
//! does not, and neither does /stream's, cut into slices on the loop. Compared as ratios of
//! two measurements from the same run, never to a fixed time.

mod common;

use common::{Exposition, TestApp, large_body, spawn_app};
use lab_core::metrics::server;
use lab_core::schema::LabResponse;

/// Cumulative lag-histogram buckets of worker 0: `(le, count)`, `+Inf` last.
fn lag_buckets(exposition: &Exposition) -> Vec<(f64, f64)> {
    exposition
        .find(
            &format!("{}_bucket", server::EVENT_LOOP_LAG.name),
            &[("worker", "0")],
        )
        .map(|sample| (sample.labels["le"].parse().unwrap(), sample.value))
        .collect()
}

/// A lower bound of the largest lag recorded between two scrapes: the largest bucket bound
/// that some new sample exceeded.
fn largest_new_lag(before: &[(f64, f64)], after: &[(f64, f64)]) -> f64 {
    let new_total = after.last().unwrap().1 - before.last().unwrap().1;
    before
        .iter()
        .zip(after)
        .filter(|((_, count_before), (_, count_after))| {
            new_total - (count_after - count_before) > 0.0
        })
        .map(|((bound, _), _)| *bound)
        .fold(0.0, f64::max)
}

/// The lag buckets once the probe has recorded two more samples than at the first scrape
/// after the response. The probe records a late wake only when it next runs, and after a
/// long parse the loop may serve our scrape before it: polling until two newer samples exist
/// makes sure the late one is in.
async fn lag_buckets_after_two_more_probes(app: &TestApp) -> Vec<(f64, f64)> {
    let total = |buckets: &[(f64, f64)]| buckets.last().unwrap().1;
    let first = lag_buckets(&app.metrics().await);
    for _ in 0..500 {
        let buckets = lag_buckets(&app.metrics().await);
        if total(&buckets) >= total(&first) + 2.0 {
            return buckets;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("the lag probe recorded no new sample in 500 scrapes");
}

/// Sends the 25 MB body to `endpoint` and returns (largest new lag, seconds the strategy's
/// parse + compute + drop took by its own profile).
async fn lag_during(app: &TestApp, endpoint: &str) -> (f64, f64) {
    let before = lag_buckets(&app.metrics().await);
    let response = app.post_json(endpoint, large_body().to_vec()).await;
    assert_eq!(response.status(), 200);
    let answer: LabResponse = response.json().await.unwrap();
    let after = lag_buckets_after_two_more_probes(app).await;
    let work_ms: f64 = ["parse", "compute", "drop"]
        .iter()
        .map(|phase| answer.profiling[*phase])
        .sum();
    (largest_new_lag(&before, &after), work_ms / 1e3)
}

/// WORKERS=1: /pong's parse shows up whole in the loop's lag; /offload's does not.
#[tokio::test]
async fn parse_on_the_loop_shows_as_lag_and_offloaded_parse_does_not() {
    large_body(); // generated before the server starts (see the strategies tests)
    // KEEP_ALIVE=0: a pooled connection idle through a multi-second parse (debug build, busy
    // machine) may be closed by the server just as the next scrape reuses it (see
    // docs/server.md, "actix's keep-alive clock goes stale").
    let app = spawn_app(&["--workers", "1", "--keep-alive", "0"]).await;
    let (pong_lag, pong_work) = lag_during(&app, "/pong").await;
    let (offload_lag, offload_work) = lag_during(&app, "/offload").await;
    println!(
        "/pong lag {pong_lag}s work {pong_work}s; /offload lag {offload_lag}s work {offload_work}s"
    );
    assert!(
        pong_lag >= 0.5 * pong_work,
        "/pong: lag {pong_lag:.3}s for {pong_work:.3}s of work on the loop"
    );
    assert!(
        offload_lag < 0.5 * offload_work,
        "/offload: lag {offload_lag:.3}s for {offload_work:.3}s of work off the loop"
    );
}

/// WORKERS=1: /lean parses a 25 MB body in one go on the loop, and its work shows whole in the
/// lag; /stream does its work on the same loop, but in slices of about a millisecond with a
/// yield after each, so its largest lag is a small fraction of /lean's. (What lag /stream
/// shows is mostly the operating system's: its loop is busy for the whole upload, and on a
/// shared 2-core machine another process takes the core for a few ms now and then.)
#[tokio::test]
async fn stream_holds_the_loop_a_slice_at_a_time_where_lean_holds_it_whole() {
    large_body();
    // KEEP_ALIVE=0: a pooled connection idle through a multi-second parse (debug build, busy
    // machine) may be closed by the server just as the next scrape reuses it (see
    // docs/server.md, "actix's keep-alive clock goes stale").
    let app = spawn_app(&["--workers", "1", "--keep-alive", "0"]).await;
    let (lean_lag, lean_work) = lag_during(&app, "/lean").await;
    let (stream_lag, stream_work) = lag_during(&app, "/stream").await;
    println!(
        "/lean lag {lean_lag}s work {lean_work}s; /stream lag {stream_lag}s work {stream_work}s"
    );
    assert!(
        lean_lag >= 0.5 * lean_work,
        "/lean: lag {lean_lag:.3}s for {lean_work:.3}s of work on the loop"
    );
    assert!(
        stream_lag < 0.2 * lean_lag,
        "/stream: lag {stream_lag:.3}s ({stream_work:.3}s of work on the loop, in slices); \
         /lean: lag {lean_lag:.3}s"
    );
}
