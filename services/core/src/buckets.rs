//! Latency buckets shared by the server's and the client's Prometheus histograms.
//!
//! `histogram_quantile` interpolates linearly inside one bucket, so the relative error of a
//! quantile read from a histogram is bounded by the bucket's width relative to its bound.
//! Buckets that grow by [`GROWTH`] each step keep that error under 20% everywhere between
//! [`FIRST_BOUND_SECONDS`] (0.5 ms, an unloaded small request on loopback) and the last
//! bound (about 11 s, longer than any 25 MB parse this lab should ever see).

/// Upper bound of the first bucket: 0.5 ms.
pub const FIRST_BOUND_SECONDS: f64 = 0.0005;
/// Each bound is this much larger than the one before it.
pub const GROWTH: f64 = 1.2;
/// Number of finite bounds: 0.5 ms × 1.2^55 ≈ 11.2 s.
pub const BOUND_COUNT: usize = 56;

/// The latency bucket bounds in seconds, rounded to three significant digits so the `le`
/// labels read cleanly (`0.00072`, not `0.0007199999999999999`).
pub fn latency_buckets_seconds() -> Vec<f64> {
    (0..BOUND_COUNT)
        .map(|step| round_to_significant(FIRST_BOUND_SECONDS * GROWTH.powi(step as i32), 3))
        .collect()
}

/// Body-size buckets in bytes: powers of 4 from 1 KiB to 256 MiB. 64 KiB and 1 MiB are bounds,
/// so the buckets line up with the size classes ([`crate::metrics::SIZE_CLASSES`]).
pub fn body_size_buckets_bytes() -> Vec<f64> {
    (0..10).map(|step| 1024.0 * 4f64.powi(step)).collect()
}

fn round_to_significant(value: f64, digits: usize) -> f64 {
    format!("{value:.prec$e}", prec = digits - 1)
        .parse()
        .expect("a formatted float parses back")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_half_a_millisecond_to_ten_seconds_in_order() {
        let buckets = latency_buckets_seconds();
        assert_eq!(buckets.len(), BOUND_COUNT);
        assert_eq!(buckets[0], 0.0005);
        assert!(*buckets.last().unwrap() > 10.0);
        assert!(buckets.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn no_bucket_is_wider_than_a_fifth_of_its_bound() {
        let buckets = latency_buckets_seconds();
        for pair in buckets.windows(2) {
            let width = (pair[1] - pair[0]) / pair[1];
            assert!(width < 0.2, "{pair:?} is {width:.2} wide");
        }
    }

    #[test]
    fn bounds_print_as_short_decimals() {
        for bound in latency_buckets_seconds() {
            assert!(bound.to_string().len() <= 10, "{bound} prints long");
        }
    }
}
