//! CRAIG (Mirzasoleiman et al., ICML 2020): per class, stochastic-greedy facility location
//! on the distances between last-layer (logit) gradients, each pick weighted by the samples
//! it stands for.

use crate::common::{per_class, select_with};
use crate::greedy::facility_location;
use swast_core::coreset::{Coreset, SelectContext, SelectError, Selector};
use swast_core::probe::Probe;
use swast_data::SeededRng;

/// See the module documentation (no settings of its own).
#[derive(Debug, Default)]
pub struct Craig;

impl Selector for Craig {
    fn name(&self) -> &'static str {
        "craig"
    }

    fn select(
        &mut self,
        ctx: &SelectContext<'_>,
        rng: &mut SeededRng,
    ) -> Result<Coreset, SelectError> {
        select_with(self.name(), ctx, rng, |p, budget, rng| {
            Ok(craig(p, budget, rng))
        })
    }
}

fn craig(p: &Probe, budget: usize, rng: &mut SeededRng) -> Coreset {
    let (mut idx, mut w, mut evals) = (Vec::new(), Vec::new(), 0u64);
    for (rows, q) in per_class(p, budget) {
        if q == 0 {
            continue;
        }
        // CRAIG's proxy: distances between last-layer (logit) gradients p − y
        let pts: Vec<f32> = rows.iter().flat_map(|&r| p.error(r)).collect();
        let r = facility_location(&pts, p.classes, q, 0.01, rng);
        evals += r.evals;
        idx.extend(r.selected.iter().map(|&s| rows[s]));
        w.extend(r.weights);
    }
    Coreset {
        indices: idx,
        weights: w,
        flops: evals as f64 * p.classes as f64 * 3.0,
    }
    .sorted()
}
