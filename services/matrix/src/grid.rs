//! The typed grid: every scenario of a matrix by its [`ScenarioKey`], with what each round
//! measured. The findings ask it for figures (`grid.small(key, Statistic::P95)`), never scan
//! rows.
//!
//! A [`Figure`] is one statistic of one class of one scenario, a value per round, with the
//! rounds the scenario was saturated in; [`Figure::measure`] gives its median, interval and
//! spread, and [`Figure::ratio`] the per-round ratio of two figures.

use lab_core::{Class, Statistic, Stats};
use serde::{Deserialize, Serialize};

use crate::interval::{Estimate, per_round_ratio};
use crate::scenario::ScenarioKey;
use crate::table::{MatrixRow, RowServer};

/// One round of one scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundResult {
    /// The round (1-based).
    pub round: u32,
    /// Its position in the round's order.
    pub position: Option<u64>,
    /// The small class's statistics.
    pub small: Option<Stats>,
    /// The large class's statistics.
    pub large: Option<Stats>,
    /// Whether the scenario ran to its end.
    pub completed: bool,
    /// The server-side numbers (lag, saturation), as the rows carry them.
    pub server: RowServer,
}

/// One scenario of the grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Its key.
    pub key: ScenarioKey,
    /// Its name (files).
    pub name: String,
    /// Its label (the report's "config").
    pub label: String,
    /// Seconds of load.
    pub duration_s: f64,
    /// Each round it ran in, by round.
    pub rounds: Vec<RoundResult>,
}

impl Cell {
    /// Rounds in which it was saturated.
    pub fn saturated_rounds(&self) -> usize {
        self.rounds.iter().filter(|r| r.server.saturated).count()
    }

    /// One number per round, where the round has it.
    pub fn per_round(&self, value: impl Fn(&RoundResult) -> Option<f64>) -> Figure {
        Figure {
            values: self
                .rounds
                .iter()
                .filter_map(|r| Some((r.round, value(r)?)))
                .collect(),
            saturated_rounds: self.saturated_rounds(),
        }
    }
}

/// Every scenario of a matrix, in report order ([`ScenarioKey::report_order`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grid {
    /// The scenarios.
    pub cells: Vec<Cell>,
    /// How many rounds ran (the highest round number).
    pub rounds: u32,
}

impl Grid {
    /// The grid of `rows`, in any order (they are in run order, which each round shuffles).
    pub fn from_rows(rows: &[MatrixRow]) -> Self {
        let mut grid = Grid::default();
        for row in rows {
            let key = row.key();
            let index = match grid.cells.iter().position(|cell| cell.key == key) {
                Some(index) => index,
                None => {
                    grid.cells.push(Cell {
                        key,
                        name: row.settings.scenario.clone(),
                        label: row.settings.config.clone(),
                        duration_s: row.settings.duration_s,
                        rounds: Vec::new(),
                    });
                    grid.cells.len() - 1
                }
            };
            let cell = &mut grid.cells[index];
            let round = row.server.round;
            grid.rounds = grid.rounds.max(round);
            let slot = match cell.rounds.iter().position(|r| r.round == round) {
                Some(slot) => slot,
                None => {
                    cell.rounds.push(RoundResult {
                        round,
                        position: row.server.position,
                        small: None,
                        large: None,
                        completed: row.settings.completed,
                        server: row.server.clone(),
                    });
                    cell.rounds.sort_by_key(|r| r.round);
                    cell.rounds
                        .iter()
                        .position(|r| r.round == round)
                        .unwrap_or(0)
                }
            };
            let result = &mut cell.rounds[slot];
            result.completed &= row.settings.completed;
            match row.settings.class {
                Class::Small => result.small = Some(row.stats.clone()),
                Class::Large => result.large = Some(row.stats.clone()),
                Class::Extra(_) => {}
            }
        }
        grid.cells.sort_by_key(|cell| cell.key.report_order());
        grid
    }

    /// The scenario with this key.
    pub fn cell(&self, key: &ScenarioKey) -> Option<&Cell> {
        self.cells.iter().find(|cell| cell.key == *key)
    }

    /// A statistic of the small class of `key`, per round.
    pub fn small(&self, key: &ScenarioKey, statistic: Statistic) -> Option<Figure> {
        self.figure(key, |r| r.small.as_ref()?.get(statistic))
    }

    /// A statistic of the large class of `key`, per round.
    pub fn large(&self, key: &ScenarioKey, statistic: Statistic) -> Option<Figure> {
        self.figure(key, |r| r.large.as_ref()?.get(statistic))
    }

    /// Any per-round number of `key`; `None` when the scenario did not run or no round has
    /// the number.
    pub fn figure(
        &self,
        key: &ScenarioKey,
        value: impl Fn(&RoundResult) -> Option<f64>,
    ) -> Option<Figure> {
        let figure = self.cell(key)?.per_round(value);
        (!figure.values.is_empty()).then_some(figure)
    }

    /// The keys matching `filter`, in grid order.
    pub fn keys(&self, filter: impl Fn(&ScenarioKey) -> bool) -> Vec<ScenarioKey> {
        self.cells
            .iter()
            .map(|cell| cell.key)
            .filter(|key| filter(key))
            .collect()
    }
}

/// One number of one scenario, per round.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// `(round, value)`.
    pub values: Vec<(u32, f64)>,
    /// Rounds in which the scenario was saturated.
    pub saturated_rounds: usize,
}

impl Figure {
    /// Its median over the rounds, interval and spread, with the saturation mark.
    pub fn measure(&self) -> Option<Measure> {
        let values: Vec<f64> = self.values.iter().map(|v| v.1).collect();
        Some(Measure {
            estimate: Estimate::of(&values)?,
            saturated_rounds: self.saturated_rounds,
        })
    }

    /// `self / other` per round (both measured in the same round), as a figure of its own,
    /// saturated where either side was.
    pub fn ratio(&self, other: &Figure) -> Figure {
        Figure {
            values: per_round_ratio(&self.values, &other.values),
            saturated_rounds: self.saturated_rounds.max(other.saturated_rounds),
        }
    }
}

/// A figure as the report shows it: its estimate over the rounds, and in how many rounds the
/// scenario behind it (either scenario, for a ratio) was saturated.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Measure {
    /// Median, interval, spread.
    #[serde(flatten)]
    pub estimate: Estimate,
    /// Rounds at or past saturation (0 = never).
    pub saturated_rounds: usize,
}

impl Measure {
    /// Whether any round of it was saturated: a headline never leans on such a figure.
    pub fn saturated(&self) -> bool {
        self.saturated_rounds > 0
    }

    /// The median.
    pub fn median(&self) -> f64 {
        self.estimate.median
    }
}

/// The measure of a figure, when there is one.
pub fn measure(figure: Option<Figure>) -> Option<Measure> {
    figure?.measure()
}
