//! Random baselines: uniform over the training set, or uniform within each class at budgets
//! proportional to class sizes.

use crate::common::{per_class, select_with};
use crate::quota::sample;
use swast_core::coreset::{Coreset, SelectContext, SelectError, Selector};
use swast_data::SeededRng;

/// Uniform over the training set.
#[derive(Debug, Default)]
pub struct Random;

impl Selector for Random {
    fn name(&self) -> &'static str {
        "random"
    }

    fn select(
        &mut self,
        ctx: &SelectContext<'_>,
        rng: &mut SeededRng,
    ) -> Result<Coreset, SelectError> {
        select_with(self.name(), ctx, rng, |p, budget, rng| {
            let all: Vec<usize> = (0..p.len()).collect();
            Ok(Coreset::unweighted(sample(&all, budget, rng)))
        })
    }
}

/// Uniform within each class.
#[derive(Debug, Default)]
pub struct Uniform;

impl Selector for Uniform {
    fn name(&self) -> &'static str {
        "uniform"
    }

    fn select(
        &mut self,
        ctx: &SelectContext<'_>,
        rng: &mut SeededRng,
    ) -> Result<Coreset, SelectError> {
        select_with(self.name(), ctx, rng, |p, budget, rng| {
            Ok(Coreset::unweighted(
                per_class(p, budget)
                    .into_iter()
                    .flat_map(|(rows, q)| sample(&rows, q, rng))
                    .collect(),
            ))
        })
    }
}
