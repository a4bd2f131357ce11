//! Building masks: random at an exact count, and top-k by a score (ties to the lower index,
//! so every mask is deterministic).

use swast_data::SeededRng;

/// A mask of `n` flags with exactly `kept` set, chosen uniformly at random.
pub fn random_keep(n: usize, kept: usize, rng: &mut SeededRng) -> Vec<bool> {
    let kept = kept.min(n);
    let mut idx: Vec<usize> = (0..n).collect();
    // partial Fisher–Yates: the first `kept` positions become a uniform sample
    for i in 0..kept {
        let j = i + rng.below(n - i);
        idx.swap(i, j);
    }
    let mut keep = vec![false; n];
    for &i in &idx[..kept] {
        keep[i] = true;
    }
    keep
}

/// Score order: highest first, ties to the lower index (a total order for NaN-free scores).
fn by_score(score: &[f32]) -> impl Fn(&usize, &usize) -> std::cmp::Ordering + '_ {
    |&a, &b| {
        score[b]
            .partial_cmp(&score[a])
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.cmp(&b))
    }
}

/// The `kept` best candidate positions by score ([`by_score`]), in no particular order. The
/// order is total, so the set is the one a full sort's first `kept` would be; a partial
/// selection finds it in linear time (RigL updates a million-weight layer every few steps).
fn top_of<'a>(candidates: &'a mut [usize], score: &[f32], kept: usize) -> &'a [usize] {
    let kept = kept.min(candidates.len());
    if kept > 0 && kept < candidates.len() {
        candidates.select_nth_unstable_by(kept, by_score(score));
    }
    &candidates[..kept]
}

/// Keeps the `kept` highest scores (NaN ranks lowest).
pub fn top_keep(score: &[f32], kept: usize) -> Vec<bool> {
    let clean: Vec<f32> = score
        .iter()
        .map(|s| if s.is_nan() { f32::MIN } else { *s })
        .collect();
    let mut idx: Vec<usize> = (0..score.len()).collect();
    let mut keep = vec![false; score.len()];
    for &i in top_of(&mut idx, &clean, kept) {
        keep[i] = true;
    }
    keep
}

/// Among the currently kept positions, keeps only the `kept` highest scores.
pub fn shrink_keep(current: &[bool], score: &[f32], kept: usize) -> Vec<bool> {
    let masked: Vec<f32> = current
        .iter()
        .zip(score)
        .map(|(&k, &s)| {
            if k && !s.is_nan() {
                s
            } else {
                f32::NEG_INFINITY
            }
        })
        .collect();
    let mut idx: Vec<usize> = (0..score.len()).filter(|&i| current[i]).collect();
    let mut keep = vec![false; score.len()];
    for &i in top_of(&mut idx, &masked, kept) {
        keep[i] = true;
    }
    keep
}

/// RigL's drop-and-grow on one layer: drop the `k` active weights of smallest magnitude,
/// then grow the `k` inactive positions (the just-dropped ones included) of largest gradient
/// magnitude. The number of kept weights does not change.
pub fn drop_and_grow(keep: &[bool], weight: &[f32], grad: &[f32], k: usize) -> Vec<bool> {
    let active = keep.iter().filter(|x| **x).count();
    let k = k.min(active);
    // drop: keep the (active − k) largest |w| among active
    let mag: Vec<f32> = weight.iter().map(|w| w.abs()).collect();
    let mut out = shrink_keep(keep, &mag, active - k);
    // grow: the k largest |g| among now-inactive positions
    let g: Vec<f32> = grad.iter().map(|g| g.abs()).collect();
    let mut cand: Vec<usize> = (0..keep.len()).filter(|&i| !out[i]).collect();
    let clean: Vec<f32> = g
        .iter()
        .map(|s| if s.is_nan() { f32::MIN } else { *s })
        .collect();
    for &i in top_of(&mut cand, &clean, k) {
        out[i] = true;
    }
    out
}

/// Global top-k over several layers' scores; every layer keeps at least one weight.
pub fn global_top_keep(scores: &[Vec<f32>], kept_total: usize) -> Vec<Vec<bool>> {
    let mut all: Vec<(usize, usize)> = Vec::new();
    let mut flat = Vec::new();
    for (l, s) in scores.iter().enumerate() {
        for (i, &v) in s.iter().enumerate() {
            all.push((l, i));
            flat.push(if v.is_nan() { f32::MIN } else { v });
        }
    }
    let mut idx: Vec<usize> = (0..flat.len()).collect();
    let mut out: Vec<Vec<bool>> = scores.iter().map(|s| vec![false; s.len()]).collect();
    for &j in top_of(&mut idx, &flat, kept_total) {
        let (l, i) = all[j];
        out[l][i] = true;
    }
    for (l, s) in scores.iter().enumerate() {
        if !s.is_empty() && !out[l].iter().any(|k| *k) {
            out[l] = top_keep(s, 1);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn random_mask_at_sparsity_has_exactly_round_s_n_zeros(
            n in 1usize..3000, s in 0.0f64..0.999, seed in any::<u64>()
        ) {
            let zeros = (s * n as f64).round() as usize;
            let keep = random_keep(n, n - zeros, &mut SeededRng::new(seed));
            prop_assert_eq!(keep.iter().filter(|k| !**k).count(), zeros);
            let again = random_keep(n, n - zeros, &mut SeededRng::new(seed));
            prop_assert_eq!(keep, again);
        }

        #[test]
        fn drop_and_grow_keeps_the_count(
            w in proptest::collection::vec(-1.0f32..1.0, 1..400),
            seed in any::<u64>(), frac in 0.0f64..1.0, kfrac in 0.0f64..1.0
        ) {
            let n = w.len();
            let kept = ((n as f64 * frac).round() as usize).max(1).min(n);
            let keep = random_keep(n, kept, &mut SeededRng::new(seed));
            let g: Vec<f32> = w.iter().rev().copied().collect();
            let k = (kept as f64 * kfrac) as usize;
            let out = drop_and_grow(&keep, &w, &g, k);
            prop_assert_eq!(out.iter().filter(|x| **x).count(), kept);
        }
    }

    proptest! {
        // the partial selection keeps exactly the set a full sort's first `kept` would:
        // masks stay bit for bit what they were, ties (many, and ±0) to the lower index
        #[test]
        fn top_of_equals_the_full_sorts_prefix(
            raw in proptest::collection::vec(0usize..7, 0..300), kept in 0usize..320
        ) {
            let table = [0.0f32, -0.0, 1.5, -2.0, f32::NEG_INFINITY, f32::MIN, 1.5];
            let score: Vec<f32> = raw.iter().map(|&i| table[i]).collect();
            let mut sorted: Vec<usize> = (0..score.len()).collect();
            sorted.sort_by(by_score(&score));
            let mut want: Vec<usize> = sorted.into_iter().take(kept).collect();
            let mut idx: Vec<usize> = (0..score.len()).collect();
            let mut got = top_of(&mut idx, &score, kept).to_vec();
            want.sort_unstable();
            got.sort_unstable();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn drop_and_grow_known_case() {
        // active {0,1,2} with |w| = 0.9, 0.1, 0.5; inactive {3,4} with |g| 0.2, 0.8
        // k = 1: drop 1 (smallest |w|), grow among {1,3,4} by |g|: g = [., 0.05, ., 0.2, 0.8] → 4
        let keep = [true, true, true, false, false];
        let w = [0.9, -0.1, 0.5, 0.0, 0.0];
        let g = [0.0, 0.05, 0.0, -0.2, 0.8];
        assert_eq!(
            drop_and_grow(&keep, &w, &g, 1),
            [true, false, true, false, true]
        );
        // the just-dropped weight can come back when its gradient is the largest
        let g = [0.0, 0.9, 0.0, -0.2, 0.8];
        assert_eq!(
            drop_and_grow(&keep, &w, &g, 1),
            [true, true, true, false, false]
        );
    }

    #[test]
    fn top_and_global_keep() {
        assert_eq!(
            top_keep(&[0.1, 0.3, 0.3, 0.2], 2),
            [false, true, true, false]
        );
        let g = global_top_keep(&[vec![5.0, 1.0], vec![0.5, 0.4, 9.0]], 2);
        assert_eq!(g, [vec![true, false], vec![false, false, true]]);
        // a layer that would lose everything keeps its best weight
        let g = global_top_keep(&[vec![5.0, 4.0], vec![0.5, 0.4]], 2);
        assert_eq!(g[1], [true, false]);
    }
}
