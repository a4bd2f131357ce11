//! Orthogonal matching pursuit with non-negative, ridge-regularised weights — the solver of
//! GradMatch (Killamsetty et al. 2021).
//!
//! Minimises `‖t − Σ_{s∈S} w_s a_s‖² + λ‖w‖²` over `w ≥ 0`, `|S| ≤ k`, greedily: add the
//! atoms most aligned with the residual, re-solve the weights on the selected set, repeat.
//! As CORDS' `OrthogonalMP_REG`, the atoms are the rows of a dense `n × d` matrix (`d`, a
//! gradient's width, small beside `n`) and the residual `r = t − Σ w_s a_s` is formed
//! explicitly each round, so a round costs `n·d` for the correlations `A r`, plus `|S|·d` per
//! new atom for its row of the selected set's Gram matrix.

use rayon::prelude::*;

/// Result of a pursuit.
#[derive(Debug, Clone, PartialEq)]
pub struct OmpResult {
    /// Selected atoms, in the order they were added.
    pub selected: Vec<usize>,
    /// Their weights (non-negative).
    pub weights: Vec<f64>,
    /// The objective `‖t − Aw‖² + λ‖w‖²` after each round (non-increasing).
    pub objective: Vec<f64>,
    /// `d`-long inner products (and axpys) evaluated, for the FLOPs report.
    pub dots: u64,
}

/// `Σ_i a_i·b_i`, in the order of `i`.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Runs OMP over the `n = atoms.len() / d` atoms stored row by row in `atoms`, against the
/// target `t` (`d` long).
///
/// - `k`: atoms to select at most;
/// - `block`: atoms added per round (1 = classic OMP; larger blocks trade fidelity for speed
///   on big sets; the objective is still non-increasing);
/// - stops early when no unselected atom has a positive correlation with the residual.
///
/// The weights are re-solved each round by coordinate descent on the dense `|S|×|S|` Gram
/// matrix of the selected atoms, warm-started from the last round's.
///
/// # Panics
///
/// If `d == 0`, or `atoms.len()` is not a multiple of `d`, or `t.len() != d`.
pub fn omp(atoms: &[f64], d: usize, t: &[f64], k: usize, lambda: f64, block: usize) -> OmpResult {
    assert!(
        d > 0 && atoms.len().is_multiple_of(d) && t.len() == d,
        "omp: {} atom entries, width {d}, target of {}",
        atoms.len(),
        t.len()
    );
    let n = atoms.len() / d;
    let row = |j: usize| &atoms[j * d..(j + 1) * d];
    let k = k.min(n);
    // c_j = ⟨a_j, t⟩, which the weights' updates need for the selected atoms
    let c: Vec<f64> = (0..n)
        .into_par_iter()
        .with_min_len(512)
        .map(|j| dot(row(j), t))
        .collect();
    let mut selected: Vec<usize> = Vec::with_capacity(k);
    let mut in_set = vec![false; n];
    let mut w: Vec<f64> = Vec::with_capacity(k);
    let mut gram: Vec<Vec<f64>> = Vec::with_capacity(k);
    let mut objective = Vec::new();
    let mut dots = n as u64;
    // the residual r = t − Σ_s w_s a_s of the current weights
    let residual = |selected: &[usize], w: &[f64]| {
        let mut r = t.to_vec();
        for (&s, &ws) in selected.iter().zip(w) {
            for (x, a) in r.iter_mut().zip(row(s)) {
                *x -= ws * a;
            }
        }
        r
    };
    let mut r = t.to_vec();
    while selected.len() < k {
        // every unselected atom's ⟨a_j, r⟩ (selected ones count as 0: never picked again)
        let corr: Vec<f64> = (0..n)
            .into_par_iter()
            .with_min_len(512)
            .map(|j| if in_set[j] { 0.0 } else { dot(row(j), &r) })
            .collect();
        dots += n as u64;
        let mut corr: Vec<(usize, f64)> = corr
            .into_iter()
            .enumerate()
            .filter(|&(_, r)| r > 0.0)
            .collect();
        if corr.is_empty() {
            break;
        }
        corr.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let old = selected.len();
        for &(j, _) in corr.iter().take(block.max(1).min(k - old)) {
            in_set[j] = true;
            selected.push(j);
            w.push(0.0);
        }
        // grow the Gram matrix by the new atoms' columns and rows (symmetric: the row entry
        // is the column entry, the same products summed in the same order)
        let new_cols: Vec<Vec<f64>> = selected[old..]
            .par_iter()
            .map(|&j| selected.iter().map(|&s| dot(row(s), row(j))).collect())
            .collect();
        dots += new_cols.iter().map(|c| c.len() as u64).sum::<u64>();
        for (s, g) in gram.iter_mut().enumerate() {
            g.extend(new_cols.iter().map(|col| col[s]));
        }
        gram.extend(new_cols);
        ridge_nonneg(&mut w, &gram, &selected, &c, lambda);
        r = residual(&selected, &w);
        dots += selected.len() as u64;
        objective.push(dot(&r, &r) + lambda * dot(&w, &w));
    }
    OmpResult {
        selected,
        weights: w,
        objective,
        dots,
    }
}

/// Non-negative ridge least squares on the selected set by cyclic coordinate descent,
/// warm-started from `w`: every sweep can only lower the objective.
fn ridge_nonneg(w: &mut [f64], gram: &[Vec<f64>], selected: &[usize], c: &[f64], lambda: f64) {
    for _ in 0..8 {
        let mut delta = 0.0f64;
        for s in 0..w.len() {
            let a_ss = gram[s][s] + lambda;
            if a_ss <= 0.0 {
                continue;
            }
            // c_s − Σ_{u≠s} w_u G_su, in the order of u, as two branch-free runs
            let mut g = c[selected[s]];
            for (&wu, &gsu) in w[..s].iter().zip(&gram[s][..s]) {
                g -= wu * gsu;
            }
            for (&wu, &gsu) in w[s + 1..].iter().zip(&gram[s][s + 1..]) {
                g -= wu * gsu;
            }
            let new = (g / a_ss).max(0.0);
            delta = delta.max((new - w[s]).abs());
            w[s] = new;
        }
        if delta < 1e-10 {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dense_omp(atoms: &[Vec<f64>], t: &[f64], k: usize, lambda: f64, block: usize) -> OmpResult {
        let flat: Vec<f64> = atoms.iter().flatten().copied().collect();
        omp(&flat, t.len(), t, k, lambda, block)
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

    #[test]
    fn finds_the_known_optimum_of_a_sparse_target() {
        // 40 atoms: the 10 unit vectors of R^10 and 30 mixtures of them; the target is
        // 3·e2 + 2·e5 + 1·e7, so with k = 3 and λ = 0 the optimum picks e2, e5, e7 with those
        // weights and objective 0, both one atom a round and in blocks
        let mut r = swast_data::SeededRng::new(8);
        let mut atoms: Vec<Vec<f64>> = (0..10)
            .map(|i| (0..10).map(|j| f64::from(u8::from(i == j))).collect())
            .collect();
        for _ in 0..30 {
            atoms.push((0..10).map(|_| r.unit_f64() * 0.5).collect());
        }
        let mut t = vec![0.0; 10];
        (t[2], t[5], t[7]) = (3.0, 2.0, 1.0);
        for block in [1, 3] {
            let res = dense_omp(&atoms, &t, 3, 0.0, block);
            let mut picked: Vec<(usize, f64)> = res
                .selected
                .iter()
                .copied()
                .zip(res.weights.iter().copied())
                .collect();
            picked.sort_by_key(|p| p.0);
            if block == 1 {
                assert_eq!(picked.iter().map(|p| p.0).collect::<Vec<_>>(), [2, 5, 7]);
                for ((_, w), want) in picked.iter().zip([3.0, 2.0, 1.0]) {
                    assert!((w - want).abs() < 1e-9, "{picked:?}");
                }
                assert!(
                    res.objective.last().unwrap().abs() < 1e-9,
                    "{:?}",
                    res.objective
                );
            }
            // the objective never grows and ends no worse than any single best atom
            for w in res.objective.windows(2) {
                assert!(w[1] <= w[0] + 1e-12);
            }
        }
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
