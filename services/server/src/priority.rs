//! The event loop must win the CPU from the threads that parse offloaded bodies.
//!
//! `/offload` moves a 25 MB parse to the worker's blocking pool so the loop stays free. But on
//! a 2-core machine with WORKERS=1 and BLOCKING_THREADS=2, two parse threads and the loop
//! compete for two cores: the kernel shares the CPU fairly, so a small request waits its turn
//! behind parses anyway. Each pool thread therefore lowers its own scheduling priority (a
//! Linux `nice` value per thread) the first time it runs offloaded work: the loop, at the
//! default priority, then gets about ten times the CPU share of a parse thread at nice 10
//! whenever both want it, and the parses use whatever is left.

use std::cell::Cell;

thread_local! {
    /// The nice value this thread was set to (0 = untouched).
    static NICE: Cell<i32> = const { Cell::new(0) };
}

/// Sets the calling thread's nice value to `nice` (1 to 19; 0 leaves it alone), once per
/// thread: a raised nice value cannot be lowered again without privileges, and the blocking
/// pool's threads only ever run the lab's offloaded work. A failure is logged, not fatal.
pub fn lower_this_thread(nice: u8) {
    let nice = i32::from(nice);
    if nice == 0 || NICE.get() == nice {
        return;
    }
    // SAFETY: gettid and setpriority take plain integers and touch no memory of ours. On
    // Linux, PRIO_PROCESS with a thread id sets that one thread's nice value.
    let result = unsafe {
        let thread = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, thread as libc::id_t, nice)
    };
    if result == 0 {
        NICE.set(nice);
    } else {
        tracing::warn!(
            nice,
            error = %std::io::Error::last_os_error(),
            "could not lower an offload thread's priority"
        );
    }
}

/// The calling thread's nice value as the kernel reports it.
pub fn this_thread_nice() -> i32 {
    // SAFETY: as above; getpriority returns the value (errno is not consulted: -1 is a
    // valid nice value, and no error is possible for the calling thread).
    unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A thread's nice value goes to what was asked, once; 0 leaves a thread alone.
    #[test]
    fn a_thread_lowers_its_own_priority_only() {
        let main_before = this_thread_nice();
        let seen = std::thread::spawn(|| {
            lower_this_thread(0);
            let untouched = this_thread_nice();
            lower_this_thread(7);
            lower_this_thread(7);
            (untouched, this_thread_nice())
        })
        .join()
        .unwrap();
        assert_eq!(seen.1, 7.max(seen.0));
        assert_eq!(this_thread_nice(), main_before, "other threads keep theirs");
    }
}
