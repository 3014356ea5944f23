//! [`Strategy`]: the ways a server can handle a study body, one endpoint each. The server
//! registers its routes, metric labels and parse costs from it, the load generator and the
//! matrix name what they measure with it, and the FastAPI peer reads it from the contract file
//! (see [`crate::contract`]).

use std::fmt;

use serde::{Deserialize, Serialize};

/// One way of handling a study body, and its endpoint. Serialized as its path (`/ping`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Strategy {
    /// The framework's typed extractor builds an owned map on the event loop.
    #[serde(rename = "/ping")]
    Ping,
    /// The body read chunk by chunk, then the same owned parse on the event loop, profiled.
    #[serde(rename = "/pong")]
    Pong,
    /// `/pong`'s work on the worker's blocking pool: the loop stays free.
    #[serde(rename = "/offload")]
    Offload,
    /// The cheapest correct parse, no hash map, still on the event loop.
    #[serde(rename = "/lean")]
    Lean,
    /// Parsed while the bytes arrive, a millisecond at a time, never holding the body.
    #[serde(rename = "/stream")]
    Stream,
    /// The floor: the body read at the same pace as the others and thrown away, no parse.
    #[serde(rename = "/drain")]
    Drain,
}

impl Strategy {
    /// Every strategy, in the order the server registers them and the reports list them.
    pub const ALL: [Strategy; 6] = [
        Strategy::Ping,
        Strategy::Pong,
        Strategy::Offload,
        Strategy::Lean,
        Strategy::Stream,
        Strategy::Drain,
    ];

    /// Every strategy's path, in [`Self::ALL`]'s order.
    pub const PATHS: [&'static str; Self::ALL.len()] = {
        let mut paths = [""; Self::ALL.len()];
        let mut index = 0;
        while index < paths.len() {
            paths[index] = Self::ALL[index].path();
            index += 1;
        }
        paths
    };

    /// The endpoint's path, `/ping`.
    pub const fn path(self) -> &'static str {
        match self {
            Strategy::Ping => "/ping",
            Strategy::Pong => "/pong",
            Strategy::Offload => "/offload",
            Strategy::Lean => "/lean",
            Strategy::Stream => "/stream",
            Strategy::Drain => "/drain",
        }
    }

    /// The `endpoint` label of its metrics, `ping`: the path without its slash.
    pub fn label(self) -> &'static str {
        &self.path()[1..]
    }

    /// What it shows, in one sentence (the dashboard's and the reports' wording).
    pub fn about(self) -> &'static str {
        match self {
            Strategy::Ping => {
                "The framework's typed extractor buffers the body and builds an owned map on the event loop: the naive baseline."
            }
            Strategy::Pong => {
                "The body read chunk by chunk, then the same owned parse on the event loop, phase by phase: the study's hand-rolled version."
            }
            Strategy::Offload => {
                "The same parse on the worker's blocking pool: the event loop keeps serving meanwhile."
            }
            Strategy::Lean => {
                "The cheapest correct parse (no hash map), still on the event loop: less work, same place."
            }
            Strategy::Stream => {
                "Parsed while the bytes arrive, in slices of about a millisecond, the body never held whole."
            }
            Strategy::Drain => {
                "The floor: the body read at the same pace as the others and thrown away, no parse at all: what receiving it costs."
            }
        }
    }

    /// Whether the study's FastAPI server has it too.
    pub fn on_fastapi(self) -> bool {
        matches!(
            self,
            Strategy::Ping | Strategy::Pong | Strategy::Offload | Strategy::Drain
        )
    }

    /// Whether its answer counts the body (`count` and `maxval`): every strategy but the floor,
    /// which reads no further than the bytes, and answers 0 and 0. A load generator checks
    /// the answers of the others only.
    pub const fn counts(self) -> bool {
        !matches!(self, Strategy::Drain)
    }

    /// The strategy served at `path`, if any.
    pub fn from_path(path: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|strategy| strategy.path() == path)
    }

    /// The strategy whose metric label is `label`, if any.
    pub fn from_label(label: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|strategy| strategy.label() == label)
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.path())
    }
}

impl std::str::FromStr for Strategy {
    type Err = String;

    /// A path (`/ping`) or a label (`ping`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::from_path(text)
            .or_else(|| Self::from_label(text))
            .ok_or_else(|| {
                let known: Vec<&str> = Self::ALL.iter().map(|s| s.path()).collect();
                format!("`{text}` is not a strategy ({})", known.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_labels_and_serde_agree() {
        for strategy in Strategy::ALL {
            assert_eq!(strategy.path(), format!("/{}", strategy.label()));
            assert_eq!(Strategy::from_path(strategy.path()), Some(strategy));
            assert_eq!(strategy.label().parse::<Strategy>(), Ok(strategy));
            let json = serde_json::to_string(&strategy).unwrap();
            assert_eq!(json, format!("\"{}\"", strategy.path()));
            assert_eq!(serde_json::from_str::<Strategy>(&json).unwrap(), strategy);
        }
        assert!("/nope".parse::<Strategy>().is_err());
    }
}
