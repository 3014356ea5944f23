//! Shared helpers for lab-matrix's integration tests.

use std::path::{Path, PathBuf};

/// The lab-server binary next to lab-matrix's (target/<profile>/lab-server): what the matrix
/// starts by default.
pub fn server_bin() -> PathBuf {
    let path = Path::new(env!("CARGO_BIN_EXE_lab-matrix")).with_file_name("lab-server");
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build -p lab-server` (or `cargo test --workspace`)",
        path.display()
    );
    path
}
