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

/// `Σ_i a_i·b_i` over the shorter length, in a fixed order: eight running sums, each over
/// every eighth product (which compile to vector lanes, not one serial chain of
/// additions), then added pairwise, then the tail.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f64; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = ac
        .remainder()
        .iter()
        .zip(bc.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ac.zip(bc) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7])) + tail
}

/// [`dot`] of row `a = scale·[h; 1 if bias]` (built on the fly, never stored) with `b`: the
/// same products (`scale·h_i` is exact in f64: two 24-bit mantissas) summed in the same
/// order, so the value is [`dot`]'s on the stored row, bit for bit.
fn dot_scaled(scale: f64, h: &[f32], bias: bool, b: &[f64]) -> f64 {
    let d = (h.len() + usize::from(bias)).min(b.len());
    let at = |i: usize| {
        if i < h.len() {
            scale * f64::from(h[i])
        } else {
            scale
        }
    };
    let full = d / 8 * 8;
    let tail: f64 = (full..d).map(|i| at(i) * b[i]).sum();
    let mut acc = [0f64; 8];
    // whole blocks inside `h` (all but at most one), then the block holding the bias
    let inside = h.len().min(full) / 8 * 8;
    for (x, y) in h[..inside].chunks_exact(8).zip(b[..inside].chunks_exact(8)) {
        for l in 0..8 {
            acc[l] += scale * f64::from(x[l]) * y[l];
        }
    }
    for c in (inside..full).step_by(8) {
        for (l, a) in acc.iter_mut().enumerate() {
            *a += at(c + l) * b[c + l];
        }
    }
    ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7])) + tail
}

/// The atoms of a pursuit, `n` rows of width `d`, read only through these operations.
pub trait Atoms: Sync {
    /// The number of atoms.
    fn n(&self) -> usize;
    /// Their width.
    fn d(&self) -> usize;
    /// `⟨a_j, v⟩`, summed in a fixed order: eight running sums over every eighth
    /// product, added pairwise, then the tail (the order every implementation keeps).
    fn dot(&self, j: usize, v: &[f64]) -> f64;
    /// Atom `j` written into `out` (`d` long).
    fn row(&self, j: usize, out: &mut [f64]);
    /// `r ← r − α·a_j`.
    fn sub_scaled(&self, j: usize, alpha: f64, r: &mut [f64]) {
        let mut a = vec![0f64; self.d()];
        self.row(j, &mut a);
        for (x, a) in r.iter_mut().zip(&a) {
            *x -= alpha * a;
        }
    }
    /// `Σ_j a_j`, in row order.
    fn sum(&self) -> Vec<f64> {
        let mut t = vec![0f64; self.d()];
        let mut a = vec![0f64; self.d()];
        for j in 0..self.n() {
            self.row(j, &mut a);
            for (x, v) in t.iter_mut().zip(&a) {
                *x += v;
            }
        }
        t
    }
}

/// Atoms stored row by row in one `n × d` matrix.
#[derive(Debug, Clone, Copy)]
pub struct DenseAtoms<'a> {
    /// The rows, `n·d` entries.
    pub data: &'a [f64],
    /// The width.
    pub d: usize,
}

impl Atoms for DenseAtoms<'_> {
    fn n(&self) -> usize {
        self.data.len() / self.d
    }
    fn d(&self) -> usize {
        self.d
    }
    fn dot(&self, j: usize, v: &[f64]) -> f64 {
        dot(&self.data[j * self.d..(j + 1) * self.d], v)
    }
    fn row(&self, j: usize, out: &mut [f64]) {
        out.copy_from_slice(&self.data[j * self.d..(j + 1) * self.d]);
    }
    fn sub_scaled(&self, j: usize, alpha: f64, r: &mut [f64]) {
        for (x, a) in r.iter_mut().zip(&self.data[j * self.d..(j + 1) * self.d]) {
            *x -= alpha * a;
        }
    }
}

/// Atoms `a_j = scale_j·[h_j; 1]` (the `1` when `bias`) over `f32` rows that stay where they
/// are (a probe's features, a caller's gradients): GradMatch's per-class last-layer rows
/// without an `n × d` copy in f64. Every entry is exact in f64, so a pursuit over them
/// equals one over the stored rows bit for bit, reading half the memory.
#[derive(Debug, Clone)]
pub struct ScaledAtoms<'a> {
    /// `scale_j`.
    pub scale: Vec<f64>,
    /// `h_j`, all of one length.
    pub rows: Vec<&'a [f32]>,
    /// Whether each atom ends with the entry `scale_j` (a bias).
    pub bias: bool,
}

impl Atoms for ScaledAtoms<'_> {
    fn n(&self) -> usize {
        self.rows.len()
    }
    fn d(&self) -> usize {
        self.rows.first().map_or(0, |h| h.len()) + usize::from(self.bias)
    }
    fn dot(&self, j: usize, v: &[f64]) -> f64 {
        dot_scaled(self.scale[j], self.rows[j], self.bias, v)
    }
    fn row(&self, j: usize, out: &mut [f64]) {
        let (e, h) = (self.scale[j], self.rows[j]);
        for (o, &x) in out.iter_mut().zip(h) {
            *o = e * f64::from(x);
        }
        if self.bias {
            out[h.len()] = e;
        }
    }
    fn sub_scaled(&self, j: usize, alpha: f64, r: &mut [f64]) {
        let (e, h) = (self.scale[j], self.rows[j]);
        for (x, &a) in r.iter_mut().zip(h) {
            *x -= alpha * (e * f64::from(a));
        }
        if self.bias {
            r[h.len()] -= alpha * e;
        }
    }
}

/// Runs OMP over the `n = atoms.len() / d` atoms stored row by row in `atoms`, against the
/// target `t` (`d` long).
///
/// - `k`: atoms to select at most;
/// - `block`: atoms added per round (1 = classic OMP; larger blocks trade fidelity for speed
///   on big sets; the objective is still non-increasing);
/// - `tol`: stops before a round once the residual is below `tol` of the target,
///   `‖r‖ < tol·‖t‖`, as CORDS' `OrthogonalMP_REG` does (its `tol`, GradMatch's `eps`);
///   0 never stops early;
/// - stops early when no unselected atom has a positive correlation with the residual
///   (above rounding noise: 1e-12 of the largest correlation with the target).
///
/// The weights are re-solved exactly each round (non-negative ridge least squares by an
/// active-set method on the dense `|S|×|S|` Gram matrix of the selected atoms, through an
/// incrementally updated Cholesky factor), warm-started from the last round's.
///
/// # Panics
///
/// If `d == 0`, or `atoms.len()` is not a multiple of `d`, or `t.len() != d`.
pub fn omp(
    atoms: &[f64],
    d: usize,
    t: &[f64],
    k: usize,
    lambda: f64,
    block: usize,
    tol: f64,
) -> OmpResult {
    assert!(
        d > 0 && atoms.len().is_multiple_of(d) && t.len() == d,
        "omp: {} atom entries, width {d}, target of {}",
        atoms.len(),
        t.len()
    );
    omp_atoms(&DenseAtoms { data: atoms, d }, t, k, lambda, block, tol)
}

/// [`omp`] over any [`Atoms`] (the same pursuit; [`omp`] is it on [`DenseAtoms`]).
///
/// # Panics
///
/// If `atoms.d() == 0` or `t.len() != atoms.d()`.
pub fn omp_atoms(
    atoms: &impl Atoms,
    t: &[f64],
    k: usize,
    lambda: f64,
    block: usize,
    tol: f64,
) -> OmpResult {
    let (n, d) = (atoms.n(), atoms.d());
    assert!(
        d > 0 && t.len() == d,
        "omp: width {d}, target of {}",
        t.len()
    );
    let k = k.min(n);
    // c_j = ⟨a_j, t⟩, which the weights' updates need for the selected atoms
    let c: Vec<f64> = (0..n)
        .into_par_iter()
        .with_min_len(512)
        .map(|j| atoms.dot(j, t))
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
            atoms.sub_scaled(s, ws, &mut r);
        }
        r
    };
    // a correlation below 1e-12 of the largest first one is rounding noise (an exactly fit
    // target leaves a residual of a few ulps), not a direction worth an atom
    let noise = 1e-12 * c.iter().fold(0.0, |m: f64, v| m.max(v.abs()));
    let mut passive = Passive::default();
    let mut r = t.to_vec();
    // ‖r‖ < tol·‖t‖, squared; with tol = 0 never true
    let stop = tol * tol * dot(t, t);
    while selected.len() < k {
        if tol > 0.0 && dot(&r, &r) < stop {
            break;
        }
        // every unselected atom's ⟨a_j, r⟩ (selected ones count as 0: never picked again)
        let corr: Vec<f64> = (0..n)
            .into_par_iter()
            .with_min_len(512)
            .map(|j| if in_set[j] { 0.0 } else { atoms.dot(j, &r) })
            .collect();
        dots += n as u64;
        let mut corr: Vec<(usize, f64)> = corr
            .into_iter()
            .enumerate()
            .filter(|&(_, r)| r > noise)
            .collect();
        if corr.is_empty() {
            break;
        }
        // the `take` largest correlations, ties to the lower index (a total order, so the
        // partial selection picks what a full sort would)
        let old = selected.len();
        let take = block.max(1).min(k - old).min(corr.len());
        let order = |a: &(usize, f64), b: &(usize, f64)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if take < corr.len() {
            corr.select_nth_unstable_by(take, order);
        }
        corr[..take].sort_by(order);
        for &(j, _) in &corr[..take] {
            in_set[j] = true;
            selected.push(j);
            w.push(0.0);
        }
        // grow the Gram matrix by the new atoms' columns and rows (symmetric: the row entry
        // is the column entry, the same products summed in the same order)
        let new_cols: Vec<Vec<f64>> = selected[old..]
            .par_iter()
            .map(|&j| {
                let mut a = vec![0f64; d];
                atoms.row(j, &mut a);
                selected.iter().map(|&s| atoms.dot(s, &a)).collect()
            })
            .collect();
        dots += new_cols.iter().map(|c| c.len() as u64).sum::<u64>();
        for (s, g) in gram.iter_mut().enumerate() {
            g.extend(new_cols.iter().map(|col| col[s]));
        }
        gram.extend(new_cols);
        nnls(&mut w, &gram, &selected, &c, lambda, &mut passive);
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

/// The Cholesky factor `L` (`L·Lᵀ = H_PP`) of the ridge Gram `H = G + λI` restricted to the
/// passive set `P` (positions in the selected list), grown and shrunk one atom at a time.
#[derive(Debug, Default)]
struct Passive {
    /// The positions in `P`, in the order of the factor's rows.
    p: Vec<usize>,
    /// Row `i` of `L`: its `i + 1` entries up to the diagonal.
    l: Vec<Vec<f64>>,
}

impl Passive {
    /// Appends `s` (its column of `H` over `P` given by `h`, its diagonal `h_ss`): the new
    /// row solves `L·y = H_Ps`, its diagonal is `√(h_ss − ‖y‖²)`. Returns false, leaving the
    /// factor as it was, when `s` is (numerically) in the span of `P`.
    fn push(&mut self, s: usize, h: impl Fn(usize) -> f64, h_ss: f64) -> bool {
        let mut y = Vec::with_capacity(self.p.len() + 1);
        for (i, row) in self.l.iter().enumerate() {
            y.push((h(self.p[i]) - dot(&row[..i], &y)) / row[i]);
        }
        let d2 = h_ss - y.iter().map(|v| v * v).sum::<f64>();
        // (a NaN pivot fails too)
        if d2.is_nan() || d2 <= 1e-12 * h_ss {
            return false;
        }
        y.push(d2.sqrt());
        self.l.push(y);
        self.p.push(s);
        true
    }

    /// Drops row and column `j`: the rows below lose their entry `x_i` in column `j`, and
    /// their block, whose product was `L₃₃·L₃₃ᵀ + x·xᵀ`, is refactored by a rank-one update.
    fn remove(&mut self, j: usize) {
        self.p.remove(j);
        self.l.remove(j);
        let mut x: Vec<f64> = self.l[j..].iter_mut().map(|row| row.remove(j)).collect();
        let n = self.l.len();
        for k in j..n {
            let lkk = self.l[k][k];
            let xk = x[k - j];
            let r = lkk.hypot(xk);
            let (c, s) = (r / lkk, xk / lkk);
            self.l[k][k] = r;
            for i in k + 1..n {
                let lik = (self.l[i][k] + s * x[i - j]) / c;
                x[i - j] = c * x[i - j] - s * lik;
                self.l[i][k] = lik;
            }
        }
    }

    /// `z` with `H_PP·z = b` (`b` in the order of `P`), by the two triangular solves.
    fn solve(&self, b: &[f64]) -> Vec<f64> {
        let n = self.p.len();
        let mut z = Vec::with_capacity(n);
        for (i, row) in self.l.iter().enumerate() {
            z.push((b[i] - dot(&row[..i], &z)) / row[i]);
        }
        // Lᵀ·z = y by rows of L: once z_i is known, it leaves every equation above it
        for i in (0..n).rev() {
            let row = &self.l[i];
            z[i] /= row[i];
            let zi = z[i];
            for (zj, a) in z[..i].iter_mut().zip(&row[..i]) {
                *zj -= a * zi;
            }
        }
        z
    }
}

/// Non-negative ridge least squares on the selected set, `min_{w ≥ 0} ‖t − A_S·w‖² + λ‖w‖²`,
/// solved exactly by Lawson and Hanson's active-set method on the Gram form
/// (`H = G_SS + λI`, `c_S = A_Sᵀ·t`), warm-started from the last round's solution and its
/// passive set `P`:
/// - every atom outside `P` whose gradient `c_s − (H·w)_s` is positive joins `P`, the
///   largest first (one at a time after a round whose joiners all left at once);
/// - the weights on `P` are re-solved through the Cholesky factor; a step that would turn a
///   weight negative stops at the first zero, whose atom leaves `P`;
/// - an atom in the span of `P` (λ = 0) cannot join until an atom leaves `P`.
///
/// Every step lowers the objective.
fn nnls(
    w: &mut [f64],
    gram: &[Vec<f64>],
    selected: &[usize],
    c: &[f64],
    lambda: f64,
    passive: &mut Passive,
) {
    let n = w.len();
    let rhs =
        |passive: &Passive| -> Vec<f64> { passive.p.iter().map(|&u| c[selected[u]]).collect() };
    let cmax = selected.iter().map(|&j| c[j].abs()).fold(0.0, f64::max);
    let mut in_p = vec![false; n];
    for &u in &passive.p {
        in_p[u] = true;
    }
    let mut blocked = vec![false; n];
    // after a round whose joiners all left again at once, atoms join one at a time (as in
    // Lawson and Hanson, where the one joiner's weight is positive); a lone joiner that
    // still leaves at once (rounding) may not come back in this call
    let mut one_at_a_time = false;
    // atoms in the span of P (λ = 0) cannot join until an atom leaves P
    let mut dependent = vec![false; n];
    for _ in 0..3 * n + 10 {
        // the gradient c_s − Σ_{u∈P} H_su·w_u of the atoms outside P (their own weight is
        // 0); every atom whose gradient is positive joins P, the largest first
        let mut joining: Vec<(usize, f64)> = Vec::new();
        for s in (0..n).filter(|&s| !in_p[s] && !blocked[s] && !dependent[s]) {
            let mut g = c[selected[s]];
            for &u in &passive.p {
                g -= gram[s][u] * w[u];
            }
            if g > 1e-12 * cmax {
                joining.push((s, g));
            }
        }
        if joining.is_empty() {
            break;
        }
        joining.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        if one_at_a_time {
            joining.truncate(1);
        }
        let mut joined = Vec::with_capacity(joining.len());
        for (s, _) in joining {
            if passive.push(s, |u| gram[s][u], gram[s][s] + lambda) {
                in_p[s] = true;
                joined.push(s);
            } else {
                dependent[s] = true;
            }
        }
        for _ in 0..=n {
            let z = passive.solve(&rhs(passive));
            if z.iter().all(|&v| v > 0.0) {
                for (&u, &v) in passive.p.iter().zip(&z) {
                    w[u] = v;
                }
                break;
            }
            // step from w towards z up to the first weight that reaches zero
            let (mut alpha, mut first) = (f64::INFINITY, 0);
            for (j, (&u, &v)) in passive.p.iter().zip(&z).enumerate() {
                if v <= 0.0 && w[u] / (w[u] - v) < alpha {
                    (alpha, first) = (w[u] / (w[u] - v), j);
                }
            }
            for (&u, &v) in passive.p.iter().zip(&z) {
                w[u] += alpha * (v - w[u]);
            }
            w[passive.p[first]] = 0.0;
            // out go the atoms the step took to zero (an atom that joined at 0 and is
            // headed up stays, even when the step was 0)
            for j in (0..passive.p.len()).rev() {
                let u = passive.p[j];
                if j == first || (w[u] <= 0.0 && z[j] <= 0.0) {
                    w[u] = 0.0;
                    in_p[u] = false;
                    passive.remove(j);
                    dependent.fill(false);
                }
            }
        }
        let stalled = joined.iter().all(|&u| !in_p[u]);
        if stalled && one_at_a_time {
            for &u in &joined {
                blocked[u] = true;
            }
        }
        one_at_a_time = stalled;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dense_omp(atoms: &[Vec<f64>], t: &[f64], k: usize, lambda: f64, block: usize) -> OmpResult {
        let flat: Vec<f64> = atoms.iter().flatten().copied().collect();
        omp(&flat, t.len(), t, k, lambda, block, 0.0)
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

    #[test]
    fn stops_once_the_residual_is_below_tol_of_the_target() {
        // orthogonal unit atoms e0..e3 and t = 10·e0 + 1·e1 + 0.01·e2 + 0.001·e3 (‖t‖ ≈ 10.05),
        // λ = 0, one atom a round: after e0 the residual is ≈ 0.0995·‖t‖, after e1 ≈ 1.0e-3·‖t‖,
        // after e2 ≈ 9.9e-5·‖t‖, after e3 zero
        let atoms: Vec<Vec<f64>> = (0..4)
            .map(|i| (0..4).map(|j| f64::from(u8::from(i == j))).collect())
            .collect();
        let t = [10.0, 1.0, 0.01, 0.001];
        let flat: Vec<f64> = atoms.iter().flatten().copied().collect();
        for (tol, picks) in [
            (2.0, 0),
            (1.0, 1),
            (0.5, 1),
            (0.05, 2),
            (1e-3, 2),
            (9e-4, 3),
            (1e-4, 3),
            (9e-5, 4),
            (0.0, 4),
        ] {
            let r = omp(&flat, 4, &t, 4, 0.0, 1, tol);
            assert_eq!(r.selected, [0, 1, 2, 3][..picks], "tol {tol}");
            assert_eq!(r.objective.len(), picks, "tol {tol}");
        }
        // in blocks of three, the check comes after a whole block
        let r = omp(&flat, 4, &t, 4, 0.0, 3, 0.05);
        assert_eq!(r.selected, [0, 1, 2]);
    }

    /// `L·Lᵀ` of a factor, for checking it against `H_PP`.
    fn product(f: &Passive) -> Vec<Vec<f64>> {
        let n = f.p.len();
        let at = |i: usize, k: usize| if k <= i { f.l[i][k] } else { 0.0 };
        (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| (0..n).map(|k| at(i, k) * at(j, k)).sum())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn the_factor_stays_exact_as_atoms_join_and_leave() {
        let mut r = swast_data::SeededRng::new(4);
        let a: Vec<Vec<f64>> = (0..7)
            .map(|_| (0..9).map(|_| r.unit_f64() - 0.3).collect())
            .collect();
        let h = |i: usize, j: usize| dot(&a[i], &a[j]) + if i == j { 0.1 } else { 0.0 };
        let mut f = Passive::default();
        for s in [3, 0, 5, 1, 6, 2] {
            assert!(f.push(s, |u| h(u, s), h(s, s)));
        }
        for j in [2, 0, 3] {
            f.remove(j);
            let want: Vec<Vec<f64>> =
                f.p.iter()
                    .map(|&u| f.p.iter().map(|&v| h(u, v)).collect())
                    .collect();
            for (got, want) in product(&f).iter().flatten().zip(want.iter().flatten()) {
                assert!((got - want).abs() < 1e-12, "{got} against {want}");
            }
        }
        assert_eq!(f.p, [0, 1, 6]);
        // and it solves: H_PP·z = b
        let b = [1.0, -2.0, 0.5];
        let z = f.solve(&b);
        for (i, &u) in f.p.iter().enumerate() {
            let hz: f64 = f.p.iter().zip(&z).map(|(&v, zv)| h(u, v) * zv).sum();
            assert!((hz - b[i]).abs() < 1e-12);
        }
        // an atom in the span of the others cannot join when λ = 0
        let mut g = Passive::default();
        let (x, y) = (vec![1.0, 0.0], vec![2.0, 0.0]);
        assert!(g.push(0, |_| 0.0, dot(&x, &x)));
        assert!(!g.push(1, |_| dot(&x, &y), dot(&y, &y)));
        assert_eq!(g.p, [0]);
    }

    /// The non-negative ridge optimum by brute force: the unconstrained solve on every
    /// support, the best feasible one kept.
    fn brute_nnls(gram: &[Vec<f64>], c: &[f64], lambda: f64) -> f64 {
        let n = c.len();
        let mut best = 0.0f64; // w = 0
        for mask in 1u32..(1 << n) {
            let sup: Vec<usize> = (0..n).filter(|&i| mask & (1 << i) != 0).collect();
            let mut f = Passive::default();
            if !sup
                .iter()
                .all(|&s| f.push(s, |u| gram[u][s], gram[s][s] + lambda))
            {
                continue;
            }
            let z = f.solve(&sup.iter().map(|&s| c[s]).collect::<Vec<_>>());
            if z.iter().all(|&v| v >= 0.0) {
                // ½wᵀHw − cᵀw at the solve is −½cᵀw
                let val = -0.5 * sup.iter().zip(&z).map(|(&s, v)| c[s] * v).sum::<f64>();
                best = best.min(val);
            }
        }
        best
    }

    proptest! {
        #[test]
        fn nnls_reaches_the_brute_force_optimum(
            atoms in proptest::collection::vec(proptest::collection::vec(-1.0f64..1.0, 5), 1..8),
            t in proptest::collection::vec(-2.0f64..2.0, 5),
            lambda in prop_oneof![Just(0.0), 0.01f64..1.0],
            first in 0usize..8
        ) {
            let n = atoms.len();
            let gram: Vec<Vec<f64>> =
                atoms.iter().map(|a| atoms.iter().map(|b| dot(a, b)).collect()).collect();
            let c: Vec<f64> = atoms.iter().map(|a| dot(a, &t)).collect();
            let selected: Vec<usize> = (0..n).collect();
            // warm-started as OMP does: a first solve on a prefix, then the whole set
            let k = first.min(n);
            let (mut w, mut f) = (vec![0.0; k], Passive::default());
            nnls(&mut w, &gram[..k], &selected[..k], &c, lambda, &mut f);
            w.resize(n, 0.0);
            nnls(&mut w, &gram, &selected, &c, lambda, &mut f);
            prop_assert!(w.iter().all(|&v| v >= 0.0));
            let val = 0.5 * (0..n).map(|i| (0..n).map(|j| w[i] * gram[i][j] * w[j]).sum::<f64>()).sum::<f64>()
                + 0.5 * lambda * dot(&w, &w)
                - dot(&c, &w);
            let best = brute_nnls(&gram, &c, lambda);
            // (to 1e-7: a Gram solve squares the condition number of nearly dependent atoms)
            prop_assert!(val <= best + 1e-7 * (1.0 + best.abs()), "{val} against {best}");
        }

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

        // atoms read as `scale·[h; 1]` from f32 rows pursue exactly as the same atoms stored
        // in f64: every entry and every sum is the same, bit for bit (widths around the
        // 8-lane blocks, with and without the bias entry)
        #[test]
        fn scaled_atoms_pursue_bit_for_bit_as_stored_ones(
            h in proptest::collection::vec(proptest::collection::vec(-3.0f32..3.0, 17), 3..40),
            scale in proptest::collection::vec(-1.0f32..0.0, 40),
            width in 1usize..17, bias in any::<bool>(),
            k in 1usize..10, lambda in 0.0f64..1.0, block in 1usize..4, tol in 0.0f64..0.3
        ) {
            let rows: Vec<&[f32]> = h.iter().map(|r| &r[..width]).collect();
            let scale: Vec<f64> = scale[..rows.len()].iter().map(|&e| f64::from(e)).collect();
            let d = width + usize::from(bias);
            let mut data = Vec::new();
            for (r, &e) in rows.iter().zip(&scale) {
                data.extend(r.iter().map(|&x| e * f64::from(x)));
                if bias {
                    data.push(e);
                }
            }
            let dense = DenseAtoms { data: &data, d };
            let scaled = ScaledAtoms { scale, rows, bias };
            let t = dense.sum();
            prop_assert_eq!(&scaled.sum(), &t);
            for j in 0..dense.n() {
                prop_assert_eq!(scaled.dot(j, &t).to_bits(), dense.dot(j, &t).to_bits());
            }
            let a = omp_atoms(&dense, &t, k, lambda, block, tol);
            let b = omp_atoms(&scaled, &t, k, lambda, block, tol);
            prop_assert_eq!(a.selected, b.selected);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(bits(&a.weights), bits(&b.weights));
            prop_assert_eq!(bits(&a.objective), bits(&b.objective));
            prop_assert_eq!(a.dots, b.dots);
        }
    }
}
