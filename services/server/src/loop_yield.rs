//! [`yield_to_loop`]: give the event loop a turn, for real, from inside an actix-web handler.
//!
//! `tokio::task::yield_now` wakes its task only after the loop has polled its sockets and
//! timers, but it returns as soon as its task is polled again, whoever woke it. Inside
//! actix-web that is often at once: while its read buffer holds 32 KiB of a body the handler
//! has not taken yet, the HTTP/1 dispatcher (the task the handler runs in) wakes itself, and
//! tokio's `LocalSet` polls a woken task up to 61 times before it lets the loop look at its
//! sockets and timers again. A handler that yields every millisecond then holds the loop
//! for up to 61 ms: the lab measured 40–60 ms stalls of the lag probe under `/stream` whose
//! every slice was under 3 ms. [`yield_to_loop`] stays pending through such early polls and
//! returns only once its own wake, the one that comes after the loop's turn, has arrived.

use std::{
    future::{Future, poll_fn},
    pin::pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
};

use futures_util::task::AtomicWaker;

/// Watches for the event loop's next turn: its next look at its sockets and timers after
/// [`LoopTurn::watch`]. Tokio wakes a yielded task only at that moment, so the watch hands
/// tokio's yield a waker of its own and notes when it is woken.
pub struct LoopTurn {
    state: Arc<TurnState>,
}

#[derive(Default)]
struct TurnState {
    came: AtomicBool,
    task: AtomicWaker,
}

impl Wake for TurnState {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.came.store(true, Ordering::Release);
        self.task.wake();
    }
}

impl LoopTurn {
    /// Starts watching. Outside a tokio runtime the turn has come at once.
    pub fn watch() -> Self {
        let state = Arc::new(TurnState::default());
        let turn_waker = Waker::from(Arc::clone(&state));
        // Polled once only, so tokio keeps the waker until the loop's next turn (a second
        // poll would return at once). Dropping the future leaves the waker with tokio.
        let mut yield_now = pin!(tokio::task::yield_now());
        if yield_now
            .as_mut()
            .poll(&mut Context::from_waker(&turn_waker))
            .is_ready()
        {
            state.came.store(true, Ordering::Release);
        }
        Self { state }
    }

    /// Whether the loop has had its turn since the watch began.
    pub fn has_come(&self) -> bool {
        self.state.came.load(Ordering::Acquire)
    }

    /// Ready once the loop has had its turn; until then the task polling it is woken at that
    /// turn (for code that polls rather than awaits, such as a response body stream).
    pub fn poll_come(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.state.task.register(cx.waker());
        if self.has_come() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Returns once the loop has had its turn, however often the calling task is polled
    /// before that.
    pub async fn wait(&self) {
        poll_fn(|cx| self.poll_come(cx)).await
    }
}

/// Returns after the event loop has polled its sockets and timers (and run what they woke),
/// however often the calling task is polled before that. Outside a tokio runtime it returns
/// at once.
pub async fn yield_to_loop() {
    LoopTurn::watch().wait().await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Runs `yield_fn` in a task spawned on a `LocalSet` (as every actix-web connection is),
    /// wrapped so that the task wakes itself whenever the yield is pending, as actix-http's
    /// dispatcher does while its read buffer is full. A timer that is already due when the
    /// yield starts fires at the loop's next turn: returns whether it had fired by the time
    /// the yield returned, and how often the task was polled meanwhile.
    fn yield_in_a_self_waking_task<F: Future<Output = ()> + 'static>(
        yield_fn: fn() -> F,
    ) -> (bool, usize) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        let local = tokio::task::LocalSet::new();
        local.block_on(&runtime, async move {
            let mut timer = Box::pin(tokio::time::sleep(Duration::from_millis(1)));
            // Registered with the timer, then due.
            let first = poll_fn(|cx| Poll::Ready(timer.as_mut().poll(cx))).await;
            assert!(first.is_pending());
            std::thread::sleep(Duration::from_millis(5));
            assert!(!timer.is_elapsed(), "due, but the loop has not looked yet");
            tokio::task::spawn_local(async move {
                let mut yielded = pin!(yield_fn());
                let mut polls = 0;
                poll_fn(|cx| {
                    polls += 1;
                    if yielded.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(());
                    }
                    cx.waker().wake_by_ref();
                    Poll::Pending
                })
                .await;
                (timer.is_elapsed(), polls)
            })
            .await
            .expect("the yielding task")
        })
    }

    #[test]
    fn a_task_polled_early_still_waits_for_the_loops_turn() {
        let (timer_fired, polls) = yield_in_a_self_waking_task(yield_to_loop);
        assert!(timer_fired, "the yield returned before the loop's turn");
        assert!(polls > 1, "the early polls did not happen: {polls}");
    }

    /// A turn the handler did not wait for is still seen: the watch notices the loop's turn
    /// that came while the task was away.
    #[test]
    fn a_watch_sees_a_turn_the_task_did_not_wait_for() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let turn = LoopTurn::watch();
            assert!(!turn.has_come());
            tokio::time::sleep(Duration::from_millis(1)).await;
            assert!(turn.has_come());
        });
    }

    /// Why [`yield_to_loop`] exists: tokio's own yield returns on the early poll, before the
    /// due timer fires. Should tokio change that, this test says the wrapper is no longer needed.
    #[test]
    fn tokios_yield_returns_on_an_early_poll() {
        let (timer_fired, polls) = yield_in_a_self_waking_task(tokio::task::yield_now);
        assert!(!timer_fired);
        assert_eq!(polls, 2);
    }

    #[test]
    fn outside_a_runtime_it_returns_at_once() {
        let mut yielded = pin!(yield_to_loop());
        let mut cx = Context::from_waker(Waker::noop());
        assert!(yielded.as_mut().poll(&mut cx).is_ready());
    }
}
