//! The two request classes every run has: their names appear in request ids, CSV rows,
//! metric labels and the matrix's report, on both sides.

/// The small class: the requests whose latency the lab is about.
pub const SMALL: &str = "small";
/// The large class: the 25 MB uploads (the one the LARGE_ON/LARGE_OFF cycle switches).
pub const LARGE: &str = "large";
