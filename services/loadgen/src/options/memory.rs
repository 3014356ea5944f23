//! What a workload's pre-built bodies take in memory, worked out from the options alone, so
//! BODY_MEMORY_MB can refuse a workload before anything is built.
//!
//! - Held for the whole invocation: each class's [`VARIANTS_PER_CLASS`] bodies (one, empty,
//!   for a method that sends none; one, the file's bytes, for a body read from a file), each built once at its longest possible length
//!   ([`payload::max_body_len`]; exactly [`payload::raw_len`] for raw bytes) and shared by
//!   every request that sends it: a request holds a reference count, never a copy, and the
//!   HTTP client writes the body to the socket from that one buffer. Every run of the
//!   invocation (a new one starts when the server changes) sends the same bodies.
//! - While they are built (every class at once, each on its own thread, its variants one
//!   after the other): for a JSON body whose answers are checked,
//!   [`payload::answer_scratch_len`] more, 8 bytes per pair, freed when its answer is known.
//!
//! The process's own memory (runtime, HTTP clients, metrics, a few MB) is not counted: the
//! peak RSS of a run stays within [`BodyMemory::peak`] plus that (docs/loadgen.md says by
//! how much, measured).

use std::fmt;

use lab_core::{
    Class,
    payload::{self, BodyStyle},
};

use super::class::{BodyKind, ClassSpec};
use super::values::VARIANTS_PER_CLASS;

pub use super::class::BYTES_PER_MB;

/// The memory one class's bodies take.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassMemory {
    /// Which class.
    pub class: Class,
    /// Bodies built for it.
    pub bodies: usize,
    /// Bytes of each body, at most.
    pub body_bytes: usize,
    /// Bytes its building needs on top, while one of its bodies is being written.
    pub building_bytes: usize,
}

/// What every class's bodies take: the figure BODY_MEMORY_MB limits.
#[derive(Debug, Clone, PartialEq)]
pub struct BodyMemory {
    /// Each class's share.
    pub classes: Vec<ClassMemory>,
}

impl BodyMemory {
    /// The memory the classes `specs` will take, with or without their answers
    /// (CHECK_ANSWERS). A class without its own request line posts a body.
    pub fn of(specs: &[ClassSpec], check_answers: bool, style: BodyStyle) -> Self {
        let classes = specs
            .iter()
            .map(|spec| {
                let sends_body = spec
                    .request
                    .as_ref()
                    .is_none_or(|request| request.method.sends_body());
                let (bodies, body_bytes, building_bytes) = match (sends_body, spec.body) {
                    (false, _) => (1, 0, 0),
                    (true, _) if let Some(file) = &spec.file => (1, file.bytes.len(), 0),
                    (true, BodyKind::Raw) => {
                        (VARIANTS_PER_CLASS, payload::raw_len(spec.size_mb), 0)
                    }
                    (true, BodyKind::Json) => (
                        VARIANTS_PER_CLASS,
                        payload::max_styled_body_len(spec.class.name(), spec.size_mb, style),
                        if check_answers {
                            payload::styled_answer_scratch_len(spec.size_mb, style)
                        } else {
                            0
                        },
                    ),
                };
                ClassMemory {
                    class: spec.class.clone(),
                    bodies,
                    body_bytes,
                    building_bytes,
                }
            })
            .collect();
        Self { classes }
    }

    /// Bytes of every body, held for the whole invocation.
    pub fn bodies(&self) -> u64 {
        self.classes
            .iter()
            .map(|class| (class.bodies * class.body_bytes) as u64)
            .sum()
    }

    /// Bytes needed on top while the bodies are built (every class builds at once).
    pub fn building(&self) -> u64 {
        self.classes
            .iter()
            .map(|class| class.building_bytes as u64)
            .sum()
    }

    /// The most the bodies take at any moment: all of them, plus what building needs.
    pub fn peak(&self) -> u64 {
        self.bodies() + self.building()
    }

    /// The peak in MB (10^6 bytes).
    pub fn peak_mb(&self) -> f64 {
        self.peak() as f64 / BYTES_PER_MB
    }

    /// Whether the peak fits in `limit_mb` MB.
    pub fn fits(&self, limit_mb: u64) -> bool {
        self.peak() as f64 <= limit_mb as f64 * BYTES_PER_MB
    }
}

/// `3642.5 MB (small 3 × 1.1 KB, large 3 × 1075.2 MB, and 416.9 MB more while they are
/// built)`: the figure and where it comes from.
impl fmt::Display for BodyMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mb = |bytes: u64| bytes as f64 / BYTES_PER_MB;
        let size = |bytes: usize| {
            if bytes < 100_000 {
                format!("{:.1} KB", bytes as f64 / 1000.0)
            } else {
                format!("{:.1} MB", mb(bytes as u64))
            }
        };
        let shares: Vec<String> = self
            .classes
            .iter()
            .map(|class| {
                format!(
                    "{} {} × {}",
                    class.class,
                    class.bodies,
                    size(class.body_bytes)
                )
            })
            .collect();
        write!(f, "{:.1} MB ({}", self.peak_mb(), shares.join(", "))?;
        if self.building() > 0 {
            write!(
                f,
                ", and {:.1} MB more while they are built",
                mb(self.building())
            )?;
        }
        write!(f, ")")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::class::{Method, RequestLine};
    use super::*;

    fn class(class: Class, size_mb: f64, body: BodyKind, request: Option<Method>) -> ClassSpec {
        ClassSpec {
            class,
            size_mb,
            interval: Duration::from_secs(1),
            request: request.map(|method| RequestLine {
                method,
                path: "/x".into(),
            }),
            body,
            file: None,
            content_type: None,
        }
    }

    /// Three bodies per class at their longest, answers' scratch only for checked JSON
    /// bodies, one empty body for a GET.
    #[test]
    fn the_figure_counts_every_body_and_the_building() {
        let specs = [
            class(Class::Small, 0.001, BodyKind::Json, None),
            class(Class::Large, 25.0, BodyKind::Json, None),
            class(
                Class::named("upload"),
                2.0,
                BodyKind::Raw,
                Some(Method::Put),
            ),
            class(
                Class::named("health"),
                0.0,
                BodyKind::Json,
                Some(Method::Get),
            ),
        ];
        let memory = BodyMemory::of(&specs, true, BodyStyle::default());
        let large = payload::max_body_len(Class::Large.name(), 25.0) as u64;
        assert_eq!(large, 1_250_000 * 21 + 26);
        let small = payload::max_body_len(Class::Small.name(), 0.001) as u64;
        let bodies = 3 * small + 3 * large + 3 * 2_000_000;
        assert_eq!(memory.bodies(), bodies);
        assert_eq!(
            memory.building(),
            (payload::answer_scratch_len(0.001) + payload::answer_scratch_len(25.0)) as u64
        );
        assert_eq!(memory.classes[3].bodies, 1);
        assert_eq!(memory.peak(), memory.bodies() + memory.building());
        let unchecked = BodyMemory::of(&specs, false, BodyStyle::default());
        assert_eq!((unchecked.bodies(), unchecked.building()), (bodies, 0));
        assert!(memory.fits(100) && !memory.fits(50));
        let text = memory.to_string();
        assert!(
            text.starts_with(&format!(
                "{:.1} MB (small 3 × 1.1 KB, large 3 × 26.3 MB",
                memory.peak_mb()
            )),
            "{text}"
        );
        assert!(text.ends_with("MB more while they are built)"), "{text}");
    }
}
