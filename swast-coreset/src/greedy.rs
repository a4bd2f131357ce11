//! Greedy subset algorithms on vectors: facility location by stochastic greedy (CRAIG),
//! k-center greedy and herding.

use rayon::prelude::*;
use swast_data::SeededRng;

/// Squared Euclidean distance.
#[inline]
pub fn dist2(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Euclidean distances between all pairs of `n` points of width `dim` (row-major `n×n`),
/// a row per task. Each entry sums its squared differences over the dimensions in order,
/// as [`dist2`] does, but for a whole row at once from dimension-major storage, so the loop
/// runs over points (vectorized) and `d[i][j] = d[j][i]` exactly.
fn pairwise(points: &[f32], n: usize, dim: usize) -> Vec<f32> {
    let mut t = vec![0f32; n * dim];
    for i in 0..n {
        for k in 0..dim {
            t[k * n + i] = points[i * dim + k];
        }
    }
    let mut d = vec![0f32; n * n];
    d.par_chunks_mut(n.max(1)).enumerate().for_each(|(i, row)| {
        crate::kernels::vectorized(DistRow {
            t: &t,
            n,
            dim,
            i,
            row,
        });
    });
    d
}

/// Row `i` of [`pairwise`]'s distances (a struct, so that pulp can compile it with the
/// CPU's vector extensions: it must be inlined into the dispatched function).
struct DistRow<'a> {
    t: &'a [f32],
    n: usize,
    dim: usize,
    i: usize,
    row: &'a mut [f32],
}

impl pulp::NullaryFnOnce for DistRow<'_> {
    type Output = ();

    #[inline(always)]
    fn call(self) {
        let Self { t, n, dim, i, row } = self;
        row.fill(-0.0);
        for k in 0..dim {
            let (xi, col) = (t[k * n + i], &t[k * n..(k + 1) * n]);
            for (v, x) in row.iter_mut().zip(col) {
                *v += (xi - x) * (xi - x);
            }
        }
        for v in row.iter_mut() {
            *v = v.sqrt();
        }
        row[i] = 0.0;
    }
}

/// One facility-location gain (see [`crate::kernels::gain`]), for pulp's dispatch.
struct Gain<'a> {
    d: &'a [f32],
    best: &'a [f32],
    c: f32,
}

impl pulp::NullaryFnOnce for Gain<'_> {
    type Output = f32;

    #[inline(always)]
    fn call(self) -> f32 {
        crate::kernels::gain(self.d, self.best, self.c)
    }
}

/// Result of a facility-location maximisation.
#[derive(Debug, Clone, PartialEq)]
pub struct FacilityResult {
    /// Selected points, in order.
    pub selected: Vec<usize>,
    /// Cluster sizes: how many points have each selected point as their nearest medoid.
    pub weights: Vec<f32>,
    /// `F(S)` after each addition (non-decreasing).
    pub values: Vec<f64>,
    /// Similarity evaluations (for the FLOPs report).
    pub evals: u64,
}

/// Maximises the facility-location function `F(S) = Σ_i max_{s∈S} sim(i, s)` with
/// `sim = C − ‖x_i − x_s‖` (`C` the largest distance, so `sim ≥ 0`) over `points` (each of
/// width `dim`), selecting `k`, by stochastic greedy (Mirzasoleiman et al., AAAI 2015, as in
/// CRAIG's implementation): each step evaluates `⌈(n/k)·ln(1/ε)⌉` random remaining
/// candidates (all of them when that is at least the remaining count, i.e. exact greedy on
/// small sets) and adds the best; `(1 − 1/e − ε)` of the optimum in expectation.
pub fn facility_location(
    points: &[f32],
    dim: usize,
    k: usize,
    epsilon: f64,
    rng: &mut SeededRng,
) -> FacilityResult {
    let n = points.len() / dim.max(1);
    let k = k.min(n);
    // pairwise distances, row-major n×n (per class, so n is a class size)
    let d = pairwise(points, n, dim);
    let max_d = d.par_iter().copied().reduce(|| 0f32, f32::max);
    let c = max_d + 1e-6;
    let mut best = vec![0f32; n]; // current max sim of each point to S
    // gain of adding j: Σ_i max(0, sim(i, j) − best_i), reading row j (contiguous)
    let gain = |j: usize, best: &[f32]| -> f64 {
        let d = &d[j * n..(j + 1) * n];
        f64::from(crate::kernels::vectorized(Gain { d, best, c }))
    };
    let sample = if k == 0 {
        0
    } else {
        ((n as f64 / k as f64) * (1.0 / epsilon.clamp(1e-12, 1.0)).ln()).ceil() as usize
    };
    let mut remaining: Vec<usize> = (0..n).collect();
    let mut evals = (n * n) as u64;
    let (mut selected, mut values, mut value) = (Vec::with_capacity(k), Vec::with_capacity(k), 0.0);
    while selected.len() < k && !remaining.is_empty() {
        let m = sample.max(1).min(remaining.len());
        if m < remaining.len() {
            for i in 0..m {
                let j = i + rng.below(remaining.len() - i);
                remaining.swap(i, j);
            }
        }
        let gains: Vec<f64> = remaining[..m]
            .par_iter()
            .with_min_len(8)
            .map(|&j| gain(j, &best))
            .collect();
        let (mut bi, mut bg) = (0usize, f64::NEG_INFINITY);
        for (slot, (&j, &g)) in remaining[..m].iter().zip(&gains).enumerate() {
            // ties to the lower point index, so exact greedy is deterministic
            if g > bg || (g == bg && j < remaining[bi]) {
                (bi, bg) = (slot, g);
            }
        }
        evals += (m * n) as u64;
        let j = remaining.swap_remove(bi);
        selected.push(j);
        value += bg;
        values.push(value);
        for (b, &dij) in best.iter_mut().zip(&d[j * n..(j + 1) * n]) {
            *b = b.max(c - dij);
        }
    }
    // cluster sizes: each point goes to its nearest medoid (the first on ties)
    let mut nearest = vec![(f32::INFINITY, 0usize); n];
    for (s, &j) in selected.iter().enumerate() {
        for (nb, &dij) in nearest.iter_mut().zip(&d[j * n..(j + 1) * n]) {
            if dij < nb.0 {
                *nb = (dij, s);
            }
        }
    }
    let mut weights = vec![0f32; selected.len()];
    if !selected.is_empty() {
        for (_, s) in nearest {
            weights[s] += 1.0;
        }
    }
    FacilityResult {
        selected,
        weights,
        values,
        evals,
    }
}

/// k-center greedy (Sener & Savarese 2018): start from the point nearest the mean, then
/// repeatedly add the point farthest from the selected set.
pub fn k_center(points: &[f32], dim: usize, k: usize) -> Vec<usize> {
    let n = points.len() / dim.max(1);
    let k = k.min(n);
    if k == 0 {
        return vec![];
    }
    let p = |i: usize| &points[i * dim..(i + 1) * dim];
    let mean: Vec<f32> = (0..dim)
        .map(|d| (0..n).map(|i| p(i)[d]).sum::<f32>() / n as f32)
        .collect();
    let first = (0..n)
        .min_by(|&a, &b| {
            dist2(p(a), &mean)
                .total_cmp(&dist2(p(b), &mean))
                .then(a.cmp(&b))
        })
        .expect("n > 0");
    let mut sel = vec![first];
    let mut mind: Vec<f32> = (0..n).map(|i| dist2(p(i), p(first))).collect();
    while sel.len() < k {
        let far = (0..n)
            .max_by(|&a, &b| mind[a].total_cmp(&mind[b]).then(b.cmp(&a)))
            .expect("n > 0");
        sel.push(far);
        for (i, m) in mind.iter_mut().enumerate() {
            *m = m.min(dist2(p(i), p(far)));
        }
        mind[far] = f32::NEG_INFINITY;
        for &s in &sel {
            mind[s] = f32::NEG_INFINITY;
        }
    }
    sel
}

/// Herding (Welling 2009): add, one at a time, the point that keeps the mean of the selected
/// points closest to the mean of all points.
pub fn herding(points: &[f32], dim: usize, k: usize) -> Vec<usize> {
    let n = points.len() / dim.max(1);
    let k = k.min(n);
    let p = |i: usize| &points[i * dim..(i + 1) * dim];
    let mean: Vec<f32> = (0..dim)
        .map(|d| (0..n).map(|i| p(i)[d]).sum::<f32>() / n.max(1) as f32)
        .collect();
    let mut sum = vec![0f32; dim];
    let mut used = vec![false; n];
    let mut sel = Vec::with_capacity(k);
    for t in 1..=k {
        let mut best = (f32::INFINITY, usize::MAX);
        for i in (0..n).filter(|&i| !used[i]) {
            let d: f32 = (0..dim)
                .map(|d| {
                    let m = (sum[d] + p(i)[d]) / t as f32 - mean[d];
                    m * m
                })
                .sum();
            if d < best.0 {
                best = (d, i);
            }
        }
        let i = best.1;
        used[i] = true;
        sel.push(i);
        for (s, x) in sum.iter_mut().zip(p(i)) {
            *s += x;
        }
    }
    sel
}

#[cfg(test)]
mod tests {

    #[test]
    fn pairwise_distances_equal_dist2_to_the_bit() {
        let mut r = SeededRng::new(5);
        let (n, dim) = (29, 10);
        let pts: Vec<f32> = (0..n * dim).map(|_| r.unit_f64() as f32 - 0.5).collect();
        let d = pairwise(&pts, n, dim);
        for i in 0..n {
            for j in 0..n {
                let want = if i == j {
                    0.0
                } else {
                    dist2(&pts[i * dim..(i + 1) * dim], &pts[j * dim..(j + 1) * dim]).sqrt()
                };
                assert_eq!(d[i * n + j].to_bits(), want.to_bits(), "({i}, {j})");
            }
        }
    }

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn facility_location_known_answer() {
        // Independent computation (python, plain greedy, exact arithmetic):
        //   pts = [(0,0),(1,0),(0,2),(9,9),(10,9),(9,11),(10,12)]
        //   C = max pairwise distance + 1e-6; sim = C − d; gain(j) = Σ_i max(0, sim(i,j) − best_i)
        //   step 1 gains: j=3 67.0100, j=4 64.7193 → pick 3
        //   step 2 gains: j=0 33.1713, j=1 32.9352 → pick 0;  F = 100.1812
        //   nearest medoid: {0,1,2} → 0, {3,4,5,6} → 3  → weights [4, 3] for [3, 0]
        let pts = [
            0.0, 0.0, 1.0, 0.0, 0.0, 2.0, 9.0, 9.0, 10.0, 9.0, 9.0, 11.0, 10.0, 12.0,
        ];
        let r = facility_location(&pts, 2, 2, 0.01, &mut SeededRng::new(0));
        assert_eq!(r.selected, [3, 0]);
        assert_eq!(r.weights, [4.0, 3.0]);
        assert!((r.values[0] - 67.009_954).abs() < 1e-3, "{:?}", r.values);
        assert!((r.values[1] - 100.181_225).abs() < 1e-3, "{:?}", r.values);
    }

    proptest! {
        #[test]
        fn facility_value_never_decreases(
            pts in proptest::collection::vec(-5.0f32..5.0, 6..80), k in 1usize..20
        ) {
            let r = facility_location(&pts, 2, k, 0.01, &mut SeededRng::new(k as u64));
            for w in r.values.windows(2) {
                prop_assert!(w[1] >= w[0] - 1e-9);
            }
            let mut s = r.selected.clone();
            s.sort_unstable();
            s.dedup();
            prop_assert_eq!(s.len(), r.selected.len());
            prop_assert_eq!(r.selected.len(), k.min(pts.len() / 2));
        }
    }

    #[test]
    fn k_center_and_herding_pick_distinct_points() {
        let pts: Vec<f32> = (0..40).map(|i| (i * 7 % 13) as f32).collect();
        let a = k_center(&pts, 2, 8);
        let b = herding(&pts, 2, 8);
        for v in [a, b] {
            let mut s = v.clone();
            s.sort_unstable();
            s.dedup();
            assert_eq!(s.len(), 8);
        }
    }
}
