//! Selectors on the penultimate features, per class: k-center greedy (Sener & Savarese,
//! ICLR 2018) and herding (Welling, ICML 2009).

use crate::common::{per_class, select_with};
use crate::greedy::{herding, k_center};
use swast_core::coreset::{Coreset, SelectContext, SelectError, Selector};
use swast_core::probe::Probe;
use swast_data::SeededRng;

/// k-center greedy on features, per class.
#[derive(Debug, Default)]
pub struct KCenter;

impl Selector for KCenter {
    fn name(&self) -> &'static str {
        "kcenter"
    }

    fn select(
        &mut self,
        ctx: &SelectContext<'_>,
        rng: &mut SeededRng,
    ) -> Result<Coreset, SelectError> {
        select_with(self.name(), ctx, rng, |p, budget, _| {
            Ok(on_features(p, budget, k_center))
        })
    }
}

/// Herding on features, per class.
#[derive(Debug, Default)]
pub struct Herding;

impl Selector for Herding {
    fn name(&self) -> &'static str {
        "herding"
    }

    fn select(
        &mut self,
        ctx: &SelectContext<'_>,
        rng: &mut SeededRng,
    ) -> Result<Coreset, SelectError> {
        select_with(self.name(), ctx, rng, |p, budget, _| {
            Ok(on_features(p, budget, herding))
        })
    }
}

fn on_features(p: &Probe, budget: usize, f: fn(&[f32], usize, usize) -> Vec<usize>) -> Coreset {
    let mut idx = Vec::new();
    let mut flops = 0.0;
    for (rows, q) in per_class(p, budget) {
        let pts: Vec<f32> = rows.iter().flat_map(|&r| p.feature(r).to_vec()).collect();
        idx.extend(f(&pts, p.feature_dim, q).into_iter().map(|s| rows[s]));
        flops += 3.0 * (rows.len() * q * p.feature_dim) as f64;
    }
    let mut c = Coreset::unweighted(idx);
    c.flops = flops;
    c
}
