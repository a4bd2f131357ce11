//! Moderate coresets (Xia et al., ICLR 2023): the band of samples around the median distance
//! to their class's median feature.

use crate::common::select_with;
use crate::scores::median_distance;
use swast_core::coreset::{Coreset, SelectContext, SelectError, Selector};
use swast_core::probe::Probe;
use swast_data::SeededRng;

/// See the module documentation (no settings of its own).
#[derive(Debug, Default)]
pub struct Moderate;

impl Selector for Moderate {
    fn name(&self) -> &'static str {
        "moderate"
    }

    fn select(
        &mut self,
        ctx: &SelectContext<'_>,
        rng: &mut SeededRng,
    ) -> Result<Coreset, SelectError> {
        select_with(self.name(), ctx, rng, |p, budget, _| {
            Ok(Coreset::unweighted(moderate(p, budget)))
        })
    }
}

fn moderate(p: &Probe, budget: usize) -> Vec<usize> {
    // the reference code ranks all distances globally and keeps the band around the median
    let d = median_distance(p);
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| d[a].total_cmp(&d[b]).then(a.cmp(&b)));
    let n = p.len();
    let start = (n - budget.min(n)) / 2;
    order[start..start + budget.min(n)].to_vec()
}
