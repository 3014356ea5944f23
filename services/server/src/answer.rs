//! The 200 answer's body: the study's response, which echoes the request's `name`.
//!
//! A client chooses the name, megabytes long if it likes. Serialized in one go, a 60 MB name
//! held `/stream`'s event loop for some 160 ms (the JSON escaping, then actix copying the 60 MB
//! answer into its write buffer in one piece), and the answer was two more copies of the name in
//! memory. An answer whose name is longer than [`LONG_NAME_BYTES`] is therefore written as a
//! stream: the name escaped [`NAME_PIECE_BYTES`] at a time, the handler's loop given its turn
//! after every millisecond of it (as `/stream` does while it parses, see [`crate::loop_yield`]),
//! and actix's write buffer holding a piece at a time. Any other answer is one buffer.

use std::{
    convert::Infallible,
    pin::Pin,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use actix_web::{HttpResponse, http::header::ContentType, web::Bytes};
use futures_util::Stream;
use lab_core::schema::LabResponse;

use crate::loop_yield::LoopTurn;

/// Names up to this long are answered in one buffer.
pub const LONG_NAME_BYTES: usize = 64 * 1024;
/// Bytes of the name escaped into one piece of a streamed answer.
pub const NAME_PIECE_BYTES: usize = 16 * 1024;
/// How long a streamed answer holds the loop before it waits for the loop's turn.
const SLICE: Duration = Duration::from_millis(1);

/// `response` as the 200 answer: one JSON buffer, or a stream of pieces for a long name.
pub fn answer(response: LabResponse) -> HttpResponse {
    if response.name.len() <= LONG_NAME_BYTES {
        return HttpResponse::Ok().json(response);
    }
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .streaming(SlicedAnswer::new(response))
}

/// The pieces of an answer with a long name: `{"name":"`, the name escaped piece by piece,
/// then `",` and the rest of the object, the same bytes `serde_json` writes for the whole.
struct SlicedAnswer {
    name: String,
    /// The next byte of the name to escape; `None` before the opening piece.
    at: Option<usize>,
    /// What follows the name: `","count":…}`; taken when sent.
    tail: Option<Bytes>,
    slice_started: Instant,
    /// Set when a slice is used up: the loop's turn to wait for.
    turn: Option<LoopTurn>,
}

impl SlicedAnswer {
    fn new(mut response: LabResponse) -> Self {
        let name = std::mem::take(&mut response.name);
        let nameless = serde_json::to_string(&response).expect("an answer serializes");
        // `{"name":"","count":…}` without `{"name":""`, behind the name's closing quote.
        let rest = nameless
            .strip_prefix(r#"{"name":"""#)
            .expect("the name is the answer's first field");
        Self {
            name,
            at: None,
            tail: Some(Bytes::from(format!("\"{rest}"))),
            slice_started: Instant::now(),
            turn: None,
        }
    }

    /// The next piece of the name, escaped as in a JSON string, without the quotes.
    fn next_name_piece(&mut self, at: usize) -> Bytes {
        let mut end = (at + NAME_PIECE_BYTES).min(self.name.len());
        while !self.name.is_char_boundary(end) {
            end -= 1;
        }
        let quoted = serde_json::to_string(&self.name[at..end]).expect("a str serializes");
        self.at = Some(end);
        Bytes::copy_from_slice(&quoted.as_bytes()[1..quoted.len() - 1])
    }
}

impl Stream for SlicedAnswer {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Some(turn) = &this.turn {
            if turn.poll_come(cx).is_pending() {
                return Poll::Pending;
            }
            this.turn = None;
            this.slice_started = Instant::now();
        }
        let piece = match this.at {
            None => {
                this.at = Some(0);
                Bytes::from_static(br#"{"name":""#)
            }
            Some(at) if at < this.name.len() => this.next_name_piece(at),
            Some(_) => return Poll::Ready(this.tail.take().map(Ok)),
        };
        if this.slice_started.elapsed() >= SLICE {
            this.turn = Some(LoopTurn::watch());
        }
        Poll::Ready(Some(Ok(piece)))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use futures_util::StreamExt;

    use super::*;

    fn response(name: String) -> LabResponse {
        LabResponse {
            name,
            count: 3,
            maxval: -7,
            elapsed_server: 12,
            profiling: BTreeMap::from([("parse".to_owned(), 1.5)]),
            worker: 2,
        }
    }

    /// The pieces of a long name, with quotes, backslashes, control characters and multi-byte
    /// characters across piece boundaries, add up to exactly what serde_json writes.
    #[tokio::test]
    async fn a_sliced_answer_is_the_same_json_as_the_whole() {
        let name: String = "aé\"\\\n日😀"
            .chars()
            .cycle()
            .take(LONG_NAME_BYTES)
            .collect();
        let whole = serde_json::to_vec(&response(name.clone())).unwrap();
        let pieces: Vec<Bytes> = SlicedAnswer::new(response(name))
            .map(|piece| piece.unwrap())
            .collect()
            .await;
        assert!(pieces.len() > 2);
        assert_eq!(pieces.concat(), whole);
    }
}
