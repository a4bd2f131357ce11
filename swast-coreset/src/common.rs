//! What the selectors share: per-class budgets, filling a greedy selection up to its
//! budget, ranking by a score, and the wrapper every `select` runs in.

use crate::quota::{class_quotas, sample, top_k};
use swast_core::coreset::{Coreset, SelectContext, SelectError};
use swast_core::probe::Probe;
use swast_data::SeededRng;

/// Rows of each class and their quotas.
pub(crate) fn per_class(p: &Probe, budget: usize) -> Vec<(Vec<usize>, usize)> {
    let rows: Vec<Vec<usize>> = (0..p.classes).map(|c| p.rows_of_class(c)).collect();
    let sizes: Vec<usize> = rows.iter().map(Vec::len).collect();
    rows.into_iter().zip(class_quotas(&sizes, budget)).collect()
}

/// Fills up to `budget` with random rows not yet chosen (weight 1), when a greedy method
/// stopped early.
pub(crate) fn fill_random(
    chosen: &mut Vec<usize>,
    weights: &mut Vec<f32>,
    pool: &[usize],
    budget: usize,
    rng: &mut SeededRng,
) {
    if chosen.len() >= budget {
        return;
    }
    let taken: std::collections::HashSet<usize> = chosen.iter().copied().collect();
    let rest: Vec<usize> = pool
        .iter()
        .copied()
        .filter(|r| !taken.contains(r))
        .collect();
    for r in sample(&rest, budget - chosen.len(), rng) {
        chosen.push(r);
        weights.push(1.0);
    }
}

/// How the score-based selectors rank (`coreset.per_class`, `coreset.offset`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreSettings {
    /// Pick per class, with budgets proportional to class sizes.
    pub per_class: bool,
    /// Share of the highest-scoring samples skipped.
    pub offset: f64,
}

impl ScoreSettings {
    /// From swast-coreset's `[coreset]` settings.
    pub fn from_settings(c: &crate::settings::CoresetSettings) -> Self {
        Self {
            per_class: c.per_class,
            offset: c.offset,
        }
    }

    /// The `budget` highest-scoring rows of `p` (higher = keep), after skipping the top
    /// `offset` share, per class or over all rows.
    pub fn top(&self, p: &Probe, score: &[f32], budget: usize) -> Vec<usize> {
        if self.per_class {
            per_class(p, budget)
                .into_iter()
                .flat_map(|(rows, q)| {
                    let off = (rows.len() as f64 * self.offset).round() as usize;
                    top_k(&rows, score, q, off)
                })
                .collect()
        } else {
            let all: Vec<usize> = (0..p.len()).collect();
            let off = (p.len() as f64 * self.offset).round() as usize;
            top_k(&all, score, budget, off)
        }
    }
}

/// Runs a selector's `pick` on `ctx` at a budget of at most the probe's size (a budget of 0
/// is an error naming the fix), then maps probe rows to dataset indices, ascending.
pub(crate) fn select_with(
    name: &'static str,
    ctx: &SelectContext<'_>,
    rng: &mut SeededRng,
    pick: impl FnOnce(&Probe, usize, &mut SeededRng) -> Result<Coreset, SelectError>,
) -> Result<Coreset, SelectError> {
    let p = ctx.probe;
    let budget = ctx.budget.min(p.len());
    if budget == 0 {
        return Err(SelectError {
            selector: name,
            message: "the budget is 0 samples: raise coreset.fraction".into(),
        });
    }
    let c = pick(p, budget, rng)?;
    // rows are dataset indices: the probe covers the training set in order
    let indices = c.indices.iter().map(|&r| p.indices[r]).collect();
    Ok(Coreset { indices, ..c }.sorted())
}
