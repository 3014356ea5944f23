//! Giving freed memory back to the operating system after work that held a lot of it.

use std::sync::atomic::{AtomicBool, Ordering};

/// A request that held at least this much (a large body and its map) hands the freed memory
/// back to the OS when it is done.
pub const RETURN_MEMORY_AFTER_BYTES: usize = 16 * 1024 * 1024;

/// Asks glibc's malloc to give free memory back to the OS (`malloc_trim`), on the worker's
/// blocking pool, never on the event loop, and one trim at a time in the whole server. Called
/// after a request that held [`RETURN_MEMORY_AFTER_BYTES`], and when a connection whose client
/// stopped reading its answers closes (see [`crate::connection`]).
///
/// A 25 MB owned parse allocates 1.25 million small key strings, freed from whichever thread
/// parsed them; glibc keeps such memory in its per-thread arenas for reuse, and measured idle
/// RSS after a burst stayed at 160-370 MB (mimalloc, tried instead, kept more). `malloc_trim`
/// returns the free pages of every arena. It takes 2-15 ms after a /pong and ~250 ms after an
/// /offload (whose map was freed in a pool thread's arena): on the loop, that would be a
/// blocked loop of its own.
pub fn give_back_freed_memory() {
    // Asked while a trim runs: that trim may have walked the arenas before this memory was
    // freed, so it runs once more when it is done.
    AGAIN.store(true, Ordering::SeqCst);
    if TRIMMING.swap(true, Ordering::SeqCst) {
        return;
    }
    // Outside the runtime (a connection dropped while the server shuts down) there is no pool
    // to trim on, and no server to keep small.
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        TRIMMING.store(false, Ordering::SeqCst);
        return;
    };
    // Fire and forget: nobody waits for the trim.
    drop(runtime.spawn_blocking(|| {
        loop {
            AGAIN.store(false, Ordering::SeqCst);
            let started = std::time::Instant::now();
            // SAFETY: malloc_trim only walks glibc's own arenas; it takes no pointers from us.
            unsafe {
                libc::malloc_trim(0);
            }
            tracing::debug!(
                took_ms = started.elapsed().as_secs_f64() * 1e3,
                "malloc_trim"
            );
            TRIMMING.store(false, Ordering::SeqCst);
            if !AGAIN.load(Ordering::SeqCst) || TRIMMING.swap(true, Ordering::SeqCst) {
                break;
            }
        }
    }));
}

/// Whether a trim is running.
static TRIMMING: AtomicBool = AtomicBool::new(false);
/// Whether a trim was asked for since the running one began.
static AGAIN: AtomicBool = AtomicBool::new(false);
