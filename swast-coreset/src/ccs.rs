//! Coverage-centric coreset selection (Zheng et al., ICLR 2023): stratified coverage over the
//! EL2N range, the hardest `offset` share dropped.

use crate::common::select_with;
use crate::quota::sample;
use crate::scores::el2n;
use swast_core::coreset::{Coreset, SelectContext, SelectError, Selector};
use swast_core::probe::Probe;
use swast_data::SeededRng;

/// CCS's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CcsSettings {
    /// Share of the hardest samples dropped (`coreset.offset`).
    pub offset: f64,
}

/// See the module documentation.
#[derive(Debug)]
pub struct Ccs(pub CcsSettings);

impl Selector for Ccs {
    fn name(&self) -> &'static str {
        "ccs"
    }

    fn select(
        &mut self,
        ctx: &SelectContext<'_>,
        rng: &mut SeededRng,
    ) -> Result<Coreset, SelectError> {
        let offset = self.0.offset;
        select_with(self.name(), ctx, rng, |p, budget, rng| {
            Ok(Coreset::unweighted(ccs(p, budget, offset, rng)))
        })
    }
}

fn ccs(p: &Probe, budget: usize, offset: f64, rng: &mut SeededRng) -> Vec<usize> {
    // Coverage-centric selection: drop the hardest `offset` share, split the EL2N range
    // into 50 equal strata, then give the budget to the strata from the smallest up,
    // each taking at most an even share of what is left, sampled at random inside.
    let s = el2n(p);
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| s[b].total_cmp(&s[a]).then(a.cmp(&b)));
    let cut = ((p.len() as f64 * offset).round() as usize).min(p.len().saturating_sub(budget));
    let pool = &order[cut..];
    let (lo, hi) = pool
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &r| {
            (l.min(s[r]), h.max(s[r]))
        });
    let m = 50usize;
    let mut strata: Vec<Vec<usize>> = vec![Vec::new(); m];
    for &r in pool {
        let b = if hi > lo {
            (((s[r] - lo) / (hi - lo)) * m as f32) as usize
        } else {
            0
        };
        strata[b.min(m - 1)].push(r);
    }
    strata.retain(|v| !v.is_empty());
    strata.sort_by_key(Vec::len);
    let mut left = budget.min(pool.len());
    let mut out = Vec::with_capacity(left);
    let count = strata.len();
    for (i, st) in strata.iter().enumerate() {
        let share = left.div_ceil(count - i);
        let take = share.min(st.len());
        out.extend(sample(st, take, rng));
        left -= take;
    }
    out
}
