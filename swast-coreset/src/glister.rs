//! GLISTER-ONLINE (Killamsetty et al., AAAI 2021): one-step Taylor greedy on the validation
//! loss, on the last layer.

use crate::common::select_with;
use swast_core::coreset::{Coreset, SelectContext, SelectError, Selector};
use swast_core::probe::Probe;
use swast_data::SeededRng;

/// See the module documentation (no settings of its own; needs a validation split).
#[derive(Debug, Default)]
pub struct Glister;

impl Selector for Glister {
    fn name(&self) -> &'static str {
        "glister"
    }

    fn needs_validation(&self) -> bool {
        true
    }

    fn select(
        &mut self,
        ctx: &SelectContext<'_>,
        rng: &mut SeededRng,
    ) -> Result<Coreset, SelectError> {
        let val = ctx.val.ok_or(SelectError {
            selector: "glister",
            message: "needs a validation split: set data.val_fraction (e.g. 0.1)".into(),
        })?;
        select_with(self.name(), ctx, rng, |p, budget, _| {
            Ok(glister(p, val, budget))
        })
    }
}

fn glister(p: &Probe, val: &Probe, budget: usize) -> Coreset {
    // One-step Taylor greedy (GLISTER-ONLINE) on the last layer, in rounds: score every
    // candidate by ⟨g_i, g_val⟩ with g_val the validation loss gradient at the weights one
    // SGD step on the already selected samples would reach (to first order:
    // g_val(θ − η Σ_S g) ≈ g_val − η H Σ_S g, approximated by recomputing the validation
    // error after moving the logits by −η Σ_S g); add the best `block`, repeat.
    let (k, f) = (p.classes, p.feature_dim);
    let dim = k * (f + 1);
    let eta = 0.01f32;
    let mut chosen: Vec<usize> = Vec::with_capacity(budget);
    let mut used = vec![false; p.len()];
    let mut step = vec![0f32; dim]; // Σ_S g
    let block = budget.div_ceil(20).max(1);
    let mut flops = 0.0;
    while chosen.len() < budget.min(p.len()) {
        // validation gradient with logits shifted by −η·(Σ_S g) applied to [h; 1]
        let mut gval = vec![0f32; dim];
        for r in 0..val.len() {
            let h = val.feature(r);
            let mut z: Vec<f32> = val.prob(r).iter().map(|q| q.max(1e-12).ln()).collect();
            for (c, zc) in z.iter_mut().enumerate() {
                let row = &step[c * (f + 1)..(c + 1) * (f + 1)];
                *zc -= eta * (row.iter().zip(h).map(|(a, b)| a * b).sum::<f32>() + row[f]);
            }
            let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let ex: Vec<f32> = z.iter().map(|v| (v - m).exp()).collect();
            let sum: f32 = ex.iter().sum();
            for c in 0..k {
                let e = ex[c] / sum
                    - if usize::from(val.labels[r]) == c {
                        1.0
                    } else {
                        0.0
                    };
                let row = &mut gval[c * (f + 1)..(c + 1) * (f + 1)];
                for (x, hv) in row.iter_mut().zip(h) {
                    *x += e * hv;
                }
                row[f] += e;
            }
        }
        // gain of a candidate: decrease of the validation loss, ⟨g_i, g_val⟩
        let mut gains: Vec<(usize, f32)> = (0..p.len())
            .filter(|&i| !used[i])
            .map(|i| {
                let e = p.error(i);
                let h = p.feature(i);
                let g: f32 = (0..k)
                    .map(|c| {
                        let row = &gval[c * (f + 1)..(c + 1) * (f + 1)];
                        e[c] * (row.iter().zip(h).map(|(a, b)| a * b).sum::<f32>() + row[f])
                    })
                    .sum();
                (i, g)
            })
            .collect();
        flops += 2.0 * (val.len() + gains.len()) as f64 * dim as f64;
        gains.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        for &(i, _) in gains.iter().take(block.min(budget - chosen.len())) {
            used[i] = true;
            chosen.push(i);
            for (x, v) in step.iter_mut().zip(p.last_layer_grad(i)) {
                *x += v;
            }
        }
    }
    let mut c = Coreset::unweighted(chosen);
    c.flops = flops;
    c
}
