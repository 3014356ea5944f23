//! What one scheduled request became: a plain record the engine sends to the collector.
//!
//! Errors are data here, not control flow: a refused connection or a 503 is a [`Record`]
//! with an [`Outcome::Failed`], counted per class and kind, and the run goes on.

use std::{error::Error as _, io, time::Duration};

use lab_core::{ClientErrorKind, metrics::client::OK_OUTCOME};

/// One scheduled request: when it was due, when it went out, how it ended.
///
/// All instants are offsets from the run's start (the moment the first request of every
/// class is due), so they can be written to CSV and compared across classes.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Index of the class in the run's class list.
    pub class: usize,
    /// 1-based sequence number within the class; the request id is `<class>-<sequence:06>`.
    pub sequence: u64,
    /// When the schedule wanted this request to start.
    pub scheduled: Duration,
    /// When the engine handed it to the HTTP client; `None` if it was skipped.
    pub sent: Option<Duration>,
    /// When the whole response body had arrived (or the request failed); `None` if skipped.
    pub end: Option<Duration>,
    /// HTTP status, when a response head arrived.
    pub status: Option<u16>,
    /// Body bytes sent with the request.
    pub bytes_sent: u64,
    /// `elapsed_server` from the response: what the server's own timer saw, in ms.
    pub server_elapsed_ms: Option<u64>,
    /// Which server worker answered (`worker` in the body, else the `x-worker-id` header).
    pub worker: Option<usize>,
    /// Success, a counted error, or skipped.
    pub outcome: Outcome,
}

/// How a scheduled request ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A 2xx response (whose `count`/`maxval`, if any, matched the body).
    Ok,
    /// Sent, but it failed: counted as an error of this kind.
    Failed(RequestError),
    /// Never sent: the class already had MAX_IN_FLIGHT requests in flight until the next
    /// request was due (open schedule only).
    Skipped,
}

impl Outcome {
    /// What went wrong, as requests.csv's `error` cell names it: the error's kind, or
    /// [`ClientErrorKind::Skipped`]; `None` for a success.
    pub fn error_kind(&self) -> Option<ClientErrorKind> {
        match self {
            Outcome::Ok => None,
            Outcome::Failed(error) => Some(error.kind()),
            Outcome::Skipped => Some(ClientErrorKind::Skipped),
        }
    }

    /// The `outcome` label of `lab_client_requests_total`: `ok` or the error kind's name.
    pub fn label(&self) -> &'static str {
        self.error_kind().map_or(OK_OUTCOME, ClientErrorKind::name)
    }
}

impl Record {
    /// A tick that could not start because of the in-flight cap.
    pub fn skipped(class: usize, sequence: u64, scheduled: Duration) -> Self {
        Record {
            class,
            sequence,
            scheduled,
            sent: None,
            end: None,
            status: None,
            bytes_sent: 0,
            server_elapsed_ms: None,
            worker: None,
            outcome: Outcome::Skipped,
        }
    }

    /// The latency users feel: from the scheduled start to the end of the response. With an
    /// open schedule this includes any time the request waited to be sent.
    pub fn latency(&self) -> Option<Duration> {
        self.end.map(|end| end.saturating_sub(self.scheduled))
    }

    /// Latency from the actual send; what a client that ignores its schedule would report.
    pub fn latency_from_send(&self) -> Option<Duration> {
        Some(self.end?.saturating_sub(self.sent?))
    }
}

/// Why a request that was sent did not produce a usable response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Nobody listens on the target port (server down or restarting).
    #[error("connection refused: is the server up?")]
    ConnectRefused,
    /// Any other failure to open the TCP connection.
    #[error("could not connect: {0}")]
    Connect(String),
    /// The server reset or closed the connection before the response was complete.
    #[error("connection reset or closed by the server: {0}")]
    Reset(String),
    /// No complete response within REQUEST_TIMEOUT.
    #[error("no complete response within the request timeout")]
    Timeout,
    /// The server answered 4xx (e.g. 413 body too large, 415, 422).
    #[error("HTTP {0}: client error")]
    Http4xx(u16),
    /// The server answered 5xx.
    #[error("HTTP {0}: server error")]
    Http5xx(u16),
    /// A status that is neither success nor an error (1xx, 3xx).
    #[error("unexpected HTTP status {0}")]
    UnexpectedStatus(u16),
    /// The response head arrived but its body could not be read.
    #[error("could not read the response body: {0}")]
    BodyRead(String),
    /// A 2xx answer whose `count` or `maxval` is not the body's (CHECK_ANSWERS): the server
    /// answered fast, but wrong.
    #[error(
        "wrong answer: count {count:?} and maxval {maxval:?} where the body has \
         {expected_count} distinct keys and maxval {expected_maxval}"
    )]
    WrongAnswer {
        /// Distinct keys in the body sent.
        expected_count: u64,
        /// Largest value in the body sent.
        expected_maxval: i64,
        /// The answer's `count`, if it had one.
        count: Option<u64>,
        /// The answer's `maxval`, if it had one.
        maxval: Option<i64>,
    },
    /// Still in flight when DRAIN_TIMEOUT ran out after scheduling stopped.
    #[error("still in flight when the drain timeout ran out")]
    Cancelled,
    /// A transport failure none of the above describes.
    #[error("request failed: {0}")]
    Other(String),
}

impl RequestError {
    /// Its kind: what CSV cells, metric labels and per-kind counts call it.
    pub fn kind(&self) -> ClientErrorKind {
        match self {
            RequestError::ConnectRefused => ClientErrorKind::ConnectRefused,
            RequestError::Connect(_) => ClientErrorKind::Connect,
            RequestError::Reset(_) => ClientErrorKind::Reset,
            RequestError::Timeout => ClientErrorKind::Timeout,
            RequestError::Http4xx(_) => ClientErrorKind::Http4xx,
            RequestError::Http5xx(_) => ClientErrorKind::Http5xx,
            RequestError::UnexpectedStatus(_) => ClientErrorKind::HttpOther,
            RequestError::BodyRead(_) => ClientErrorKind::BodyRead,
            RequestError::WrongAnswer { .. } => ClientErrorKind::WrongAnswer,
            RequestError::Cancelled => ClientErrorKind::Cancelled,
            RequestError::Other(_) => ClientErrorKind::Other,
        }
    }

    /// The error for a non-2xx status.
    pub fn from_status(status: u16) -> Self {
        match status {
            400..=499 => RequestError::Http4xx(status),
            500..=599 => RequestError::Http5xx(status),
            _ => RequestError::UnexpectedStatus(status),
        }
    }

    /// Sorts a reqwest transport error into a kind, looking through its source chain for
    /// the I/O error underneath (refused, reset, broken pipe…).
    pub fn from_transport(error: &reqwest::Error, while_reading_body: bool) -> Self {
        if error.is_timeout() {
            return RequestError::Timeout;
        }
        let io_kind = io_error_kind(error);
        let detail = chain_text(error);
        if error.is_connect() {
            return match io_kind {
                Some(io::ErrorKind::ConnectionRefused) => RequestError::ConnectRefused,
                _ => RequestError::Connect(detail),
            };
        }
        let closed_early = matches!(
            io_kind,
            Some(
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::UnexpectedEof
            )
        ) || detail.contains("connection closed")
            || detail.contains("IncompleteMessage");
        if closed_early {
            RequestError::Reset(detail)
        } else if while_reading_body || error.is_body() || error.is_decode() {
            RequestError::BodyRead(detail)
        } else {
            RequestError::Other(detail)
        }
    }
}

/// The kind of the first `io::Error` in the source chain, if any.
fn io_error_kind(error: &reqwest::Error) -> Option<io::ErrorKind> {
    let mut source = error.source();
    while let Some(current) = source {
        if let Some(io_error) = current.downcast_ref::<io::Error>() {
            return Some(io_error.kind());
        }
        source = current.source();
    }
    None
}

/// The error and its sources on one line: "error sending request: connection closed …".
fn chain_text(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(current) = source {
        text.push_str(": ");
        text.push_str(&current.to_string());
        source = current.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_their_class_of_error() {
        assert_eq!(
            RequestError::from_status(413).kind(),
            ClientErrorKind::Http4xx
        );
        assert_eq!(
            RequestError::from_status(503).kind(),
            ClientErrorKind::Http5xx
        );
        assert_eq!(
            RequestError::from_status(302).kind(),
            ClientErrorKind::HttpOther
        );
        assert_eq!(Outcome::Ok.label(), "ok");
        assert_eq!(Outcome::Skipped.label(), "skipped");
        assert_eq!(
            Outcome::Failed(RequestError::Timeout).error_kind(),
            Some(ClientErrorKind::Timeout)
        );
    }

    #[test]
    fn latency_counts_from_the_schedule_not_the_send() {
        let record = Record {
            sent: Some(Duration::from_millis(130)),
            end: Some(Duration::from_millis(150)),
            outcome: Outcome::Ok,
            ..Record::skipped(0, 1, Duration::from_millis(100))
        };
        assert_eq!(record.latency(), Some(Duration::from_millis(50)));
        assert_eq!(record.latency_from_send(), Some(Duration::from_millis(20)));
        assert_eq!(Record::skipped(0, 2, Duration::ZERO).latency(), None);
    }

    #[tokio::test]
    async fn a_closed_port_is_connect_refused() {
        // Bind then drop a listener: nothing listens on that port any more.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let error = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            RequestError::from_transport(&error, false),
            RequestError::ConnectRefused
        );
    }
}
