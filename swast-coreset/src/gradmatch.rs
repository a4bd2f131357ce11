//! GradMatch (Killamsetty et al., ICML 2021): orthogonal matching pursuit of the summed
//! last-layer gradient, per class, with non-negative λ-ridge weights; by default on the
//! class's own row of the gradient as CORDS runs it per class. GradMatch-PB matches
//! mini-batch gradient sums over the whole set.

use crate::common::{fill_random, per_class, select_with};
use crate::omp::{Atoms, DenseAtoms, OmpResult, ScaledAtoms, omp, omp_atoms};
use crate::settings::{CoresetSettings, GradmatchGradient};
use rayon::prelude::*;
use swast_core::coreset::{Coreset, SelectContext, SelectError, Selector};
use swast_core::probe::Probe;
use swast_data::SeededRng;

/// GradMatch's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradMatchSettings {
    /// Ridge λ on the weights (`coreset.lambda`).
    pub lambda: f64,
    /// Which gradient is matched per class (`coreset.gradmatch_gradient`).
    pub gradient: GradmatchGradient,
    /// OMP's early stop (`coreset.omp_tol`; 0: fill the budget by OMP).
    pub tol: f64,
}

/// Per-class GradMatch.
#[derive(Debug)]
pub struct GradMatch(pub GradMatchSettings);

impl GradMatch {
    /// From swast-coreset's `[coreset]` settings.
    pub fn from_settings(c: &CoresetSettings) -> Self {
        Self(GradMatchSettings {
            lambda: c.lambda,
            gradient: c.gradmatch_gradient,
            tol: c.omp_tol,
        })
    }
}

impl Selector for GradMatch {
    fn name(&self) -> &'static str {
        "gradmatch"
    }

    fn select(
        &mut self,
        ctx: &SelectContext<'_>,
        rng: &mut SeededRng,
    ) -> Result<Coreset, SelectError> {
        let s = self.0;
        select_with(self.name(), ctx, rng, |p, budget, rng| {
            Ok(match s.gradient {
                GradmatchGradient::ClassRow => class_row(p, budget, s.lambda, s.tol, rng),
                GradmatchGradient::Full => full(p, budget, s.lambda, s.tol, rng),
            })
        })
    }
}

/// GradMatch-PB's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradMatchPbSettings {
    /// Ridge λ on the weights (`coreset.lambda`).
    pub lambda: f64,
    /// Mini-batch size (`coreset.pb_batch`).
    pub batch: usize,
    /// OMP's early stop (`coreset.omp_tol`; 0: fill the budget by OMP).
    pub tol: f64,
}

/// GradMatch over mini-batch gradients.
#[derive(Debug)]
pub struct GradMatchPb(pub GradMatchPbSettings);

impl GradMatchPb {
    /// From swast-coreset's `[coreset]` settings.
    pub fn from_settings(c: &CoresetSettings) -> Self {
        Self(GradMatchPbSettings {
            lambda: c.lambda,
            batch: c.pb_batch.max(1),
            tol: c.omp_tol,
        })
    }
}

impl Selector for GradMatchPb {
    fn name(&self) -> &'static str {
        "gradmatch-pb"
    }

    fn select(
        &mut self,
        ctx: &SelectContext<'_>,
        rng: &mut SeededRng,
    ) -> Result<Coreset, SelectError> {
        let s = self.0;
        select_with(self.name(), ctx, rng, |p, budget, rng| {
            Ok(per_batch(p, budget, s, rng))
        })
    }
}

/// GradMatch on the class's own row of the last-layer gradient, as CORDS'
/// `PerClassPerGradient`: for a sample of class `c`, `g = e_c·[h; 1]` (the bias entry and
/// the weight row of class `c`), matched against the class's summed row.
fn class_row(p: &Probe, budget: usize, lambda: f64, tol: f64, rng: &mut SeededRng) -> Coreset {
    let d = p.feature_dim + 1;
    pursue(per_class(p, budget), d, (lambda, tol), rng, |c, rows| {
        // the row's label is `c`: its error entry is `p_c − 1`, as `Probe::error`; the
        // atom `e·[h; 1]` is read from the probe's features, never copied
        ScaledAtoms {
            scale: rows
                .iter()
                .map(|&r| f64::from(p.prob(r)[c] - 1.0))
                .collect(),
            rows: rows.iter().map(|&r| p.feature(r)).collect(),
            bias: true,
        }
    })
}

/// GradMatch per class on the full last-layer gradient `e ⊗ [h; 1]` (K·(F+1) entries).
fn full(p: &Probe, budget: usize, lambda: f64, tol: f64, rng: &mut SeededRng) -> Coreset {
    let d = p.classes * (p.feature_dim + 1);
    pursue(per_class(p, budget), d, (lambda, tol), rng, |_, rows| {
        let mut data = Vec::with_capacity(rows.len() * d);
        for &r in rows {
            data.extend(p.last_layer_grad(r).into_iter().map(f64::from));
        }
        Owned { data, d }
    })
}

/// GradMatch per class on gradients you computed (any layer, any model): row `i` of
/// `gradients` (`n × d`, row-major) is sample `i`'s, `labels[i]` its class in
/// `0..classes`. Each class's quota (proportional to its size, as the score-based
/// selectors' budgets) is picked by OMP matching the class's summed gradient, with
/// non-negative λ-ridge weights; `tol > 0` stops a class's pursuit once `‖r‖ < tol·‖t‖`
/// and fills the rest of its quota at random from `rng`. Returns the rows (ascending) and
/// their weights.
///
/// # Panics
///
/// If `d == 0`, `gradients.len() != labels.len() · d` or a label is `≥ classes`.
pub fn gradmatch_on_gradients(
    gradients: &[f32],
    d: usize,
    labels: &[u16],
    classes: usize,
    budget: usize,
    (lambda, tol): (f64, f64),
    rng: &mut SeededRng,
) -> Coreset {
    assert!(
        d > 0 && gradients.len() == labels.len() * d,
        "gradmatch_on_gradients: {} entries for {} rows of width {d}",
        gradients.len(),
        labels.len()
    );
    let rows: Vec<Vec<usize>> = (0..classes)
        .map(|c| {
            (0..labels.len())
                .filter(|&r| usize::from(labels[r]) == c)
                .collect()
        })
        .collect();
    assert_eq!(
        rows.iter().map(Vec::len).sum::<usize>(),
        labels.len(),
        "gradmatch_on_gradients: a label is outside 0..{classes}"
    );
    let sizes: Vec<usize> = rows.iter().map(Vec::len).collect();
    let classes = rows
        .into_iter()
        .zip(crate::quota::class_quotas(&sizes, budget))
        .collect();
    // each row read in place: `1·g` is `g`, exactly
    pursue(classes, d, (lambda, tol), rng, |_, rows| ScaledAtoms {
        scale: vec![1.0; rows.len()],
        rows: rows
            .iter()
            .map(|&r| &gradients[r * d..(r + 1) * d])
            .collect(),
        bias: false,
    })
}

/// One OMP per class (each class's `rows` and quota; its atoms made by
/// `atoms(class, rows)`, `d` wide; the target the atoms' sum), run in parallel, taken in
/// class order.
fn pursue<A: Atoms>(
    classes: Vec<(Vec<usize>, usize)>,
    d: usize,
    (lambda, tol): (f64, f64),
    rng: &mut SeededRng,
    atoms: impl Fn(usize, &[usize]) -> A + Sync,
) -> Coreset {
    let pursuits = classes.into_par_iter().enumerate().map(|(c, (rows, q))| {
        if q == 0 {
            return None;
        }
        // atom i = the sample's gradient, target t = Σ_i atom_i
        let a = atoms(c, &rows);
        debug_assert_eq!(a.d(), d);
        let t = a.sum();
        let r = omp_atoms(&a, &t, q, lambda, q.div_ceil(64), tol);
        Some((rows, q, r))
    });
    let (indices, weights, dots) = take_pursuits(pursuits.collect(), rng);
    Coreset {
        indices,
        weights,
        flops: 2.0 * dots as f64 * d as f64,
    }
    .sorted()
}

/// Atoms copied into one `n × d` matrix of their own.
struct Owned {
    data: Vec<f64>,
    d: usize,
}

impl Atoms for Owned {
    fn n(&self) -> usize {
        self.view().n()
    }
    fn d(&self) -> usize {
        self.d
    }
    fn dot(&self, j: usize, v: &[f64]) -> f64 {
        self.view().dot(j, v)
    }
    fn row(&self, j: usize, out: &mut [f64]) {
        self.view().row(j, out);
    }
    fn sub_scaled(&self, j: usize, alpha: f64, r: &mut [f64]) {
        self.view().sub_scaled(j, alpha, r);
    }
}

impl Owned {
    fn view(&self) -> DenseAtoms<'_> {
        DenseAtoms {
            data: &self.data,
            d: self.d,
        }
    }
}

/// `Σ_i row_i` of the rows of width `d` in `m`, in row order.
fn column_sums(m: &[f64], d: usize) -> Vec<f64> {
    let mut t = vec![0f64; d];
    for row in m.chunks_exact(d) {
        for (x, v) in t.iter_mut().zip(row) {
            *x += v;
        }
    }
    t
}

/// The classes' pursuits (each class's `rows`, its quota `q` and OMP's result over
/// them; `None` for a class with no quota), run in parallel, taken in class order: each
/// filled up at random when OMP stopped early, so the random draws come in the same
/// order on any thread count. Returns the dataset rows, their weights and the inner
/// products the pursuits took.
fn take_pursuits(
    pursuits: Vec<Option<(Vec<usize>, usize, OmpResult)>>,
    rng: &mut SeededRng,
) -> (Vec<usize>, Vec<f32>, u64) {
    let (mut idx, mut w, mut dots) = (Vec::new(), Vec::new(), 0u64);
    for (rows, q, r) in pursuits.into_iter().flatten() {
        let mut chosen: Vec<usize> = r.selected.iter().map(|&s| rows[s]).collect();
        let mut weights: Vec<f32> = r.weights.iter().map(|&x| x as f32).collect();
        fill_random(&mut chosen, &mut weights, &rows, q, rng);
        idx.extend(chosen);
        w.extend(weights);
        dots += r.dots;
    }
    (idx, w, dots)
}

fn per_batch(p: &Probe, budget: usize, s: GradMatchPbSettings, rng: &mut SeededRng) -> Coreset {
    let b = s.batch;
    // random mini-batches over the whole set; atoms are batch gradient sums
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
    let atoms: Vec<f64> = atoms.into_iter().flatten().collect();
    let t = column_sums(&atoms, dim);
    let k = budget.div_ceil(b).min(batches.len());
    let r = omp(&atoms, dim, &t, k, s.lambda, k.div_ceil(64), s.tol);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Class 0's six samples have the same features and probabilities, so its summed
    /// gradient row is exactly six times any one of them: the optimum for a one-sample
    /// quota is one pick of weight `6·‖a‖² / (‖a‖² + λ)` (6 with λ = 0), on either gradient.
    #[test]
    fn identical_samples_are_matched_by_one_weighted_pick() {
        let (n0, n1) = (6usize, 4usize);
        let mut p = Probe {
            indices: (0..n0 + n1).collect(),
            labels: (0..n0 + n1).map(|i| u16::from(i >= n0)).collect(),
            classes: 2,
            feature_dim: 3,
            probs: Vec::new(),
            features: Vec::new(),
            loss: vec![0.0; n0 + n1],
            correct: vec![true; n0 + n1],
            flops: 0.0,
        };
        for i in 0..n0 + n1 {
            if i < n0 {
                p.probs.extend([0.75f32, 0.25]);
                p.features.extend([1.0f32, 2.0, 0.5]);
            } else {
                let x = i as f32;
                p.probs
                    .extend([0.5 - 0.1 * (x - 6.0), 0.5 + 0.1 * (x - 6.0)]);
                p.features.extend([x, 1.0, 3.0 - x * 0.25]);
            }
        }
        for (gradient, norm2) in [
            // e = p − onehot: class row e_0 = −0.25, atom (−0.25, −0.5, −0.125, −0.25)
            (
                GradmatchGradient::ClassRow,
                0.25f64 * 0.25 * (1.0 + 4.0 + 0.25 + 1.0),
            ),
            // full: e = (−0.25, 0.25), both rows
            (
                GradmatchGradient::Full,
                2.0 * 0.25 * 0.25 * (1.0 + 4.0 + 0.25 + 1.0),
            ),
        ] {
            for lambda in [0.0, 0.5] {
                let mut g = GradMatch(GradMatchSettings {
                    lambda,
                    gradient,
                    tol: 0.0,
                });
                let ctx = SelectContext {
                    probe: &p,
                    val: None,
                    budget: 2,
                    epoch: 1,
                    total_epochs: 2,
                };
                let c = g.select(&ctx, &mut SeededRng::new(3)).unwrap();
                assert_eq!(c.indices.len(), 2);
                // the first of the identical atoms wins the tie
                let at = c
                    .indices
                    .iter()
                    .position(|&i| i == 0)
                    .expect("sample 0 picked");
                assert!(
                    c.indices.iter().all(|&i| i == 0 || i >= n0),
                    "{:?}",
                    c.indices
                );
                let want = n0 as f64 * norm2 / (norm2 + lambda);
                assert!(
                    (f64::from(c.weights[at]) - want).abs() < 1e-5,
                    "{gradient:?} λ {lambda}: weight {} against {want}",
                    c.weights[at]
                );
            }
        }
    }

    /// With `coreset.omp_tol`, OMP stops once the residual is small enough and the rest of
    /// each class's quota is drawn at random with weight 1 (CORDS' fill-up); without it,
    /// OMP picks (and weighs) more of the quota itself.
    #[test]
    fn omp_tol_stops_the_pursuit_and_fills_the_quota_at_random() {
        let n = 200usize;
        let mut r = SeededRng::new(5);
        let mut p = Probe {
            indices: (0..n).collect(),
            labels: (0..n).map(|i| (i % 2) as u16).collect(),
            classes: 2,
            feature_dim: 4,
            probs: Vec::new(),
            features: Vec::new(),
            loss: vec![0.0; n],
            correct: vec![true; n],
            flops: 0.0,
        };
        for i in 0..n {
            let q = 0.3 + 0.6 * r.unit_f64() as f32;
            p.probs.extend(if i % 2 == 0 {
                [q, 1.0 - q]
            } else {
                [1.0 - q, q]
            });
            p.features.extend((0..4).map(|_| 0.5 + r.unit_f64() as f32));
        }
        let fitted = |tol: f64| {
            let mut g = GradMatch(GradMatchSettings {
                lambda: 0.0,
                gradient: GradmatchGradient::ClassRow,
                tol,
            });
            let ctx = SelectContext {
                probe: &p,
                val: None,
                budget: 40,
                epoch: 1,
                total_epochs: 2,
            };
            let c = g.select(&ctx, &mut SeededRng::new(3)).unwrap();
            assert_eq!(c.indices.len(), 40, "tol {tol}: the budget is filled");
            c.weights.iter().filter(|&&w| w != 1.0).count()
        };
        // all atoms lie in one orthant, so the first pick of each class already leaves a
        // residual below 0.9 of the target: one fitted weight per class, the rest at random
        assert_eq!(fitted(0.9), 2);
        assert!(fitted(0.0) > 2 * 4, "{}", fitted(0.0));
    }
}
