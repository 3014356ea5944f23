//! How the client's requests get their TCP connections.

use clap::ValueEnum;
use serde::{Deserialize, Serialize};

/// How each request gets its TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Connection {
    /// A fresh TCP connection for every request, closed after the response (the study's
    /// client did this by building a new HTTP client per call).
    New,
    /// Pooled connections, reused between requests of the same class (HTTP keep-alive).
    Keepalive,
}

/// How keep-alive connections are pooled between classes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pool {
    /// Each class has its own client and connection pool: a small request only ever rides a
    /// connection another small request used.
    #[default]
    PerClass,
    /// All classes share one client and pool, as a proxy or an app server talking to its
    /// backend does: a small request may take the connection a large upload just used.
    Shared,
}

impl Pool {
    /// The name used in the table, the JSON report and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Pool::PerClass => "per-class",
            Pool::Shared => "shared",
        }
    }
}

impl Connection {
    /// The lower-case name used in CSVs, metrics labels and the table.
    pub fn as_str(self) -> &'static str {
        match self {
            Connection::New => "new",
            Connection::Keepalive => "keepalive",
        }
    }
}
