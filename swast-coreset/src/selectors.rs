//! The selectors, configured from the `[coreset]` table.

use crate::greedy::{facility_location, herding, k_center};
use crate::omp::omp;
use crate::quota::{class_quotas, sample, top_k};
use crate::scores::{ForgettingStats, Uncertainty, el2n, grand, median_distance, uncertainty};
use swast_core::config::{CoresetConfig, GradmatchGradient, SelectorName};
use swast_core::coreset::{Coreset, SelectContext, SelectError, Selector};
use swast_core::probe::Probe;
use swast_data::SeededRng;

/// Selector options beyond the name (from the `[coreset]` table).
#[derive(Debug, Clone, PartialEq)]
pub struct SelectorSettings {
    /// Which selector.
    pub name: SelectorName,
    /// Score-based selectors pick per class, with budgets proportional to class sizes.
    pub per_class: bool,
    /// Share of the highest-scoring samples skipped (score-based selectors, CCS).
    pub offset: f64,
    /// Share of training after which EL2N keeps the lowest scores instead.
    pub el2n_switch: f64,
    /// Uncertainty measure.
    pub uncertainty: Uncertainty,
    /// GradMatch ridge λ.
    pub lambda: f64,
    /// GradMatch-PB mini-batch size.
    pub pb_batch: usize,
    /// GradMatch's per-class gradient: the class's own row (CORDS) or the full gradient.
    pub gradient: GradmatchGradient,
}

impl SelectorSettings {
    /// Settings from the config table.
    pub fn from_config(c: &CoresetConfig) -> Self {
        Self {
            name: c.selector,
            per_class: c.per_class,
            offset: c.offset,
            el2n_switch: c.el2n_switch,
            uncertainty: match c.uncertainty.as_str() {
                "least-confidence" => Uncertainty::LeastConfidence,
                "margin" => Uncertainty::Margin,
                _ => Uncertainty::Entropy,
            },
            lambda: c.lambda,
            pb_batch: c.pb_batch.max(1),
            gradient: c.gradmatch_gradient,
        }
    }
}

/// The selector a config asks for.
pub fn build(c: &CoresetConfig) -> Box<dyn Selector> {
    Box::new(ConfiguredSelector {
        s: SelectorSettings::from_config(c),
        forgetting: ForgettingStats::default(),
    })
}

/// One selector type for every name: the per-name logic is in `select`.
#[derive(Debug)]
pub struct ConfiguredSelector {
    s: SelectorSettings,
    forgetting: ForgettingStats,
}

impl ConfiguredSelector {
    /// A selector with these settings.
    pub fn new(s: SelectorSettings) -> Self {
        Self {
            s,
            forgetting: ForgettingStats::default(),
        }
    }
}

fn name_of(n: SelectorName) -> &'static str {
    match n {
        SelectorName::El2n => "el2n",
        SelectorName::Grand => "grand",
        SelectorName::Forgetting => "forgetting",
        SelectorName::Gradmatch => "gradmatch",
        SelectorName::GradmatchPb => "gradmatch-pb",
        SelectorName::Craig => "craig",
        SelectorName::Glister => "glister",
        SelectorName::Moderate => "moderate",
        SelectorName::Ccs => "ccs",
        SelectorName::Kcenter => "kcenter",
        SelectorName::Herding => "herding",
        SelectorName::Uncertainty => "uncertainty",
        SelectorName::Random => "random",
        SelectorName::Uniform => "uniform",
    }
}

/// Rows of each class and their quotas.
fn per_class(p: &Probe, budget: usize) -> Vec<(Vec<usize>, usize)> {
    let rows: Vec<Vec<usize>> = (0..p.classes).map(|c| p.rows_of_class(c)).collect();
    let sizes: Vec<usize> = rows.iter().map(Vec::len).collect();
    rows.into_iter().zip(class_quotas(&sizes, budget)).collect()
}

/// Fills up to `budget` with random rows not yet chosen (weight 1), when a greedy method
/// stopped early.
fn fill_random(
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

impl ConfiguredSelector {
    fn by_score(&self, p: &Probe, score: &[f32], budget: usize) -> Vec<usize> {
        if self.s.per_class {
            per_class(p, budget)
                .into_iter()
                .flat_map(|(rows, q)| {
                    let off = (rows.len() as f64 * self.s.offset).round() as usize;
                    top_k(&rows, score, q, off)
                })
                .collect()
        } else {
            let all: Vec<usize> = (0..p.len()).collect();
            let off = (p.len() as f64 * self.s.offset).round() as usize;
            top_k(&all, score, budget, off)
        }
    }

    /// GradMatch on the class's own row of the last-layer gradient, as CORDS'
    /// `PerClassPerGradient`: for a sample of class `c`, `g = e_c·[h; 1]` (the bias entry and
    /// the weight row of class `c`), matched against the class's summed row.
    fn gradmatch_class_row(&self, p: &Probe, budget: usize, rng: &mut SeededRng) -> Coreset {
        let (mut idx, mut w, mut dots) = (Vec::new(), Vec::new(), 0u64);
        let f = p.feature_dim;
        for (c, (rows, q)) in per_class(p, budget).into_iter().enumerate() {
            if q == 0 {
                continue;
            }
            let e: Vec<f64> = rows.iter().map(|&r| f64::from(p.error(r)[c])).collect();
            let h: Vec<&[f32]> = rows.iter().map(|&r| p.feature(r)).collect();
            // ⟨g_i, g_j⟩ = e_i·e_j·(⟨h_i, h_j⟩ + 1)
            let dot = |i: usize, j: usize| -> f64 {
                let hh: f32 = h[i].iter().zip(h[j]).map(|(a, b)| a * b).sum();
                e[i] * e[j] * (f64::from(hh) + 1.0)
            };
            // target t = Σ_i e_i·[h_i; 1]
            let mut t = vec![0f64; f + 1];
            for (ei, hi) in e.iter().zip(&h) {
                for (x, hv) in t.iter_mut().zip(hi.iter()) {
                    *x += ei * f64::from(*hv);
                }
                t[f] += ei;
            }
            let c_vec: Vec<f64> = e
                .iter()
                .zip(&h)
                .map(|(ej, hj)| {
                    let s: f64 = t
                        .iter()
                        .zip(hj.iter())
                        .map(|(a, b)| a * f64::from(*b))
                        .sum::<f64>()
                        + t[f];
                    ej * s
                })
                .collect();
            let t2: f64 = t.iter().map(|x| x * x).sum();
            let block = q.div_ceil(64);
            let r = omp(rows.len(), q, dot, &c_vec, t2, self.s.lambda, block);
            dots += r.dots;
            let mut chosen: Vec<usize> = r.selected.iter().map(|&s| rows[s]).collect();
            let mut weights: Vec<f32> = r.weights.iter().map(|&x| x as f32).collect();
            fill_random(&mut chosen, &mut weights, &rows, q, rng);
            idx.extend(chosen);
            w.extend(weights);
        }
        Coreset {
            indices: idx,
            weights: w,
            flops: 2.0 * dots as f64 * (f + 1) as f64,
        }
        .sorted()
    }

    /// GradMatch per class on the full last-layer gradient `e ⊗ [h; 1]` (K·(F+1) entries).
    fn gradmatch(&self, p: &Probe, budget: usize, rng: &mut SeededRng) -> Coreset {
        if self.s.gradient == GradmatchGradient::ClassRow {
            return self.gradmatch_class_row(p, budget, rng);
        }
        let (mut idx, mut w, mut dots) = (Vec::new(), Vec::new(), 0u64);
        let d = p.classes + p.feature_dim;
        for (rows, q) in per_class(p, budget) {
            if q == 0 {
                continue;
            }
            // ⟨g_i, g_j⟩ = ⟨e_i, e_j⟩·(⟨h_i, h_j⟩ + 1); target = Σ_i g_i of the class
            let e: Vec<Vec<f32>> = rows.iter().map(|&r| p.error(r)).collect();
            let h: Vec<&[f32]> = rows.iter().map(|&r| p.feature(r)).collect();
            let dot = |i: usize, j: usize| -> f64 {
                let ee: f32 = e[i].iter().zip(&e[j]).map(|(a, b)| a * b).sum();
                let hh: f32 = h[i].iter().zip(h[j]).map(|(a, b)| a * b).sum();
                f64::from(ee * (hh + 1.0))
            };
            // target as a K×(F+1) matrix T = Σ e_i [h_i; 1]ᵀ, so ⟨g_j, t⟩ = e_jᵀ T [h_j; 1]
            let (k, f) = (p.classes, p.feature_dim);
            let mut t = vec![0f64; k * (f + 1)];
            for (ei, hi) in e.iter().zip(&h) {
                for c in 0..k {
                    let row = &mut t[c * (f + 1)..(c + 1) * (f + 1)];
                    for (x, hv) in row.iter_mut().zip(hi.iter()) {
                        *x += f64::from(ei[c] * hv);
                    }
                    row[f] += f64::from(ei[c]);
                }
            }
            let c_vec: Vec<f64> = e
                .iter()
                .zip(&h)
                .map(|(ej, hj)| {
                    (0..k)
                        .map(|c| {
                            let row = &t[c * (f + 1)..(c + 1) * (f + 1)];
                            let s: f64 = row
                                .iter()
                                .zip(hj.iter())
                                .map(|(a, b)| a * f64::from(*b))
                                .sum::<f64>()
                                + row[f];
                            f64::from(ej[c]) * s
                        })
                        .sum()
                })
                .collect();
            let t2: f64 = t.iter().map(|x| x * x).sum();
            let block = q.div_ceil(64);
            let r = omp(rows.len(), q, dot, &c_vec, t2, self.s.lambda, block);
            dots += r.dots;
            let mut chosen: Vec<usize> = r.selected.iter().map(|&s| rows[s]).collect();
            let mut weights: Vec<f32> = r.weights.iter().map(|&x| x as f32).collect();
            fill_random(&mut chosen, &mut weights, &rows, q, rng);
            idx.extend(chosen);
            w.extend(weights);
        }
        Coreset {
            indices: idx,
            weights: w,
            flops: 2.0 * dots as f64 * d as f64,
        }
        .sorted()
    }

    fn gradmatch_pb(&self, p: &Probe, budget: usize, rng: &mut SeededRng) -> Coreset {
        // random mini-batches over the whole set; atoms are batch gradient sums
        let b = self.s.pb_batch;
        let mut order: Vec<usize> = (0..p.len()).collect();
        rng.shuffle(&mut order);
        let batches: Vec<Vec<usize>> = order.chunks(b).map(<[usize]>::to_vec).collect();
        let dim = p.classes * (p.feature_dim + 1);
        let atoms: Vec<Vec<f64>> = batches
            .iter()
            .map(|bt| {
                let mut g = vec![0f64; dim];
                for &r in bt {
                    for (x, v) in g.iter_mut().zip(p.last_layer_grad(r)) {
                        *x += f64::from(v);
                    }
                }
                g
            })
            .collect();
        let mut t = vec![0f64; dim];
        for a in &atoms {
            for (x, v) in t.iter_mut().zip(a) {
                *x += v;
            }
        }
        let d = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        let c: Vec<f64> = atoms.iter().map(|a| d(a, &t)).collect();
        let k = budget.div_ceil(b).min(batches.len());
        let r = omp(
            atoms.len(),
            k,
            |i, j| d(&atoms[i], &atoms[j]),
            &c,
            d(&t, &t),
            self.s.lambda,
            k.div_ceil(64),
        );
        let (mut idx, mut w) = (Vec::new(), Vec::new());
        for (&s, &ws) in r.selected.iter().zip(&r.weights) {
            for &row in &batches[s] {
                idx.push(row);
                w.push(ws as f32);
            }
        }
        let all: Vec<usize> = (0..p.len()).collect();
        fill_random(&mut idx, &mut w, &all, budget, rng);
        // whole batches can overshoot the budget: drop the surplus from the last batch
        idx.truncate(budget);
        w.truncate(budget);
        Coreset {
            indices: idx,
            weights: w,
            flops: 2.0 * r.dots as f64 * dim as f64,
        }
        .sorted()
    }

    fn craig(&self, p: &Probe, budget: usize, rng: &mut SeededRng) -> Coreset {
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

    fn on_features(
        &self,
        p: &Probe,
        budget: usize,
        f: fn(&[f32], usize, usize) -> Vec<usize>,
    ) -> Coreset {
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

    fn moderate(&self, p: &Probe, budget: usize) -> Vec<usize> {
        // the reference code ranks all distances globally and keeps the band around the median
        let d = median_distance(p);
        let mut order: Vec<usize> = (0..p.len()).collect();
        order.sort_by(|&a, &b| d[a].total_cmp(&d[b]).then(a.cmp(&b)));
        let n = p.len();
        let start = (n - budget.min(n)) / 2;
        order[start..start + budget.min(n)].to_vec()
    }

    fn ccs(&self, p: &Probe, budget: usize, rng: &mut SeededRng) -> Vec<usize> {
        // Coverage-centric selection: drop the hardest `offset` share, split the EL2N range
        // into 50 equal strata, then give the budget to the strata from the smallest up,
        // each taking at most an even share of what is left, sampled at random inside.
        let s = el2n(p);
        let mut order: Vec<usize> = (0..p.len()).collect();
        order.sort_by(|&a, &b| s[b].total_cmp(&s[a]).then(a.cmp(&b)));
        let cut =
            ((p.len() as f64 * self.s.offset).round() as usize).min(p.len().saturating_sub(budget));
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

    fn glister(&self, p: &Probe, val: &Probe, budget: usize) -> Coreset {
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
}

impl Selector for ConfiguredSelector {
    fn name(&self) -> &'static str {
        name_of(self.s.name)
    }

    fn observes(&self) -> bool {
        self.s.name == SelectorName::Forgetting
    }

    fn observe(&mut self, indices: &[usize], correct: &[bool]) {
        self.forgetting.observe(indices, correct);
    }

    fn needs_validation(&self) -> bool {
        self.s.name == SelectorName::Glister
    }

    fn select(
        &mut self,
        ctx: &SelectContext<'_>,
        rng: &mut SeededRng,
    ) -> Result<Coreset, SelectError> {
        let p = ctx.probe;
        let budget = ctx.budget.min(p.len());
        if budget == 0 {
            return Err(SelectError {
                selector: self.name(),
                message: "the budget is 0 samples: raise coreset.fraction".into(),
            });
        }
        let c = match self.s.name {
            SelectorName::El2n => {
                let mut s = el2n(p);
                if ctx.epoch as f64 >= self.s.el2n_switch * ctx.total_epochs as f64 {
                    s.iter_mut().for_each(|v| *v = -*v);
                }
                Coreset::unweighted(self.by_score(p, &s, budget))
            }
            SelectorName::Grand => Coreset::unweighted(self.by_score(p, &grand(p), budget)),
            SelectorName::Uncertainty => {
                Coreset::unweighted(self.by_score(p, &uncertainty(p, self.s.uncertainty), budget))
            }
            SelectorName::Forgetting => {
                let s = self.forgetting.scores(p.len());
                Coreset::unweighted(self.by_score(p, &s, budget))
            }
            SelectorName::Moderate => Coreset::unweighted(self.moderate(p, budget)),
            SelectorName::Ccs => Coreset::unweighted(self.ccs(p, budget, rng)),
            SelectorName::Gradmatch => self.gradmatch(p, budget, rng),
            SelectorName::GradmatchPb => self.gradmatch_pb(p, budget, rng),
            SelectorName::Craig => self.craig(p, budget, rng),
            SelectorName::Kcenter => self.on_features(p, budget, k_center),
            SelectorName::Herding => self.on_features(p, budget, herding),
            SelectorName::Glister => {
                let val = ctx.val.ok_or(SelectError {
                    selector: "glister",
                    message: "needs a validation split: set data.val_fraction (e.g. 0.1)".into(),
                })?;
                self.glister(p, val, budget)
            }
            SelectorName::Random => {
                let all: Vec<usize> = (0..p.len()).collect();
                Coreset::unweighted(sample(&all, budget, rng))
            }
            SelectorName::Uniform => Coreset::unweighted(
                per_class(p, budget)
                    .into_iter()
                    .flat_map(|(rows, q)| sample(&rows, q, rng))
                    .collect(),
            ),
        };
        // rows are dataset indices: the probe covers the training set in order
        let indices = c.indices.iter().map(|&r| p.indices[r]).collect();
        Ok(Coreset { indices, ..c }.sorted())
    }

    fn state_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.forgetting).expect("serializes")
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), SelectError> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.forgetting = serde_json::from_slice(bytes).map_err(|e| SelectError {
            selector: self.name(),
            message: format!("bad saved state: {e}"),
        })?;
        Ok(())
    }
}
