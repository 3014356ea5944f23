//! The probe's levels: `alone` (the small requests only) and one level per upload size of
//! the ladder; their names (directories, CSV cells) and labels (the report).

use serde::{Deserialize, Serialize};

/// One level of the probe.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Level {
    /// The small requests alone: the baseline every ratio divides by.
    Alone,
    /// The small requests beside uploads of this many MB.
    Uploads {
        /// The upload's body size, MB.
        size_mb: f64,
    },
}

impl Level {
    /// The levels of a ladder: `alone` first, then each size in the order given.
    pub fn of_ladder(sizes_mb: &[f64]) -> Vec<Level> {
        std::iter::once(Level::Alone)
            .chain(sizes_mb.iter().map(|&size_mb| Level::Uploads { size_mb }))
            .collect()
    }

    /// Its directory and CSV name: `alone`, `uploads-25mb`, `uploads-0.5mb`.
    pub fn name(&self) -> String {
        match self {
            Level::Alone => "alone".to_string(),
            Level::Uploads { size_mb } => format!("uploads-{}mb", size_mb_text(*size_mb)),
        }
    }

    /// Its label in the report: `alone`, `25 MB uploads`.
    pub fn label(&self) -> String {
        match self {
            Level::Alone => "alone".to_string(),
            Level::Uploads { size_mb } => format!("{} MB uploads", size_mb_text(*size_mb)),
        }
    }

    /// The upload size, MB (0 alone).
    pub fn upload_mb(&self) -> f64 {
        match self {
            Level::Alone => 0.0,
            Level::Uploads { size_mb } => *size_mb,
        }
    }
}

/// A size as few digits as it needs: `25`, `0.5`.
pub fn size_mb_text(size_mb: f64) -> String {
    // Rust's shortest round-trip form: 25.0 is `25`, 0.5 is `0.5`.
    format!("{size_mb}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `alone` comes first; names are directory-safe and labels readable.
    #[test]
    fn levels_are_alone_then_the_ladder() {
        let levels = Level::of_ladder(&[1.0, 0.5, 25.0]);
        let names: Vec<String> = levels.iter().map(Level::name).collect();
        assert_eq!(
            names,
            ["alone", "uploads-1mb", "uploads-0.5mb", "uploads-25mb"]
        );
        assert_eq!(levels[3].label(), "25 MB uploads");
        assert_eq!(levels[0].upload_mb(), 0.0);
    }
}
