//! What each class sends and when: bodies built before the clock starts, intervals, and the
//! large class's on/off cycle.

use std::time::Duration;

use bytes::Bytes;

use lab_core::classes::LARGE;

use crate::options::{ClassSpec, WorkloadArgs, values::VARIANTS_PER_CLASS};

/// One request class, ready to send.
#[derive(Debug, Clone)]
pub struct ClassPlan {
    /// Class name, e.g. `small`.
    pub name: String,
    /// Nominal body size in MB.
    pub size_mb: f64,
    /// Time between two scheduled starts (open) or between response and next send (closed).
    pub interval: Duration,
    /// Pre-built study-shaped bodies, used round-robin.
    pub payloads: Vec<Bytes>,
    /// Whether the LARGE_ON/LARGE_OFF cycle applies to this class.
    pub cycled: bool,
}

impl ClassPlan {
    /// Builds the bodies for `spec` now (seeded, so a rerun sends the same bytes).
    pub fn build(spec: &ClassSpec, seed: u64) -> Self {
        let payloads = (0..VARIANTS_PER_CLASS as u64)
            .map(|variant| {
                Bytes::from(lab_core::payload::generate_seeded(
                    &spec.name,
                    spec.size_mb,
                    seed.wrapping_mul(1_000).wrapping_add(variant),
                ))
            })
            .collect();
        ClassPlan {
            name: spec.name.clone(),
            size_mb: spec.size_mb,
            interval: spec.interval,
            payloads,
            cycled: spec.name == LARGE,
        }
    }

    /// The body for the request with this 1-based sequence number.
    pub fn payload(&self, sequence: u64) -> Bytes {
        self.payloads[sequence as usize % self.payloads.len()].clone()
    }

    /// Size of one body in bytes (all variants are within a few bytes of each other).
    pub fn body_bytes(&self) -> usize {
        self.payloads[0].len()
    }

    /// The request id sent as `x-request-id`: `small-000042`.
    pub fn request_id(&self, sequence: u64) -> String {
        format!("{}-{sequence:06}", self.name)
    }
}

/// Builds every class of a run, each on its own thread: 25 MB bodies take a moment, and all
/// of it happens before the clock starts.
pub fn build_classes(workload: &WorkloadArgs) -> Vec<ClassPlan> {
    let specs = workload.class_specs();
    std::thread::scope(|scope| {
        let handles: Vec<_> = specs
            .iter()
            .enumerate()
            .map(|(index, spec)| scope.spawn(move || ClassPlan::build(spec, index as u64 + 1)))
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("payload generation does not panic"))
            .collect()
    })
}

/// The large class's on/off cycle: on for `on`, off for `off`, repeating from the run start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LargeCycle {
    /// Length of the sending phase; zero means always on.
    pub on: Duration,
    /// Length of the pause.
    pub off: Duration,
}

impl LargeCycle {
    /// True when the cycle never pauses.
    pub fn always_on(&self) -> bool {
        self.on.is_zero() || self.off.is_zero()
    }

    /// Whether a request due `at` (since run start) falls in an "on" phase.
    pub fn is_on(&self, at: Duration) -> bool {
        if self.always_on() {
            return true;
        }
        let period = (self.on + self.off).as_nanos();
        at.as_nanos() % period < self.on.as_nanos()
    }

    /// When the next "on" phase starts, for a moment `at` inside an "off" phase (or `at`
    /// itself when it is already on).
    pub fn next_on(&self, at: Duration) -> Duration {
        if self.is_on(at) {
            return at;
        }
        let period = (self.on + self.off).as_nanos();
        let cycles = at.as_nanos() / period + 1;
        Duration::from_nanos((cycles * period) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(seconds: f64) -> Duration {
        Duration::from_secs_f64(seconds)
    }

    #[test]
    fn cycle_is_on_then_off_then_on_again() {
        let cycle = LargeCycle {
            on: secs(10.0),
            off: secs(5.0),
        };
        assert!(cycle.is_on(secs(0.0)));
        assert!(cycle.is_on(secs(9.9)));
        assert!(!cycle.is_on(secs(10.0)));
        assert!(!cycle.is_on(secs(14.9)));
        assert!(cycle.is_on(secs(15.0)));
        assert_eq!(cycle.next_on(secs(12.0)), secs(15.0));
        assert_eq!(cycle.next_on(secs(3.0)), secs(3.0));
    }

    #[test]
    fn zero_on_or_off_means_always_on() {
        for (on, off) in [(0.0, 5.0), (5.0, 0.0), (0.0, 0.0)] {
            let cycle = LargeCycle {
                on: secs(on),
                off: secs(off),
            };
            assert!((0..100).all(|tenth| cycle.is_on(secs(tenth as f64 / 10.0))));
        }
    }

    #[test]
    fn variants_differ_and_are_reused_in_turn() {
        let spec = ClassSpec {
            name: "small".into(),
            size_mb: 0.001,
            interval: secs(0.1),
        };
        let plan = ClassPlan::build(&spec, 1);
        assert_eq!(plan.payloads.len(), VARIANTS_PER_CLASS);
        assert_ne!(plan.payloads[0], plan.payloads[1]);
        assert_eq!(plan.payload(1), plan.payload(1 + VARIANTS_PER_CLASS as u64));
        assert_eq!(plan.request_id(42), "small-000042");
        let body: serde_json::Value = serde_json::from_slice(&plan.payload(2)).unwrap();
        assert_eq!(body["name"], "small");
    }
}
