//! Errors, skipped requests, interrupted scenarios: every round of every scenario where a
//! request failed or was skipped, or which was cut short, with what failed (kind and status,
//! from its requests.csv when it could be read, else matrix.csv's `errors_by_kind`).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::requests::RequestRecord;
use crate::table::MatrixRow;

/// A row with errors, skipped requests, or cut short.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trouble {
    /// The scenario.
    pub label: String,
    /// The round.
    pub round: u32,
    /// The class.
    pub class: String,
    /// Failed requests.
    pub errors: u64,
    /// What failed.
    pub what_failed: String,
    /// Requests the open schedule skipped.
    pub skipped: u64,
    /// False when the scenario was interrupted.
    pub completed: bool,
}

/// What failed, per class: `class → "http_4xx 408 ×11, timeout ×2"`.
pub fn error_breakdown(records: &[RequestRecord]) -> BTreeMap<String, String> {
    let mut counts: BTreeMap<&str, BTreeMap<(String, Option<u16>), u64>> = BTreeMap::new();
    for record in records {
        let error = record.error.as_ref();
        if error.is_empty() || error == "skipped" {
            continue;
        }
        *counts
            .entry(&record.class)
            .or_default()
            .entry((error.to_string(), record.status))
            .or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(class, kinds)| {
            let text = kinds
                .into_iter()
                .map(|((kind, status), count)| match status {
                    Some(status) => format!("{kind} {status} ×{count}"),
                    None => format!("{kind} ×{count}"),
                })
                .collect::<Vec<_>>()
                .join(", ");
            (class.to_string(), text)
        })
        .collect()
}

/// The troubled rows, with the breakdowns by (scenario, round, class) read from requests.csv.
pub fn troubles(
    rows: &[MatrixRow],
    breakdowns: &BTreeMap<(String, u32, String), String>,
) -> Vec<Trouble> {
    rows.iter()
        .filter(|r| r.stats.errors > 0 || r.stats.skipped > 0 || !r.settings.completed)
        .map(|r| {
            let class = r.settings.class.name().to_string();
            Trouble {
                label: r.settings.config.clone(),
                round: r.server.round,
                what_failed: breakdowns
                    .get(&(r.settings.scenario.clone(), r.server.round, class.clone()))
                    .cloned()
                    .unwrap_or_else(|| r.server.errors_by_kind.clone()),
                class,
                errors: r.stats.errors,
                skipped: r.stats.skipped,
                completed: r.settings.completed,
            }
        })
        .collect()
}
