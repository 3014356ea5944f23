//! The request engine: one HTTP exchange in, one [`Record`] out.
//!
//! Clients are built once per class before the clock starts (the study built one per request,
//! and paid for it in every "fast" measurement). What stays on the timed path is exactly what
//! a user of the server pays: for CONNECTION=new a TCP connect, the request, the response.
//!
//! Any server can be measured: any 2xx is a success. What the answer says is read after the
//! clock stops ([`read_answer`]): `worker` and `elapsed_server` when present (or the
//! `x-worker-id` header), and, when the answer has `count` or `maxval`, whether they match
//! the body that was sent (else the request is a `wrong_answer` error).

use std::{net::SocketAddr, time::Duration};

use lab_core::{
    http::{REQUEST_ID_HEADER, WORKER_ID_HEADER},
    payload::Answer,
};
use reqwest::{
    Client, Url,
    header::{CONNECTION, CONTENT_TYPE, HeaderMap, HeaderValue},
};
use serde::Deserialize;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::{
    options::{BodyKind, Connection, Method},
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
/// so name resolution is not on every request's timed path.
pub fn build_client(
    connection: Connection,
    request_timeout: Duration,
    target: &Url,
    resolved: &[SocketAddr],
) -> reqwest::Result<Client> {
    let mut headers = HeaderMap::new();
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

/// The content type a body kind is sent with; `None` when the method sends no body.
pub fn content_type(method: Method, body: BodyKind) -> Option<HeaderValue> {
    method.sends_body().then(|| match body {
        BodyKind::Json => HeaderValue::from_static("application/json"),
        BodyKind::Raw => HeaderValue::from_static("application/octet-stream"),
    })
}

/// The parts of an answer the lab knows how to read; every field is optional and anything
/// else in the answer is ignored.
#[derive(Debug, Default, Deserialize)]
struct AnswerFields {
    count: Option<u64>,
    maxval: Option<i64>,
    elapsed_server: Option<f64>,
    worker: Option<usize>,
}

/// What a 2xx answer says: the server's own time and worker when it gives them, and an
/// error when its `count`/`maxval` contradict `expected` (checked only when `check` is on
/// and the body sent was the study's JSON). An answer that is empty, not JSON, not an
/// object, or over [`MAX_ANSWER_READ`] bytes says nothing and is fine.
pub fn read_answer(
    body: &[u8],
    expected: Option<Answer>,
    check: bool,
) -> (Option<u64>, Option<usize>, Result<(), RequestError>) {
    let fields = if body.len() <= MAX_ANSWER_READ {
        serde_json::from_slice::<AnswerFields>(body).unwrap_or_default()
    } else {
        AnswerFields::default()
    };
    let elapsed = fields
        .elapsed_server
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
        .map(|ms| ms.round() as u64);
    let verdict = match expected.filter(|_| check) {
        Some(expected)
            if fields.count.is_some_and(|count| count != expected.count)
                || fields
                    .maxval
                    .is_some_and(|maxval| maxval != expected.maxval) =>
        {
            Err(RequestError::WrongAnswer {
                expected_count: expected.count,
                expected_maxval: expected.maxval,
                count: fields.count,
                maxval: fields.maxval,
            })
        }
        _ => Ok(()),
    };
    (elapsed, fields.worker, verdict)
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

impl Engine {
    /// Offset of now from the run start.
    pub fn now(&self) -> Duration {
        self.run_start.elapsed()
    }

    /// Sends `request` and waits for the whole response, unless `cancel` fires first (the
    /// drain timeout ran out), in which case the record says [`RequestError::Cancelled`].
    pub async fn send(&self, request: Request, cancel: &CancellationToken) -> Record {
        let bytes_sent = request.payload.bytes.len() as u64;
        let sent = self.now();
        let mut record = Record {
            class: request.class,
            sequence: request.sequence,
            scheduled: request.scheduled,
            sent: Some(sent),
            end: None,
            status: None,
            bytes_sent,
            server_elapsed_ms: None,
            worker: None,
            outcome: Outcome::Ok,
        };
        let mut builder = self
            .client
            .request(self.method.clone(), self.url.clone())
            .header(REQUEST_ID_HEADER, request.request_id);
        if let Some(content_type) = &self.content_type {
            builder = builder
                .header(CONTENT_TYPE, content_type.clone())
                .body(request.payload.bytes);
        }
        let exchange = builder.send();
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
                let body = response
                    .bytes()
                    .await
                    .map_err(|error| (Some(status), RequestError::from_transport(&error, true)))?;
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
                        read_answer(&body, request.payload.answer, self.check_answers);
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
