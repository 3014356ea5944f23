//! What each class sends and when: bodies built before the clock starts, intervals, and the
//! large class's on/off cycle.

use std::{path::PathBuf, time::Duration};

use bytes::Bytes;
use reqwest::header::HeaderValue;

use lab_core::{
    Class, Strategy,
    payload::{self, Answer, BodyStyle, Stopped},
};
use tokio_util::sync::CancellationToken;

use crate::{
    buffers::body_buffer,
    options::{BodyKind, ClassSpec, Method, RequestLine, WorkloadArgs, values::VARIANTS_PER_CLASS},
};

/// One body, ready to send, with what a correct server answers for it.
#[derive(Debug, Clone)]
pub struct Payload {
    /// The bytes (shared, never copied: a `Bytes` clone is a reference count); empty for a
    /// method that sends no body.
    pub bytes: Bytes,
    /// The distinct-key count and largest value of a JSON body, when answers are checked.
    pub answer: Option<Answer>,
}

/// One request class, ready to send.
#[derive(Debug, Clone)]
pub struct ClassPlan {
    /// Which class.
    pub class: Class,
    /// Nominal body size in MB.
    pub size_mb: f64,
    /// Time between two scheduled starts (open) or between response and next send (closed).
    pub interval: Duration,
    /// Method and path (the class's own, or `POST` to ENDPOINT).
    pub request: RequestLine,
    /// What the body is.
    pub body: BodyKind,
    /// The file its body was read from, if it was.
    pub body_file: Option<PathBuf>,
    /// The `Content-Type` given for it, if one was (see [`Self::content_type`]).
    pub content_type: Option<HeaderValue>,
    /// Pre-built bodies, used round-robin.
    pub payloads: Vec<Payload>,
    /// Whether the LARGE_ON/LARGE_OFF cycle applies to this class.
    pub cycled: bool,
}

impl ClassPlan {
    /// Builds the bodies for `spec` now (seeded, so a rerun sends the same bytes). A class
    /// without its own request line posts to `endpoint`; `check_answers` computes each JSON
    /// body's [`Answer`] (while the body is written, before the clock starts).
    /// The JSON bodies are spelled in the default style (compact, lowercase keys).
    pub fn build(spec: &ClassSpec, seed: u64, endpoint: &str, check_answers: bool) -> Self {
        Self::build_until(
            spec,
            seed,
            endpoint,
            check_answers,
            BodyStyle::default(),
            &|| true,
        )
        .expect("never asked to stop")
    }

    /// [`Self::build`] with the JSON bodies spelled in `style` (JSON_SPACING, KEY_LETTERS),
    /// asking `keep_going` every millisecond or so of generation and giving up with
    /// [`Stopped`] when it says no.
    pub fn build_until(
        spec: &ClassSpec,
        seed: u64,
        endpoint: &str,
        check_answers: bool,
        style: BodyStyle,
        keep_going: &dyn Fn() -> bool,
    ) -> Result<Self, Stopped> {
        let request = spec.request.clone().unwrap_or_else(|| RequestLine {
            method: Method::Post,
            path: endpoint.to_string(),
        });
        if let Some(file) = spec.file.as_ref().filter(|_| request.method.sends_body()) {
            // The user's own document: one body, the file's bytes, shared as they are.
            return Ok(Self::with_payloads(
                spec,
                request,
                vec![Payload {
                    bytes: file.bytes.clone(),
                    answer: None,
                }],
            ));
        }
        let variants = if request.method.sends_body() {
            VARIANTS_PER_CLASS as u64
        } else {
            1
        };
        let payloads = (0..variants)
            .map(|variant| {
                let seed = seed.wrapping_mul(1_000).wrapping_add(variant);
                let name = spec.class.name();
                let json_buffer =
                    || body_buffer(payload::max_styled_body_len(name, spec.size_mb, style));
                let (bytes, answer) = match (request.method.sends_body(), spec.body) {
                    (false, _) => (Vec::new(), None),
                    (true, BodyKind::Raw) => {
                        let buffer = body_buffer(payload::raw_len(spec.size_mb));
                        let bytes =
                            payload::generate_raw_until(spec.size_mb, seed, buffer, keep_going)?;
                        (bytes, None)
                    }
                    (true, BodyKind::Json) if check_answers => {
                        let (bytes, answer) = payload::generate_styled_with_answer_until(
                            name,
                            spec.size_mb,
                            seed,
                            style,
                            json_buffer(),
                            keep_going,
                        )?;
                        (bytes, Some(answer))
                    }
                    (true, BodyKind::Json) => {
                        let bytes = payload::generate_styled_until(
                            name,
                            spec.size_mb,
                            seed,
                            style,
                            json_buffer(),
                            keep_going,
                        )?;
                        (bytes, None)
                    }
                };
                // Takes the buffer over as it is: no copy.
                Ok(Payload {
                    bytes: Bytes::from(bytes),
                    answer,
                })
            })
            .collect::<Result<_, Stopped>>()?;
        Ok(Self::with_payloads(spec, request, payloads))
    }

    fn with_payloads(spec: &ClassSpec, request: RequestLine, payloads: Vec<Payload>) -> Self {
        ClassPlan {
            class: spec.class.clone(),
            size_mb: spec.size_mb,
            interval: spec.interval,
            request,
            body: spec.body,
            body_file: spec.file.as_ref().map(|file| file.path.clone()),
            content_type: spec.content_type.clone(),
            payloads,
            cycled: spec.class == Class::Large,
        }
    }

    /// The `Content-Type` its requests carry: the one given (SMALL_CONTENT_TYPE,
    /// LARGE_CONTENT_TYPE) or the body kind's; none for a method that sends no body.
    pub fn content_type(&self) -> Option<HeaderValue> {
        self.request.method.sends_body().then(|| {
            self.content_type
                .clone()
                .unwrap_or_else(|| self.body.content_type())
        })
    }

    /// The body for the request with this 1-based sequence number: a handle to one of the
    /// class's pre-built buffers (a reference count, never a copy).
    pub fn payload(&self, sequence: u64) -> Payload {
        self.payloads[sequence as usize % self.payloads.len()].clone()
    }

    /// Size of one body in bytes (all variants are within a few bytes of each other).
    pub fn body_bytes(&self) -> usize {
        self.payloads[0].bytes.len()
    }

    /// Whether its answers are checked against its bodies: when CHECK_ANSWERS
    /// (`check_answers`) is on and its path is not a lab strategy whose answer counts nothing
    /// ([`Strategy::counts`]: `/drain`, the floor, answers 0 and 0 for any body).
    pub fn checks_answers(&self, check_answers: bool) -> bool {
        check_answers && Strategy::from_path(&self.request.path).is_none_or(Strategy::counts)
    }

    /// The request id sent as `x-request-id`: `small-000042`.
    pub fn request_id(&self, sequence: u64) -> String {
        format!("{}-{sequence:06}", self.class)
    }
}

/// Builds every class of a run, each on its own thread: bodies of hundreds of MB take
/// seconds, and all of it happens before the clock starts. Every thread stops within a
/// few milliseconds of `stop` being cancelled (Ctrl-C or SIGTERM while building), and then
/// this returns [`Stopped`] with every body built so far freed.
///
/// What it takes in memory is [`WorkloadArgs::body_memory`], which the options are
/// checked against before this is called.
pub fn build_classes(
    workload: &WorkloadArgs,
    endpoint: &str,
    stop: &CancellationToken,
) -> Result<Vec<ClassPlan>, Stopped> {
    let specs = workload.class_specs();
    let keep_going = || !stop.is_cancelled();
    std::thread::scope(|scope| {
        let handles: Vec<_> = specs
            .iter()
            .enumerate()
            .map(|(index, spec)| {
                scope.spawn(move || {
                    ClassPlan::build_until(
                        spec,
                        index as u64 + 1,
                        endpoint,
                        workload.check_answers,
                        workload.body_style(),
                        &keep_going,
                    )
                })
            })
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
            class: Class::Small,
            size_mb: 0.001,
            interval: secs(0.1),
            request: None,
            body: BodyKind::Json,
            file: None,
            content_type: None,
        };
        let plan = ClassPlan::build(&spec, 1, "/ping", true);
        assert_eq!(plan.payloads.len(), VARIANTS_PER_CLASS);
        assert_ne!(plan.payloads[0].bytes, plan.payloads[1].bytes);
        assert_eq!(
            plan.payload(1).bytes,
            plan.payload(1 + VARIANTS_PER_CLASS as u64).bytes
        );
        assert_eq!(plan.request_id(42), "small-000042");
        assert_eq!(plan.request.to_string(), "POST /ping");
        let payload = plan.payload(2);
        let body: serde_json::Value = serde_json::from_slice(&payload.bytes).unwrap();
        assert_eq!(body["name"], Class::Small.name());
        let answer = payload.answer.expect("JSON bodies know their answer");
        assert_eq!(answer.count, body["data"].as_object().unwrap().len() as u64);
    }

    /// Building stops when told to, for every class, and leaves nothing built.
    #[test]
    fn building_stops_when_told() {
        let options = crate::RunOptions::from_args(["--large-size-mb", "5"]).unwrap();
        let stop = CancellationToken::new();
        let built = build_classes(&options.workload, "/ping", &stop).unwrap();
        assert_eq!(built.len(), 2);
        stop.cancel();
        assert!(matches!(
            build_classes(&options.workload, "/ping", &stop),
            Err(Stopped)
        ));
    }

    /// JSON_SPACING and KEY_LETTERS reach the bodies: `spaced` writes `": "` and `", "`,
    /// `a-zA-Z` draws capitals, and the answers still match the bodies.
    #[test]
    fn the_body_style_settings_spell_the_bodies() {
        let options = crate::RunOptions::from_args([
            "--small-size-mb",
            "0.01",
            "--large-size-mb",
            "0.2",
            "--json-spacing",
            "spaced",
            "--key-letters",
            "a-zA-Z",
        ])
        .unwrap();
        let built = build_classes(&options.workload, "/ping", &CancellationToken::new()).unwrap();
        for plan in &built {
            let payload = plan.payload(1);
            let text = std::str::from_utf8(&payload.bytes).unwrap();
            assert!(
                text.contains("\": ") && text.contains(", \""),
                "{}",
                &text[..80]
            );
            assert!(text.bytes().any(|byte| byte.is_ascii_uppercase()));
            let body: serde_json::Value = serde_json::from_slice(&payload.bytes).unwrap();
            let answer = payload.answer.expect("JSON bodies know their answer");
            assert_eq!(answer.count, body["data"].as_object().unwrap().len() as u64);
        }
        let compact = crate::RunOptions::from_args(["--large-size-mb", "0.2"]).unwrap();
        let built = build_classes(&compact.workload, "/ping", &CancellationToken::new()).unwrap();
        let text = std::str::from_utf8(&built[1].payload(1).bytes)
            .unwrap()
            .to_owned();
        assert!(!text.contains("\": ") && !text.bytes().any(|byte| byte.is_ascii_uppercase()));
        assert!(crate::RunOptions::from_args(["--json-spacing", "wide"]).is_err());
    }

    /// A GET class sends one empty body; a raw class sends random bytes of the nominal size
    /// and expects no particular answer.
    #[test]
    fn bodyless_and_raw_classes() {
        let get = ClassSpec {
            class: Class::Small,
            size_mb: 0.0,
            interval: secs(0.1),
            request: Some(RequestLine {
                method: Method::Get,
                path: "/healthz".into(),
            }),
            body: BodyKind::Json,
            file: None,
            content_type: None,
        };
        let plan = ClassPlan::build(&get, 1, "/ping", true);
        assert_eq!(plan.payloads.len(), 1);
        assert!(plan.payload(7).bytes.is_empty() && plan.payload(7).answer.is_none());
        let raw = ClassSpec {
            size_mb: 0.5,
            request: None,
            body: BodyKind::Raw,
            file: None,
            content_type: None,
            ..get
        };
        let plan = ClassPlan::build(&raw, 2, "/upload", true);
        assert_eq!(plan.body_bytes(), 500_000);
        assert!(plan.payload(1).answer.is_none());
        assert_eq!(plan.request.to_string(), "POST /upload");
    }

    /// Answers are checked on every path but the lab's floor, whose answer counts nothing;
    /// CHECK_ANSWERS=false checks none.
    #[test]
    fn the_floor_s_answers_are_not_checked() {
        let spec = ClassSpec {
            class: Class::Small,
            size_mb: 0.001,
            interval: secs(0.1),
            request: None,
            body: BodyKind::Json,
            file: None,
            content_type: None,
        };
        for (path, checked) in [
            ("/ping", true),
            ("/stream", true),
            ("/upload", true),
            (Strategy::Drain.path(), false),
        ] {
            let plan = ClassPlan::build(&spec, 1, path, true);
            assert_eq!(plan.checks_answers(true), checked, "{path}");
            assert!(!plan.checks_answers(false), "{path}");
        }
    }

    /// A body read from a file is the class's one body, the very bytes read (no copy), with
    /// no answer to check, a memory figure of one file, and the content type given.
    #[test]
    fn a_file_body_is_one_shared_body() {
        let file = crate::options::BodyFile {
            path: "upload.bin".into(),
            bytes: Bytes::from(vec![7u8; 4_000]),
        };
        let spec = ClassSpec {
            class: Class::Large,
            size_mb: file.size_mb(),
            interval: secs(1.0),
            request: None,
            body: BodyKind::Raw,
            file: Some(file.clone()),
            content_type: Some(HeaderValue::from_static("text/csv")),
        };
        let plan = ClassPlan::build(&spec, 1, "/upload", true);
        assert_eq!(plan.payloads.len(), 1);
        assert_eq!(plan.payload(5).bytes.as_ptr(), file.bytes.as_ptr());
        assert!(plan.payload(5).answer.is_none());
        assert_eq!(plan.content_type().unwrap(), "text/csv");
        assert_eq!(
            plan.body_file.as_deref(),
            Some(std::path::Path::new("upload.bin"))
        );
        let memory = crate::options::BodyMemory::of(&[spec], true, BodyStyle::default());
        assert_eq!(memory.bodies(), 4_000);
    }
}
