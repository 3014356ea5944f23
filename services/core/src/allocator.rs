//! [`Allocator`]: the memory allocators lab-server can run with (its ALLOCATOR setting, what
//! its `/healthz` reports, a dimension of the matrix). An allocator is chosen when a program is
//! linked, so lab-server is built once per allocator ([`Allocator::binary`]).

use std::fmt;

use serde::{Deserialize, Serialize};

/// A memory allocator, by the name ALLOCATOR and `/healthz` use.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Allocator {
    /// The system's malloc (glibc's on Debian): what a Rust program gets by default.
    #[default]
    System,
    /// jemalloc (tikv-jemallocator).
    Jemalloc,
}

impl Allocator {
    /// Both, in ALLOCATOR's order.
    pub const ALL: [Allocator; 2] = [Allocator::System, Allocator::Jemalloc];

    /// Its name: `system`, `jemalloc`.
    pub fn name(self) -> &'static str {
        match self {
            Allocator::System => "system",
            Allocator::Jemalloc => "jemalloc",
        }
    }

    /// The lab-server binary built with it.
    pub fn binary(self) -> &'static str {
        match self {
            Allocator::System => "lab-server",
            Allocator::Jemalloc => "lab-server-jemalloc",
        }
    }
}

impl fmt::Display for Allocator {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

impl std::str::FromStr for Allocator {
    type Err = String;

    /// `system` or `jemalloc`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|allocator| allocator.name() == text.trim())
            .ok_or_else(|| format!("`{}` is not an allocator (system, jemalloc)", text.trim()))
    }
}
