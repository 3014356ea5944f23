//! The TCP stream under every HTTP connection, with two bounds actix-http does not keep by
//! itself, and a way for a handler to end the connection's reading.
//!
//! actix-http's HTTP/1 dispatcher reads up to 128 KiB of a connection into its buffer and
//! decodes every request head in it at once, each into a header map of its own (about 2 KB),
//! whether or not the answers to the requests before them have been sent. A client that
//! pipelines `GET /healthz` (34 bytes a request) and never reads its answers therefore made the
//! server hold thousands of decoded requests per connection: 30 such connections took the
//! server from 8 MB to 719 MB, past any BODY_BUDGET_MB, because none of it is a body. So
//! [`Connection`]:
//! - reads at most [`READ_BURST_BYTES`] per turn of the dispatcher, then lets it run (it asks to
//!   be polled again at once): the dispatcher decodes what it has before it reads more, so one
//!   burst bounds the requests it holds undecoded-to-answered, about 500 of the smallest;
//! - reads nothing while answers wait for the client: once a write could not be completed
//!   (the socket's send buffer is full: the client is not reading), no further request is read
//!   until the waiting answers have gone out.
//!
//! When such a connection closes, the freed memory is given back to the operating system
//! ([`crate::memory`]).
//!
//! An upload is read at the same pace as before (a burst is a few microseconds of copying, the
//! dispatcher is polled again at once), and a client that reads its answers never waits.
//!
//! [`ConnectionControl`] is the handle a request finds in its connection data: calling
//! [`ConnectionControl::end_reading`] makes the connection read end-of-stream from then on,
//! so actix closes it as soon as the answer is written instead of lingering for the rest of a
//! body that is not coming (the stop's cut-off of a stalled upload uses it).

use std::{
    cell::Cell,
    io,
    pin::Pin,
    rc::Rc,
    task::{Context, Poll},
};

use actix_web::rt::net::TcpStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The most a connection reads in one turn of its dispatcher. 16 KiB holds about 480 of the
/// smallest pipelined requests (34 bytes), each decoded into a head of about 2 KB: about 1 MB a
/// connection at worst, however long a client that never reads goes on sending.
pub const READ_BURST_BYTES: usize = 16 * 1024;

/// Shared between a [`Connection`] and the requests it carries (through actix's connection
/// data, see [`Connection::control`]).
#[derive(Debug, Clone, Default)]
pub struct ConnectionControl(Rc<Cell<bool>>);

impl ConnectionControl {
    /// From now on the connection reads end-of-stream: once the answer in progress is
    /// written, actix closes it.
    pub fn end_reading(&self) {
        self.0.set(true);
    }

    fn reading_ended(&self) -> bool {
        self.0.get()
    }
}

/// A TCP stream read in bursts, not read while its answers wait (see the module docs).
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    /// Bytes read in this turn of the dispatcher.
    burst: usize,
    /// Whether the last write was refused for lack of room: answers wait for the client.
    answers_waiting: bool,
    /// Whether answers ever waited: then the connection may have held many decoded requests,
    /// and closing it frees them.
    answers_ever_waited: bool,
    control: ConnectionControl,
}

impl Connection {
    /// Wraps an accepted stream.
    pub fn new(stream: TcpStream) -> Self {
        Self {
            stream,
            burst: 0,
            answers_waiting: false,
            answers_ever_waited: false,
            control: ConnectionControl::default(),
        }
    }

    /// The peer's address, as the stream knows it.
    pub fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.stream.peer_addr()
    }

    /// The handle its requests get (actix's `on_connect_ext` puts it in the connection data).
    pub fn control(&self) -> ConnectionControl {
        self.control.clone()
    }

    /// Notes how a write went: refused for lack of room means answers wait for the client; any
    /// progress after that means the client reads again, and the dispatcher, which skipped
    /// reading meanwhile, is asked to run again to read.
    fn after_write<T>(&mut self, result: &Poll<io::Result<T>>, cx: &Context<'_>) {
        match result {
            Poll::Pending => {
                self.answers_waiting = true;
                self.answers_ever_waited = true;
            }
            Poll::Ready(_) if self.answers_waiting => {
                self.answers_waiting = false;
                cx.waker().wake_by_ref();
            }
            Poll::Ready(_) => {}
        }
    }
}

impl Drop for Connection {
    /// A client that stopped reading may have made the connection hold a megabyte of decoded
    /// requests and answers; malloc keeps such freed memory unless asked to give it back.
    fn drop(&mut self) {
        if self.answers_ever_waited {
            crate::memory::give_back_freed_memory();
        }
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.control.reading_ended() {
            return Poll::Ready(Ok(()));
        }
        if this.answers_waiting {
            // The write that was refused woke nobody yet; its waker (the dispatcher's) is
            // registered with the socket, and [`Connection::after_write`] asks for another turn
            // once a write goes through.
            return Poll::Pending;
        }
        if this.burst >= READ_BURST_BYTES {
            // This turn's burst is read: let the dispatcher decode and answer it, and poll us
            // again right after.
            this.burst = 0;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let room = READ_BURST_BYTES - this.burst;
        let before = buf.filled().len();
        let result = if buf.remaining() > room {
            // tokio's own `Take` does the same: read into the first `room` bytes of what is
            // left of `buf`, then tell `buf` how much was filled.
            let mut limited = buf.take(room);
            let start = limited.filled().as_ptr();
            let result = Pin::new(&mut this.stream).poll_read(cx, &mut limited);
            assert_eq!(start, limited.filled().as_ptr(), "the read kept its buffer");
            let read = limited.filled().len();
            // SAFETY: the stream filled (so initialized) `read` bytes of `limited`, which are
            // the first `read` unfilled bytes of `buf`.
            unsafe { buf.assume_init(read) };
            buf.advance(read);
            result
        } else {
            Pin::new(&mut this.stream).poll_read(cx, buf)
        };
        match &result {
            Poll::Ready(Ok(())) => this.burst += buf.filled().len() - before,
            // Nothing more to read now: the next turn starts a new burst.
            Poll::Pending => this.burst = 0,
            Poll::Ready(Err(_)) => {}
        }
        result
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.after_write(&result, cx);
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.after_write(&result, cx);
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
