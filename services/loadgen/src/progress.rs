//! The live progress line: elapsed time, requests per class, the small class's p95 so far.
//!
//! Drawn only when stdout and stderr are terminals and `--quiet` is off, so logs, pipes and
//! CI output never fill up with redraws.

use std::{io::IsTerminal, time::Duration};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use lab_core::Class;

use crate::stats::ClassStats;

/// A spinner line on stderr.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A progress line if the output is an interactive terminal and not `quiet`.
    pub fn for_terminal(quiet: bool) -> Option<Self> {
        if quiet || !std::io::stdout().is_terminal() || !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}").expect("the template is valid"),
        );
        Some(Progress { bar })
    }

    /// Redraws the line.
    pub fn update(&self, elapsed: Duration, stats: &[ClassStats]) {
        self.bar.set_message(progress_text(elapsed, stats));
        self.bar.tick();
    }

    /// Runs `write` (e.g. a log line) with the line hidden, so the two do not mix.
    pub fn suspend<R>(&self, write: impl FnOnce() -> R) -> R {
        self.bar.suspend(write)
    }

    /// Removes the line before the final report is printed.
    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}

/// `12s | small 120 (2 err) | large 12 | small p95 3.21 ms`.
pub fn progress_text(elapsed: Duration, stats: &[ClassStats]) -> String {
    let mut text = format!("{}s", elapsed.as_secs());
    for class in stats {
        text.push_str(&format!(" | {} {}", class.class, class.count));
        if class.errors > 0 {
            text.push_str(&format!(" ({} err)", class.errors));
        }
        if class.skipped > 0 {
            text.push_str(&format!(" ({} skipped)", class.skipped));
        }
    }
    if let Some(p95) = stats
        .iter()
        .find(|class| class.class == Class::Small)
        .and_then(|small| small.quantile_ms(0.95))
    {
        text.push_str(&format!(" | small p95 {p95:.2} ms"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_every_class() {
        let mut small = ClassStats::new(Class::Small);
        small.count = 3;
        small.errors = 1;
        let large = ClassStats::new(Class::Large);
        let text = progress_text(Duration::from_secs(12), &[small, large]);
        assert_eq!(text, "12s | small 3 (1 err) | large 0");
    }
}
