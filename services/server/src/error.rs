//! Every way a request can fail, each with its status and a JSON [`ErrorBody`].
//!
//! | error                 | status | when                                                      |
//! |-----------------------|--------|-----------------------------------------------------------|
//! | `malformed_json`      | 400    | the body is not JSON (syntax error, truncated, trailing)   |
//! | `wrong_shape`         | 422    | valid JSON, wrong shape: missing field, string value,      |
//! |                       |        | float, integer outside i64                                 |
//! | `body_read_failed`    | 400    | the client stopped sending mid-body                        |
//! | `body_read_timeout`   | 408    | the client stalled mid-body (BODY_IDLE_TIMEOUT) or sent it |
//! |                       |        | slower than BODY_MIN_RATE_KB                               |
//! | `body_too_large`      | 413    | the body is larger than MAX_BODY_MB (also answered to      |
//! |                       |        | `Expect: 100-continue` before the body is sent)            |
//! | `unsupported_media_type` | 415 | Content-Type is not JSON, is missing, or the body is       |
//! |                       |        | compressed (Content-Encoding)                              |
//! | `server_busy`         | 503    | the memory budget for bodies and parsed maps               |
//! |                       |        | (BODY_BUDGET_MB) is spent                                  |
//! | `shutting_down`       | 503    | the server is stopping and the upload made no progress for |
//! |                       |        | SHUTDOWN_IDLE_GRACE                                        |
//! | `not_found`           | 404    | unknown path                                               |
//! | `method_not_allowed`  | 405    | known path, wrong method                                   |
//! | `internal`            | 500    | the blocking pool went away (only during shutdown)         |

use actix_web::{HttpResponse, ResponseError, error::JsonPayloadError, http::StatusCode};
use lab_core::{ServerErrorKind, schema::ErrorBody};
use serde_json::error::Category;

/// A request that gets an error answer instead of a [`lab_core::schema::LabResponse`].
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// Not JSON at all; the message is the parser's, with line and column.
    #[error("{0}")]
    MalformedJson(String),
    /// Valid JSON of the wrong shape; the message is the parser's, with line and column.
    #[error("{0}")]
    WrongShape(String),
    /// The body stream broke before its end (client went away, bad chunked encoding).
    #[error("reading the request body failed: {0}")]
    BodyReadFailed(String),
    /// The client stalled, or sent the body too slowly.
    #[error("reading the request body timed out: {0}")]
    BodyReadTimeout(String),
    /// The body is larger than the limit.
    #[error("request body is larger than the limit of {limit_bytes} bytes")]
    BodyTooLarge {
        /// The limit (MAX_BODY_MB in bytes).
        limit_bytes: usize,
    },
    /// The request is not plain JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Too many body bytes are in flight right now.
    #[error(
        "the server already holds {budget_bytes} bytes of request bodies and parsed maps (BODY_BUDGET_MB); retry later"
    )]
    ServerBusy {
        /// The budget in bytes.
        budget_bytes: usize,
    },
    /// The server is stopping and the upload stalled.
    #[error("{0}")]
    ShuttingDown(String),
    /// Unknown path.
    #[error("no route for {0}")]
    NotFound(String),
    /// Known path, wrong method.
    #[error("method {method} is not allowed on {path}")]
    MethodNotAllowed {
        /// The method the client used.
        method: String,
        /// The path it used it on.
        path: String,
    },
    /// A blocking task was cancelled (the worker is shutting down).
    #[error("internal error: {0}")]
    Internal(String),
}

impl LabError {
    /// The stable, machine-readable kind that goes into [`ErrorBody::error`], with its status.
    pub fn kind(&self) -> ServerErrorKind {
        match self {
            Self::MalformedJson(_) => ServerErrorKind::MalformedJson,
            Self::WrongShape(_) => ServerErrorKind::WrongShape,
            Self::BodyReadFailed(_) => ServerErrorKind::BodyReadFailed,
            Self::BodyReadTimeout(_) => ServerErrorKind::BodyReadTimeout,
            Self::BodyTooLarge { .. } => ServerErrorKind::BodyTooLarge,
            Self::UnsupportedMediaType(_) => ServerErrorKind::UnsupportedMediaType,
            Self::ServerBusy { .. } => ServerErrorKind::ServerBusy,
            Self::ShuttingDown(_) => ServerErrorKind::ShuttingDown,
            Self::NotFound(_) => ServerErrorKind::NotFound,
            Self::MethodNotAllowed { .. } => ServerErrorKind::MethodNotAllowed,
            Self::Internal(_) => ServerErrorKind::Internal,
        }
    }

    /// Whether the answer is given before the request's body was read to its end, so the
    /// connection cannot carry another request.
    pub fn body_left_unread(&self) -> bool {
        matches!(
            self,
            Self::BodyReadTimeout(_)
                | Self::BodyTooLarge { .. }
                | Self::ServerBusy { .. }
                | Self::ShuttingDown(_)
        )
    }

    /// Maps a parser error: syntax and end-of-input errors mean "not JSON" (400), data errors
    /// mean "JSON of the wrong shape" (422).
    pub fn from_json(error: serde_json::Error) -> Self {
        let message = shortened(error.to_string());
        match error.classify() {
            Category::Data => Self::WrongShape(message),
            Category::Syntax | Category::Eof | Category::Io => Self::MalformedJson(message),
        }
    }

    /// Maps the errors of actix's `web::Json` extractor (used by /ping) onto the same
    /// answers the other endpoints give.
    pub fn from_json_extractor(error: JsonPayloadError, limit_bytes: usize) -> Self {
        match error {
            JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
                Self::BodyTooLarge { limit_bytes }
            }
            JsonPayloadError::ContentType => Self::UnsupportedMediaType(
                "Content-Type must be application/json (or another +json type)".into(),
            ),
            JsonPayloadError::Deserialize(error) => Self::from_json(error),
            JsonPayloadError::Payload(error) => Self::from_payload(error, limit_bytes),
            other => Self::Internal(other.to_string()),
        }
    }
}

/// Longest error message sent back, in bytes. A parser message quotes the offending value
/// (`invalid type: string "…", expected i64`), and that value can be megabytes long.
pub const MAX_MESSAGE_BYTES: usize = 300;

/// `message` cut to [`MAX_MESSAGE_BYTES`] on a character boundary, keeping its end (where
/// serde_json puts the line and column).
fn shortened(message: String) -> String {
    if message.len() <= MAX_MESSAGE_BYTES {
        return message;
    }
    let tail_start = (message.len() - MAX_MESSAGE_BYTES / 3..message.len())
        .find(|index| message.is_char_boundary(*index))
        .unwrap_or(message.len());
    let head_end = (0..=MAX_MESSAGE_BYTES / 2)
        .rev()
        .find(|index| message.is_char_boundary(*index))
        .unwrap_or(0);
    format!("{} … {}", &message[..head_end], &message[tail_start..])
}

impl ResponseError for LabError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.kind().status()).expect("every kind's status is valid")
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if self.body_left_unread() {
            // The rest of the body is still on its way (or never coming): close the connection
            // after this answer instead of waiting to read past it for the next request.
            response.force_close();
        }
        response.json(ErrorBody {
            error: self.kind().name().to_owned(),
            message: self.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_are_400_and_shape_errors_422() {
        let syntax = serde_json::from_str::<serde_json::Value>("{\"a\": }").unwrap_err();
        assert_eq!(LabError::from_json(syntax).status_code(), 400);
        let truncated = serde_json::from_str::<serde_json::Value>("{\"a\": 1").unwrap_err();
        assert_eq!(LabError::from_json(truncated).status_code(), 400);
        let shape = serde_json::from_str::<i64>("\"x\"").unwrap_err();
        assert_eq!(LabError::from_json(shape).status_code(), 422);
    }

    #[test]
    fn a_long_quoted_value_is_cut_but_the_position_kept() {
        let body = format!("{{\"a\": \"{}é\"}}", "x".repeat(100_000));
        let error = serde_json::from_str::<std::collections::HashMap<String, i64>>(&body);
        let message = LabError::from_json(error.unwrap_err()).to_string();
        assert!(
            message.len() <= MAX_MESSAGE_BYTES + 10,
            "{} bytes",
            message.len()
        );
        assert!(message.contains("line 1 column"), "{message}");
    }

    #[test]
    fn messages_carry_the_position() {
        let error = serde_json::from_str::<serde_json::Value>("{\n  \"a\": ]").unwrap_err();
        let message = LabError::from_json(error).to_string();
        assert!(message.contains("line 2 column"), "{message}");
    }
}
