//! Orthogonal matching pursuit with non-negative, ridge-regularised weights — the solver of
//! GradMatch (Killamsetty et al. 2021).
//!
//! Minimises `‖t − Σ_{s∈S} w_s a_s‖² + λ‖w‖²` over `w ≥ 0`, `|S| ≤ k`, greedily: add the
//! atoms most aligned with the residual, re-solve the weights on the selected set, repeat.
//! Atoms are only touched through inner products (a Gram oracle), so gradients never need
//! to be materialized.

/// Result of a pursuit.
#[derive(Debug, Clone, PartialEq)]
pub struct OmpResult {
    /// Selected atoms, in the order they were added.
    pub selected: Vec<usize>,
    /// Their weights (non-negative).
    pub weights: Vec<f64>,
    /// The objective `‖t − Aw‖² + λ‖w‖²` after each round (non-increasing).
    pub objective: Vec<f64>,
    /// Inner products evaluated (for the FLOPs report).
    pub dots: u64,
}

/// Runs OMP over `n` atoms.
///
/// - `dot(i, j)`: `⟨a_i, a_j⟩`;
/// - `c[i]`: `⟨a_i, t⟩`; `t2`: `‖t‖²`;
/// - `block`: atoms added per round (1 = classic OMP; larger blocks trade fidelity for speed
///   on big sets; the objective is still non-increasing);
/// - stops early when no unselected atom has a positive correlation with the residual.
pub fn omp(
    n: usize,
    k: usize,
    dot: impl Fn(usize, usize) -> f64,
    c: &[f64],
    t2: f64,
    lambda: f64,
    block: usize,
) -> OmpResult {
    let k = k.min(n);
    let mut selected: Vec<usize> = Vec::with_capacity(k);
    let mut in_set = vec![false; n];
    let mut w: Vec<f64> = Vec::with_capacity(k);
    // cols[s][j] = ⟨a_j, a_{selected[s]}⟩ for every atom j
    let mut cols: Vec<Vec<f64>> = Vec::with_capacity(k);
    let mut objective = Vec::new();
    let mut dots = 0u64;
    let objective_of = |w: &[f64], cols: &[Vec<f64>], sel: &[usize]| -> f64 {
        // ‖t‖² − 2Σ w_s c_s + Σ_s Σ_u w_s w_u G_su + λ‖w‖²
        let mut v = t2;
        for (s, &ws) in w.iter().enumerate() {
            v -= 2.0 * ws * c[sel[s]];
            for (u, &wu) in w.iter().enumerate() {
                v += ws * wu * cols[u][sel[s]];
            }
            v += lambda * ws * ws;
        }
        v
    };
    while selected.len() < k {
        // correlation of every atom with the residual: c_j − Σ_s w_s G_{j s}
        let mut corr: Vec<(usize, f64)> = (0..n)
            .filter(|&j| !in_set[j])
            .map(|j| {
                let r: f64 = c[j]
                    - w.iter()
                        .zip(&cols)
                        .map(|(ws, col)| ws * col[j])
                        .sum::<f64>();
                (j, r)
            })
            .filter(|(_, r)| *r > 0.0)
            .collect();
        if corr.is_empty() {
            break;
        }
        corr.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        for &(j, _) in corr.iter().take(block.max(1).min(k - selected.len())) {
            in_set[j] = true;
            selected.push(j);
            w.push(0.0);
            cols.push((0..n).map(|i| dot(i, j)).collect());
            dots += n as u64;
        }
        // non-negative ridge least squares on the selected set by cyclic coordinate descent,
        // warm-started: every sweep can only lower the objective
        for _ in 0..8 {
            let mut delta = 0.0f64;
            for s in 0..w.len() {
                let a_ss = cols[s][selected[s]] + lambda;
                if a_ss <= 0.0 {
                    continue;
                }
                let mut g = c[selected[s]];
                for (u, &wu) in w.iter().enumerate() {
                    if u != s {
                        g -= wu * cols[u][selected[s]];
                    }
                }
                let new = (g / a_ss).max(0.0);
                delta = delta.max((new - w[s]).abs());
                w[s] = new;
            }
            if delta < 1e-10 {
                break;
            }
        }
        objective.push(objective_of(&w, &cols, &selected));
    }
    OmpResult {
        selected,
        weights: w,
        objective,
        dots,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dense_omp(atoms: &[Vec<f64>], t: &[f64], k: usize, lambda: f64, block: usize) -> OmpResult {
        let d = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        let c: Vec<f64> = atoms.iter().map(|a| d(a, t)).collect();
        omp(
            atoms.len(),
            k,
            |i, j| d(&atoms[i], &atoms[j]),
            &c,
            d(t, t),
            lambda,
            block,
        )
    }

    #[test]
    fn two_class_case_solvable_by_hand() {
        // atoms a0 = (1,0), a1 = (0,1), a2 = (1,1); target t = (2,2), λ = 0.
        // Round 1: correlations ⟨a,t⟩ = 2, 2, 4 → pick a2; w = ⟨a2,t⟩/‖a2‖² = 4/2 = 2;
        // residual t − 2·a2 = 0, objective 0 → no atom correlates positively: stop.
        let atoms = vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![1.0, 1.0]];
        let r = dense_omp(&atoms, &[2.0, 2.0], 2, 0.0, 1);
        assert_eq!(r.selected, [2]);
        assert!((r.weights[0] - 2.0).abs() < 1e-12);
        assert!(r.objective[0].abs() < 1e-12);
        // with λ = 0.5 the ridge shrinks the weight: w = 4 / (2 + 0.5) = 1.6
        let r = dense_omp(&atoms, &[2.0, 2.0], 1, 0.5, 1);
        assert!((r.weights[0] - 1.6).abs() < 1e-12);
    }

    proptest! {
        #[test]
        fn residual_never_grows(
            atoms in proptest::collection::vec(proptest::collection::vec(-1.0f64..1.0, 6), 4..30),
            t in proptest::collection::vec(-2.0f64..2.0, 6),
            k in 1usize..12, lambda in 0.0f64..1.0, block in 1usize..4
        ) {
            let r = dense_omp(&atoms, &t, k, lambda, block);
            for w in r.objective.windows(2) {
                prop_assert!(w[1] <= w[0] + 1e-9, "objective grew: {:?}", r.objective);
            }
            prop_assert!(r.weights.iter().all(|w| *w >= 0.0));
            let mut s = r.selected.clone();
            s.sort_unstable();
            s.dedup();
            prop_assert_eq!(s.len(), r.selected.len());
        }
    }
}
