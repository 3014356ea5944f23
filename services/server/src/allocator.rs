//! Which memory allocator the server runs with: a lab setting (`ALLOCATOR`), because the
//! allocator decides much of what the owned-map strategies cost. A 25 MB owned parse makes
//! 1.25 million small key strings and frees them all; with jemalloc instead of glibc's malloc,
//! `/offload`'s large median was 1.37× faster and its 140-208 ms stalls were gone (measured by
//! preloading the library, docs/server.md).
//!
//! An allocator is chosen when a program is linked, not while it runs, so the lab builds the
//! same server twice: `lab-server` with the system allocator (what a Rust program gets by
//! default) and `lab-server-jemalloc` with jemalloc. Each knows which it is; asked for the
//! other, it hands over to the other binary, found beside it, with the same arguments and
//! environment ([`hand_over_if_asked`]), so ALLOCATOR works the same everywhere the binary is
//! started (compose, the matrix, by hand). `/healthz` reports the allocator that answers.

use std::{ffi::OsString, path::PathBuf};

pub use lab_core::Allocator;

/// Why the hand-over to the other binary failed.
#[derive(Debug, thiserror::Error)]
#[error("ALLOCATOR={asked} needs {path}, which could not be started: {source}")]
pub struct HandOverError {
    asked: Allocator,
    path: String,
    #[source]
    source: std::io::Error,
}

/// When `asked` is not `built_in`, replaces this process with the binary built with `asked`,
/// found beside this one, with the same arguments and environment; returns only when there is
/// nothing to do, or with why it could not be done.
pub fn hand_over_if_asked(asked: Allocator, built_in: Allocator) -> Result<(), HandOverError> {
    if asked == built_in {
        return Ok(());
    }
    let path = std::env::current_exe()
        .map(|exe| exe.with_file_name(asked.binary()))
        .unwrap_or_else(|_| PathBuf::from(asked.binary()));
    let arguments: Vec<OsString> = std::env::args_os().skip(1).collect();
    let source =
        std::os::unix::process::CommandExt::exec(std::process::Command::new(&path).args(arguments));
    Err(HandOverError {
        asked,
        path: path.display().to_string(),
        source,
    })
}
