//! GradMatch (Killamsetty et al., ICML 2021): orthogonal matching pursuit of the summed
//! last-layer gradient, per class, with non-negative λ-ridge weights; by default on the
//! class's own row of the gradient as CORDS runs it per class. GradMatch-PB matches
//! mini-batch gradient sums over the whole set.

use crate::common::{fill_random, per_class, select_with};
use crate::omp::{OmpResult, omp};
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
                GradmatchGradient::ClassRow => class_row(p, budget, s.lambda, rng),
                GradmatchGradient::Full => full(p, budget, s.lambda, rng),
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
            Ok(per_batch(p, budget, s.lambda, s.batch, rng))
        })
    }
}

/// Row vectors stored dimension-major, so that the inner products of every row with one
/// vector run as axpys over the rows (vectorized), each summed over the dimensions in order
/// — the additions of a plain `Σ_k a_k·b_k`, so the values are those of a row-by-row loop.
struct FeaturesT {
    n: usize,
    dim: usize,
    t: Vec<f32>,
}

impl FeaturesT {
    fn new(rows: &[&[f32]]) -> Self {
        let (n, dim) = (rows.len(), rows.first().map_or(0, |r| r.len()));
        let mut t = vec![0f32; n * dim];
        for (i, r) in rows.iter().enumerate() {
            for (k, v) in r.iter().enumerate() {
                t[k * n + i] = *v;
            }
        }
        Self { n, dim, t }
    }

    /// `⟨row_i, v⟩` for every row `i`.
    fn dots(&self, v: &[f32]) -> Vec<f32> {
        let mut out = vec![-0.0f32; self.n];
        for (k, &vk) in v.iter().enumerate().take(self.dim) {
            let col = &self.t[k * self.n..(k + 1) * self.n];
            for (o, x) in out.iter_mut().zip(col) {
                *o += x * vk;
            }
        }
        out
    }
}

/// GradMatch on the class's own row of the last-layer gradient, as CORDS'
/// `PerClassPerGradient`: for a sample of class `c`, `g = e_c·[h; 1]` (the bias entry and
/// the weight row of class `c`), matched against the class's summed row.
fn class_row(p: &Probe, budget: usize, lambda: f64, rng: &mut SeededRng) -> Coreset {
    let f = p.feature_dim;
    let pursuits = per_class(p, budget)
        .into_par_iter()
        .enumerate()
        .map(|(c, (rows, q))| {
            if q == 0 {
                return None;
            }
            let e: Vec<f64> = rows.iter().map(|&r| f64::from(p.error(r)[c])).collect();
            let h: Vec<&[f32]> = rows.iter().map(|&r| p.feature(r)).collect();
            // ⟨g_i, g_j⟩ = e_i·e_j·(⟨h_i, h_j⟩ + 1), a column at a time
            let ht = FeaturesT::new(&h);
            let column = |j: usize| -> Vec<f64> {
                let hh = ht.dots(h[j]);
                (0..rows.len())
                    .map(|i| e[i] * e[j] * (f64::from(hh[i]) + 1.0))
                    .collect()
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
            let r = omp(rows.len(), q, column, &c_vec, t2, lambda, q.div_ceil(64));
            Some((rows, q, r))
        });
    let (indices, weights, dots) = take_pursuits(pursuits.collect(), rng);
    Coreset {
        indices,
        weights,
        flops: 2.0 * dots as f64 * (f + 1) as f64,
    }
    .sorted()
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

/// GradMatch per class on the full last-layer gradient `e ⊗ [h; 1]` (K·(F+1) entries).
fn full(p: &Probe, budget: usize, lambda: f64, rng: &mut SeededRng) -> Coreset {
    let d = p.classes + p.feature_dim;
    let pursuits = per_class(p, budget).into_par_iter().map(|(rows, q)| {
        if q == 0 {
            return None;
        }
        // ⟨g_i, g_j⟩ = ⟨e_i, e_j⟩·(⟨h_i, h_j⟩ + 1); target = Σ_i g_i of the class
        let e: Vec<Vec<f32>> = rows.iter().map(|&r| p.error(r)).collect();
        let h: Vec<&[f32]> = rows.iter().map(|&r| p.feature(r)).collect();
        let (et, ht) = (
            FeaturesT::new(&e.iter().map(Vec::as_slice).collect::<Vec<_>>()),
            FeaturesT::new(&h),
        );
        let column = |j: usize| -> Vec<f64> {
            let (ee, hh) = (et.dots(&e[j]), ht.dots(h[j]));
            ee.iter()
                .zip(&hh)
                .map(|(ee, hh)| f64::from(ee * (hh + 1.0)))
                .collect()
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
        let r = omp(rows.len(), q, column, &c_vec, t2, lambda, q.div_ceil(64));
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

fn per_batch(p: &Probe, budget: usize, lambda: f64, b: usize, rng: &mut SeededRng) -> Coreset {
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
        crate::omp::columns_of(atoms.len(), |i, j| d(&atoms[i], &atoms[j])),
        &c,
        d(&t, &t),
        lambda,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_products_equal_row_by_row_sums_to_the_bit() {
        // the dimension-major products add the same terms in the same order as a plain loop
        let mut r = SeededRng::new(11);
        let rows: Vec<Vec<f32>> = (0..37)
            .map(|_| (0..84).map(|_| r.unit_f64() as f32 * 4.0 - 2.0).collect())
            .collect();
        let refs: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();
        let t = FeaturesT::new(&refs);
        for v in &rows {
            let got = t.dots(v);
            for (i, row) in rows.iter().enumerate() {
                let plain: f32 = row.iter().zip(v).map(|(a, b)| a * b).sum();
                assert_eq!(got[i].to_bits(), plain.to_bits(), "row {i}");
            }
        }
    }
}
