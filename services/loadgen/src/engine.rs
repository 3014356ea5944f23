//! The request engine: one HTTP exchange in, one [`Record`] out.
//!
//! Clients are built once per class before the clock starts (the study built one per request,
//! and paid for it in every "fast" measurement), and each request is built before its due time
//! ([`Engine::prepare`]). What stays on the timed path is the HTTP client's handling of the
//! request and what a user of the server pays: for CONNECTION=new a TCP connect, the request,
//! the response.
//!
//! Any server can be measured: any 2xx is a success. What the answer says is read after the
//! clock stops ([`read_answer`]): `worker` and `elapsed_server` when present (or the
//! `x-worker-id` header), and, when the answer has `count` or `maxval`, whether they match
//! the body that was sent (else the request is a `wrong_answer` error).

use std::{net::SocketAddr, time::Duration};

use bytes::Bytes;
use lab_core::{
    http::{REQUEST_ID_HEADER, WORKER_ID_HEADER},
    payload::Answer,
};
use reqwest::{
    Client, Url,
    header::{CONNECTION, CONTENT_TYPE, HeaderMap, HeaderValue},
};
use serde::Deserialize;
use serde_json::Value;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::{
    options::{Connection, Method, RequestHeader},
    record::{Outcome, Record, RequestError},
    workload::Payload,
};

/// Answers larger than this are not read for `count`, `worker`…: a server that answers an
/// upload with a large document is still measured, without parsing megabytes on the client.
pub const MAX_ANSWER_READ: usize = 64 * 1024;

/// Longest a TCP connect may take before it counts as an error (loopback connects take
/// microseconds; a SYN that gets no answer should not wait for the whole request timeout).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Builds the HTTP client one class uses for the whole run.
///
/// - `new`: the pool keeps no idle connection (`pool_max_idle_per_host(0)`) and every request
///   says `connection: close`, so each request opens its own TCP connection and the server
///   closes it after the response: the study's behaviour, without building a client per call.
/// - `keepalive`: reqwest's pool; a connection is reused by the class's next request. A
///   connection the server dropped (restart, keep-alive timeout) is replaced transparently.
///
/// `resolved` pins the host name to addresses looked up once before the run (as wrk does),
/// so name resolution is not on every request's timed path. `extra` (REQUEST_HEADERS) goes on
/// every request.
pub fn build_client(
    connection: Connection,
    request_timeout: Duration,
    target: &Url,
    resolved: &[SocketAddr],
    extra: &[RequestHeader],
) -> reqwest::Result<Client> {
    let mut headers = HeaderMap::new();
    crate::options::headers::add_to(&mut headers, extra);
    let mut builder = Client::builder()
        .timeout(request_timeout)
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none());
    if connection == Connection::New {
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
        builder = builder.pool_max_idle_per_host(0);
    }
    if let Some(host) = target.host_str()
        && !resolved.is_empty()
    {
        builder = builder.resolve_to_addrs(host, resolved);
    }
    builder.default_headers(headers).build()
}

/// Looks the target's host up once, IPv4 addresses first (lab-server binds 0.0.0.0 by
/// default, so `localhost` → `::1` would be a refused connect and a retry on every request).
/// An empty list means "let the client resolve per connection" (e.g. the name does not
/// resolve yet because the server's container is still starting).
pub async fn resolve_target(target: &Url) -> Vec<SocketAddr> {
    let (Some(host), Some(port)) = (target.host_str(), target.port_or_known_default()) else {
        return Vec::new();
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match tokio::net::lookup_host((host, port)).await {
        Ok(addresses) => {
            let mut addresses: Vec<SocketAddr> = addresses.collect();
            addresses.sort_by_key(|address| address.is_ipv6());
            addresses
        }
        Err(error) => {
            tracing::warn!(%host, %error, "could not resolve the target now; resolving per connection");
            Vec::new()
        }
    }
}

/// Sends one class's requests. Cheap to clone (the client is a handle to a shared pool).
#[derive(Debug, Clone)]
pub struct Engine {
    /// The class's client.
    pub client: Client,
    /// The class's method.
    pub method: reqwest::Method,
    /// TARGET_URL joined with the class's path.
    pub url: Url,
    /// The body's content type; `None` for a method that sends no body.
    pub content_type: Option<HeaderValue>,
    /// Whether a 2xx answer's `count`/`maxval` are checked against the body's.
    pub check_answers: bool,
    /// The instant every offset in a [`Record`] is measured from.
    pub run_start: Instant,
}

/// The wire method for a class's method.
pub fn wire_method(method: Method) -> reqwest::Method {
    match method {
        Method::Get => reqwest::Method::GET,
        Method::Head => reqwest::Method::HEAD,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
    }
}

/// The parts of an answer the lab knows how to read, each read on its own and leniently (a
/// field of an unexpected type is as good as absent); anything else is ignored.
#[derive(Debug, Default, Deserialize)]
struct AnswerFields {
    count: Option<Value>,
    maxval: Option<Value>,
    elapsed_server: Option<Value>,
    worker: Option<Value>,
}

/// The first [`MAX_ANSWER_READ`] bytes of an answer, kept while it arrives: one chunk is kept
/// as it came (no copy), more are joined; a longer answer is not kept at all.
#[derive(Debug, Default)]
pub struct AnswerBytes {
    first: Option<Bytes>,
    joined: Vec<u8>,
    total: usize,
}

impl AnswerBytes {
    /// Adds the next chunk of the answer.
    pub fn push(&mut self, chunk: Bytes) {
        self.total = self.total.saturating_add(chunk.len());
        if self.total > MAX_ANSWER_READ {
            self.first = None;
            self.joined = Vec::new();
        } else if self.first.is_none() && self.joined.is_empty() {
            self.first = Some(chunk);
        } else {
            if let Some(first) = self.first.take() {
                self.joined.extend_from_slice(&first);
            }
            self.joined.extend_from_slice(&chunk);
        }
    }

    /// The answer, or nothing when it was longer than [`MAX_ANSWER_READ`].
    pub fn bytes(&self) -> &[u8] {
        self.first.as_deref().unwrap_or(&self.joined)
    }
}

/// What a 2xx answer says: the server's own time and worker when it gives them, and an
/// error when its `count` and `maxval` (both present) contradict `expected` (checked only when
/// `check` is on and the body sent was the study's JSON). An answer that is empty, not a JSON
/// object, or over [`MAX_ANSWER_READ`] bytes says nothing and is fine.
pub fn read_answer(
    body: &[u8],
    expected: Option<Answer>,
    check: bool,
) -> (Option<u64>, Option<usize>, Result<(), RequestError>) {
    let is_object = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let fields = if is_object {
        serde_json::from_slice::<AnswerFields>(body).unwrap_or_default()
    } else {
        AnswerFields::default()
    };
    let elapsed = fields
        .elapsed_server
        .and_then(|ms| ms.as_f64())
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
        .map(|ms| ms.round() as u64);
    let worker = fields
        .worker
        .and_then(|worker| worker.as_u64())
        .and_then(|worker| usize::try_from(worker).ok());
    let count = fields.count.and_then(|count| count.as_u64());
    let maxval = fields.maxval.and_then(|maxval| maxval.as_i64());
    let verdict = match (expected.filter(|_| check), count, maxval) {
        (Some(expected), Some(count), Some(maxval))
            if count != expected.count || maxval != expected.maxval =>
        {
            Err(RequestError::WrongAnswer {
                expected_count: expected.count,
                expected_maxval: expected.maxval,
                count: Some(count),
                maxval: Some(maxval),
            })
        }
        _ => Ok(()),
    };
    (elapsed, worker, verdict)
}

/// What the schedule asks the engine to send.
#[derive(Debug, Clone)]
pub struct Request {
    /// Index of the class.
    pub class: usize,
    /// 1-based sequence number within the class.
    pub sequence: u64,
    /// `x-request-id`, e.g. `small-000042` (built before the send instant).
    pub request_id: String,
    /// When the schedule wanted it to start, since run start.
    pub scheduled: Duration,
    /// The body (a shared, pre-built buffer) and its expected answer.
    pub payload: Payload,
}

/// A request built and ready to go out: its URL, headers and body are assembled by
/// [`Engine::prepare`] before the clock starts, so the timed part of [`Engine::send`] begins
/// with handing it to the HTTP client (as `wrk` builds its request bytes before it times).
#[derive(Debug)]
pub struct Prepared {
    /// Index of the class.
    pub class: usize,
    /// 1-based sequence number within the class.
    pub sequence: u64,
    /// When the schedule wanted it to start, since run start. The closed loop sets it to the
    /// moment it sends (a closed loop's request is due when it is ready to go).
    pub scheduled: Duration,
    /// Body bytes it carries.
    pub bytes_sent: u64,
    /// The answer a correct server gives for its body, when known.
    pub answer: Option<Answer>,
    /// The HTTP request, or why it could not be built (recorded as the request's error).
    http: reqwest::Result<reqwest::Request>,
}

impl Engine {
    /// Offset of now from the run start.
    pub fn now(&self) -> Duration {
        self.run_start.elapsed()
    }

    /// Builds `request`'s HTTP request (URL, `x-request-id`, content type, body): the client's
    /// own preparation, done before its due time so it is not counted in its latency.
    pub fn prepare(&self, request: Request) -> Prepared {
        let bytes_sent = request.payload.bytes.len() as u64;
        let mut builder = self
            .client
            .request(self.method.clone(), self.url.clone())
            .header(REQUEST_ID_HEADER, request.request_id);
        if let Some(content_type) = &self.content_type {
            builder = builder
                .header(CONTENT_TYPE, content_type.clone())
                .body(request.payload.bytes);
        }
        Prepared {
            class: request.class,
            sequence: request.sequence,
            scheduled: request.scheduled,
            bytes_sent,
            answer: request.payload.answer,
            http: builder.build(),
        }
    }

    /// Sends a prepared request and waits for the whole response, unless `cancel` fires first
    /// (the drain timeout ran out), in which case the record says [`RequestError::Cancelled`].
    pub async fn send(&self, request: Prepared, cancel: &CancellationToken) -> Record {
        let sent = self.now();
        let mut record = Record {
            class: request.class,
            sequence: request.sequence,
            scheduled: request.scheduled,
            sent: Some(sent),
            end: None,
            status: None,
            bytes_sent: request.bytes_sent,
            server_elapsed_ms: None,
            worker: None,
            outcome: Outcome::Ok,
        };
        let exchange = async {
            match request.http {
                Ok(http) => self.client.execute(http).await,
                Err(error) => Err(error),
            }
        };
        // Timed part: from `sent` to the last byte of the response body.
        let result = tokio::select! {
            result = async {
                let response = exchange
                    .await
                    .map_err(|error| (None, RequestError::from_transport(&error, false)))?;
                let status = response.status().as_u16();
                let worker_header = response
                    .headers()
                    .get(WORKER_ID_HEADER)
                    .and_then(|value| value.to_str().ok()?.parse().ok());
                let mut response = response;
                let mut body = AnswerBytes::default();
                while let Some(chunk) = response
                    .chunk()
                    .await
                    .map_err(|error| (Some(status), RequestError::from_transport(&error, true)))?
                {
                    body.push(chunk);
                }
                Ok((status, worker_header, body))
            } => result,
            () = cancel.cancelled() => Err((None, RequestError::Cancelled)),
        };
        record.end = Some(self.now());
        // Untimed part: reading what the response says.
        match result {
            Ok((status, worker_header, body)) => {
                record.status = Some(status);
                record.worker = worker_header;
                if (200..300).contains(&status) {
                    let (elapsed, worker, verdict) =
                        read_answer(body.bytes(), request.answer, self.check_answers);
                    record.server_elapsed_ms = elapsed;
                    record.worker = worker.or(worker_header);
                    if let Err(error) = verdict {
                        record.outcome = Outcome::Failed(error);
                    }
                } else {
                    record.outcome = Outcome::Failed(RequestError::from_status(status));
                }
            }
            Err((status, error)) => {
                record.status = status;
                record.outcome = Outcome::Failed(error);
            }
        }
        record
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::BodyKind;

    const EXPECTED: Option<Answer> = Some(Answer {
        count: 50,
        maxval: 999,
    });

    /// Only an object with both `count` and `maxval` is checked; arrays, text, odd types and
    /// half answers are read leniently and never called wrong.
    #[test]
    fn answers_are_read_leniently_and_checked_only_when_complete() {
        let verdict = |body: &str| read_answer(body.as_bytes(), EXPECTED, true).2;
        assert!(verdict(r#"{"count":50,"maxval":999}"#).is_ok());
        assert!(verdict(r#"{"count":49,"maxval":999}"#).is_err());
        assert!(verdict(r#" {"count":50,"maxval":1}"#).is_err());
        for fine in [
            "[1,2,3,4]",
            "thanks",
            "",
            r#"{"count":7}"#,
            r#"{"count":"7","maxval":1}"#,
            r#"{"count":-1,"maxval":1}"#,
        ] {
            assert!(verdict(fine).is_ok(), "{fine}");
        }
        assert!(
            read_answer(br#"{"count":1,"maxval":1}"#, EXPECTED, false)
                .2
                .is_ok()
        );
        assert!(
            read_answer(br#"{"count":1,"maxval":1}"#, None, true)
                .2
                .is_ok()
        );
        let (elapsed, worker, _) =
            read_answer(br#"{"worker":"3","elapsed_server":2.6}"#, EXPECTED, true);
        assert_eq!((elapsed, worker), (Some(3), None));
    }

    /// Every request of a class carries a handle to the body built before the run, not a
    /// copy: the HTTP request built for it points at the very same bytes, for the first
    /// request that uses a body and for the next one that uses it again.
    #[test]
    fn requests_share_the_pre_built_body() {
        use crate::options::ClassSpec;
        use crate::workload::ClassPlan;
        let spec = ClassSpec {
            class: lab_core::Class::Large,
            size_mb: 0.5,
            interval: Duration::from_secs(1),
            request: None,
            body: BodyKind::Json,
            file: None,
            content_type: None,
        };
        let plan = ClassPlan::build(&spec, 1, "/ping", true);
        let target: Url = "http://127.0.0.1:1".parse().unwrap();
        let engine = Engine {
            client: build_client(Connection::New, Duration::from_secs(1), &target, &[], &[])
                .unwrap(),
            method: wire_method(Method::Post),
            url: target.join("/ping").unwrap(),
            content_type: plan.content_type(),
            check_answers: true,
            run_start: Instant::now(),
        };
        let variants = plan.payloads.len() as u64;
        for sequence in [1, 1 + variants, 2, 2 + 5 * variants] {
            let prepared = engine.prepare(Request {
                class: 0,
                sequence,
                request_id: plan.request_id(sequence),
                scheduled: Duration::ZERO,
                payload: plan.payload(sequence),
            });
            let sent = prepared.http.as_ref().unwrap().body().unwrap();
            let sent = sent.as_bytes().expect("a body held in memory");
            let built = &plan.payloads[sequence as usize % plan.payloads.len()].bytes;
            assert_eq!(sent.as_ptr(), built.as_ptr(), "request {sequence}");
            assert_eq!(sent.len(), built.len());
        }
    }

    /// The kept answer is the first 64 KiB at most: one chunk kept as is, several joined, a
    /// longer answer dropped.
    #[test]
    fn answer_bytes_keep_at_most_the_readable_prefix() {
        let mut one = AnswerBytes::default();
        one.push(Bytes::from_static(b"{\"a\":"));
        assert_eq!(one.bytes(), b"{\"a\":");
        one.push(Bytes::from_static(b"1}"));
        assert_eq!(one.bytes(), b"{\"a\":1}");
        let mut long = AnswerBytes::default();
        long.push(Bytes::from(vec![b' '; MAX_ANSWER_READ]));
        assert_eq!(long.bytes().len(), MAX_ANSWER_READ);
        long.push(Bytes::from_static(b"x"));
        assert!(long.bytes().is_empty());
    }
}
