//! The paper's transparent analysis with polynomials (paper §2; digest §2).
//!
//! 1. **Noisy samples make pruning harder** (Fig. 1a/1b): fit a degree-10 polynomial to
//!    Runge's function `f(x) = 1/(1 + 25x²)` on 10 points (5 of them noisy) and on the 5
//!    clean points, with numpy `polyfit` semantics (Vandermonde with the highest power first,
//!    columns scaled to unit L2 norm, minimum-norm least squares by SVD with
//!    `rcond = len(x)·ε`, coefficients unscaled); prune the 3 smallest-magnitude coefficients;
//!    report the MSE over all 10 points before and after.
//! 2. **Redundant weights make selection harder** (Fig. 1c): `𝓘(D, D̂) = sup_θ |L − L̂| / L`
//!    for polynomial degrees 1–20, computed exactly as the largest |generalized eigenvalue| of
//!    `(M̂ − M, M)` with `M = AᵀA/n`, `A = [V(x) | y]` (digest §2.2, "our formulation"), for
//!    50 noisy points `D` and 20 clean points `D̂` at uniform random `x`, over seeds.

use nalgebra::{DMatrix, DVector, SymmetricEigen};
use swast_data::SeededRng;

/// Runge's function.
pub fn runge(x: f64) -> f64 {
    1.0 / (1.0 + 25.0 * x * x)
}

/// `numpy.linspace(a, b, n)`.
pub fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| a + (b - a) * i as f64 / (n - 1).max(1) as f64)
        .collect()
}

/// Vandermonde matrix, highest power first (`numpy.vander(x, deg + 1)`).
fn vander(x: &[f64], deg: usize) -> DMatrix<f64> {
    DMatrix::from_fn(x.len(), deg + 1, |i, j| x[i].powi((deg - j) as i32))
}

/// `numpy.polyfit(x, y, deg)`: coefficients, highest power first.
pub fn polyfit(x: &[f64], y: &[f64], deg: usize) -> Vec<f64> {
    let a = vander(x, deg);
    let scale: Vec<f64> = (0..=deg)
        .map(|j| a.column(j).norm())
        .map(|s| if s == 0.0 { 1.0 } else { s })
        .collect();
    let mut lhs = a.clone();
    for (j, s) in scale.iter().enumerate() {
        lhs.column_mut(j).scale_mut(1.0 / s);
    }
    let rhs = DVector::from_column_slice(y);
    let rcond = x.len() as f64 * f64::EPSILON;
    let svd = lhs.svd(true, true);
    let smax = svd.singular_values.max();
    let c = svd
        .solve(&rhs, rcond * smax)
        .expect("SVD with U and Vᵀ computed");
    c.iter().zip(&scale).map(|(c, s)| c / s).collect()
}

/// Evaluates a polynomial (highest power first) at `x`.
pub fn polyval(c: &[f64], x: f64) -> f64 {
    c.iter().fold(0.0, |acc, &k| acc * x + k)
}

/// Zeros the `k` smallest-magnitude coefficients.
pub fn prune_smallest(c: &[f64], k: usize) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..c.len()).collect();
    idx.sort_by(|&a, &b| c[a].abs().total_cmp(&c[b].abs()).then(a.cmp(&b)));
    let mut out = c.to_vec();
    for &i in idx.iter().take(k) {
        out[i] = 0.0;
    }
    out
}

fn mse(c: &[f64], x: &[f64], y: &[f64]) -> f64 {
    x.iter()
        .zip(y)
        .map(|(&x, &y)| (polyval(c, x) - y).powi(2))
        .sum::<f64>()
        / x.len() as f64
}

/// Results of experiment 1.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PruneLoss {
    /// MSE over all 10 points of the fit on all 10, before and after pruning.
    pub all_points: (f64, f64),
    /// The same for the fit on the 5 clean points.
    pub clean_points: (f64, f64),
    /// The pruned 10-point polynomial at x = −1, 0, 1.
    pub pruned_all_at: [f64; 3],
}

/// Experiment 1 with the noisy values read off the paper's figure (digest §2.1).
pub fn pruning_experiment() -> PruneLoss {
    let x = linspace(-1.0, 1.0, 10);
    let mut y: Vec<f64> = x.iter().map(|&v| runge(v)).collect();
    for (i, v) in [0, 2, 4, 6, 8]
        .into_iter()
        .zip([0.85, -0.25, 0.50, -0.35, 0.50])
    {
        y[i] = v;
    }
    let clean: Vec<usize> = vec![1, 3, 5, 7, 9];
    let xc: Vec<f64> = clean.iter().map(|&i| x[i]).collect();
    let yc: Vec<f64> = clean.iter().map(|&i| y[i]).collect();
    let all = polyfit(&x, &y, 10);
    let cl = polyfit(&xc, &yc, 10);
    let (pa, pc) = (prune_smallest(&all, 3), prune_smallest(&cl, 3));
    PruneLoss {
        all_points: (mse(&all, &x, &y), mse(&pa, &x, &y)),
        clean_points: (mse(&cl, &x, &y), mse(&pc, &x, &y)),
        pruned_all_at: [polyval(&pa, -1.0), polyval(&pa, 0.0), polyval(&pa, 1.0)],
    }
}

fn gram(x: &[f64], y: &[f64], deg: usize) -> DMatrix<f64> {
    let mut a = vander(x, deg).insert_column(deg + 1, 0.0);
    for (i, &v) in y.iter().enumerate() {
        a[(i, deg + 1)] = v;
    }
    a.transpose() * &a / x.len() as f64
}

/// `sup_v |vᵀ(M̂ − M)v| / vᵀMv`: the largest |eigenvalue| of `L⁻¹(M̂ − M)L⁻ᵀ` with
/// `M = LLᵀ` (after a diagonal rescaling that leaves the eigenvalues unchanged).
pub fn selection_difficulty(m: &DMatrix<f64>, mh: &DMatrix<f64>) -> f64 {
    let n = m.nrows();
    let d: Vec<f64> = (0..n).map(|i| 1.0 / m[(i, i)].max(1e-300).sqrt()).collect();
    let s = DMatrix::from_fn(n, n, |i, j| m[(i, j)] * d[i] * d[j]);
    let sh = DMatrix::from_fn(n, n, |i, j| mh[(i, j)] * d[i] * d[j]);
    let mut ridge = 0.0;
    let chol = loop {
        let reg = &s + DMatrix::identity(n, n) * ridge;
        if let Some(c) = reg.cholesky() {
            break c;
        }
        ridge = if ridge == 0.0 { 1e-14 } else { ridge * 10.0 };
    };
    let l = chol.l();
    let li = l
        .clone()
        .try_inverse()
        .expect("Cholesky factor is invertible");
    let c = &li * (sh - s) * li.transpose();
    let c = (&c + c.transpose()) / 2.0;
    SymmetricEigen::new(c)
        .eigenvalues
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs()))
}

fn gaussian(rng: &mut SeededRng) -> f64 {
    let u1 = rng.unit_f64().max(1e-300);
    let u2 = rng.unit_f64();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Experiment 2: mean and standard deviation of `𝓘` for degrees `1..=max_deg` over `seeds`.
pub fn difficulty_curve(max_deg: usize, seeds: u64) -> Vec<(usize, f64, f64)> {
    (1..=max_deg)
        .map(|k| {
            let vals: Vec<f64> = (0..seeds)
                .map(|s| {
                    let mut r = SeededRng::stream(s, "runge-difficulty");
                    let xn: Vec<f64> = (0..50).map(|_| 2.0 * r.unit_f64() - 1.0).collect();
                    let yn: Vec<f64> = xn
                        .iter()
                        .map(|&x| runge(x) + 0.1 * gaussian(&mut r))
                        .collect();
                    let xc: Vec<f64> = (0..20).map(|_| 2.0 * r.unit_f64() - 1.0).collect();
                    let yc: Vec<f64> = xc.iter().map(|&x| runge(x)).collect();
                    selection_difficulty(&gram(&xn, &yn, k), &gram(&xc, &yc, k))
                })
                .collect();
            let m = vals.iter().sum::<f64>() / vals.len() as f64;
            let sd = (vals.iter().map(|v| (v - m).powi(2)).sum::<f64>()
                / (vals.len().max(2) - 1) as f64)
                .sqrt();
            (k, m, sd)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polyfit_matches_numpy_on_an_exact_fit() {
        // y = 2x² − 3x + 1 sampled at 4 points; numpy.polyfit(x, y, 2) → [2, −3, 1]
        let x = [-1.0, 0.0, 0.5, 2.0];
        let y: Vec<f64> = x.iter().map(|&v| 2.0 * v * v - 3.0 * v + 1.0).collect();
        let c = polyfit(&x, &y, 2);
        for (a, b) in c.iter().zip([2.0, -3.0, 1.0]) {
            assert!((a - b).abs() < 1e-10, "{c:?}");
        }
    }

    #[test]
    fn runge_pruning_reproduces_the_papers_pattern() {
        // digest §2.1 (numpy recipe): 10-point fit 0.00 → 31.21, 5-point fit 0.47 → 0.60,
        // pruned 10-point polynomial 12.9 / 0 / 8.7 at x = −1 / 0 / 1 (paper: 0.00 → 27.31,
        // 0.45 → 0.58)
        let r = pruning_experiment();
        assert!(r.all_points.0 < 1e-6, "{r:?}");
        assert!((r.all_points.1 - 31.21).abs() < 0.05, "{r:?}");
        assert!((r.clean_points.0 - 0.47).abs() < 0.01, "{r:?}");
        assert!((r.clean_points.1 - 0.60).abs() < 0.01, "{r:?}");
        assert!((r.pruned_all_at[0] - 12.9).abs() < 0.1 && r.pruned_all_at[1].abs() < 1e-9);
        assert!((r.pruned_all_at[2] - 8.7).abs() < 0.1, "{r:?}");
    }

    #[test]
    fn difficulty_is_zero_for_identical_sets_and_grows_with_degree() {
        let x = linspace(-1.0, 1.0, 30);
        let y: Vec<f64> = x.iter().map(|&v| runge(v)).collect();
        let m = gram(&x, &y, 4);
        assert!(selection_difficulty(&m, &m) < 1e-9);
        let c = difficulty_curve(12, 3);
        assert!(c[11].1 > 10.0 * c[0].1, "{c:?}");
    }
}
