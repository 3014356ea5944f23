//! The kinds of failure every side names the same way: [`ServerErrorKind`], the `error` of a
//! server's JSON error body, with its status; [`ClientErrorKind`], what the load generator
//! counts a request that did not get a 2xx as (the `error` column of `requests.csv`, the
//! `kind` label of its metrics).

use std::fmt;

use serde::{Deserialize, Serialize};

/// The `error` of a server's JSON error body (`{"error": kind, "message": text}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerErrorKind {
    /// 400: the body is not JSON (syntax error, truncated, trailing data).
    MalformedJson,
    /// 422: valid JSON of the wrong shape (missing field, string value, float, beyond i64).
    WrongShape,
    /// 400: the client stopped sending mid-body.
    BodyReadFailed,
    /// 400: the request's framing is refused (a Transfer-Encoding other than `chunked`). The
    /// FastAPI peer says so in JSON; lab-server's HTTP layer answers these before any of the
    /// lab's code runs, with an empty body.
    MalformedRequest,
    /// 408: the client stalled mid-body, or sent it too slowly.
    BodyReadTimeout,
    /// 413: the body is larger than MAX_BODY_MB.
    BodyTooLarge,
    /// 415: not JSON, or compressed.
    UnsupportedMediaType,
    /// 503: the memory budget for bodies and parses (BODY_BUDGET_MB) is spent.
    ServerBusy,
    /// 503: the server is stopping and the upload made no progress.
    ShuttingDown,
    /// 404: unknown path.
    NotFound,
    /// 405: known path, wrong method.
    MethodNotAllowed,
    /// 500: the server failed (only during shutdown).
    Internal,
}

impl ServerErrorKind {
    /// Every kind.
    pub const ALL: [ServerErrorKind; 12] = [
        ServerErrorKind::MalformedJson,
        ServerErrorKind::WrongShape,
        ServerErrorKind::BodyReadFailed,
        ServerErrorKind::MalformedRequest,
        ServerErrorKind::BodyReadTimeout,
        ServerErrorKind::BodyTooLarge,
        ServerErrorKind::UnsupportedMediaType,
        ServerErrorKind::ServerBusy,
        ServerErrorKind::ShuttingDown,
        ServerErrorKind::NotFound,
        ServerErrorKind::MethodNotAllowed,
        ServerErrorKind::Internal,
    ];

    /// Its name in an error body: `malformed_json`.
    pub fn name(self) -> &'static str {
        match self {
            ServerErrorKind::MalformedJson => "malformed_json",
            ServerErrorKind::WrongShape => "wrong_shape",
            ServerErrorKind::BodyReadFailed => "body_read_failed",
            ServerErrorKind::MalformedRequest => "malformed_request",
            ServerErrorKind::BodyReadTimeout => "body_read_timeout",
            ServerErrorKind::BodyTooLarge => "body_too_large",
            ServerErrorKind::UnsupportedMediaType => "unsupported_media_type",
            ServerErrorKind::ServerBusy => "server_busy",
            ServerErrorKind::ShuttingDown => "shutting_down",
            ServerErrorKind::NotFound => "not_found",
            ServerErrorKind::MethodNotAllowed => "method_not_allowed",
            ServerErrorKind::Internal => "internal",
        }
    }

    /// The HTTP status it is answered with.
    pub fn status(self) -> u16 {
        match self {
            ServerErrorKind::MalformedJson
            | ServerErrorKind::BodyReadFailed
            | ServerErrorKind::MalformedRequest => 400,
            ServerErrorKind::WrongShape => 422,
            ServerErrorKind::BodyReadTimeout => 408,
            ServerErrorKind::BodyTooLarge => 413,
            ServerErrorKind::UnsupportedMediaType => 415,
            ServerErrorKind::ServerBusy | ServerErrorKind::ShuttingDown => 503,
            ServerErrorKind::NotFound => 404,
            ServerErrorKind::MethodNotAllowed => 405,
            ServerErrorKind::Internal => 500,
        }
    }
}

impl fmt::Display for ServerErrorKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// What became of a request that did not get a 2xx, as the load generator counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientErrorKind {
    /// Never sent: the open schedule's in-flight cap (MAX_IN_FLIGHT) was reached. Counted
    /// apart from the errors.
    Skipped,
    /// Nobody listens on the target port.
    ConnectRefused,
    /// Any other failure to open the TCP connection.
    Connect,
    /// The server reset or closed the connection before the response was complete.
    Reset,
    /// No complete response within REQUEST_TIMEOUT.
    Timeout,
    /// A 4xx answer.
    #[serde(rename = "http_4xx")]
    Http4xx,
    /// A 5xx answer.
    #[serde(rename = "http_5xx")]
    Http5xx,
    /// A status that is neither success nor error (1xx, 3xx).
    HttpOther,
    /// The response head arrived but its body could not be read.
    BodyRead,
    /// A 2xx whose `count` or `maxval` is not the body's (CHECK_ANSWERS).
    WrongAnswer,
    /// Still in flight when DRAIN_TIMEOUT ran out.
    Cancelled,
    /// A transport failure none of the above describes.
    Other,
}

impl ClientErrorKind {
    /// Every kind.
    pub const ALL: [ClientErrorKind; 12] = [
        ClientErrorKind::Skipped,
        ClientErrorKind::ConnectRefused,
        ClientErrorKind::Connect,
        ClientErrorKind::Reset,
        ClientErrorKind::Timeout,
        ClientErrorKind::Http4xx,
        ClientErrorKind::Http5xx,
        ClientErrorKind::HttpOther,
        ClientErrorKind::BodyRead,
        ClientErrorKind::WrongAnswer,
        ClientErrorKind::Cancelled,
        ClientErrorKind::Other,
    ];

    /// Its name in CSV cells and metric labels: `http_4xx`.
    pub fn name(self) -> &'static str {
        match self {
            ClientErrorKind::Skipped => "skipped",
            ClientErrorKind::ConnectRefused => "connect_refused",
            ClientErrorKind::Connect => "connect",
            ClientErrorKind::Reset => "reset",
            ClientErrorKind::Timeout => "timeout",
            ClientErrorKind::Http4xx => "http_4xx",
            ClientErrorKind::Http5xx => "http_5xx",
            ClientErrorKind::HttpOther => "http_other",
            ClientErrorKind::BodyRead => "body_read",
            ClientErrorKind::WrongAnswer => "wrong_answer",
            ClientErrorKind::Cancelled => "cancelled",
            ClientErrorKind::Other => "other",
        }
    }

    /// The kind named `name`, if any.
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

impl fmt::Display for ClientErrorKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_what_serde_writes() {
        for kind in ServerErrorKind::ALL {
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{kind}\""));
        }
        for kind in ClientErrorKind::ALL {
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{kind}\""));
            assert_eq!(ClientErrorKind::named(kind.name()), Some(kind));
        }
    }
}
