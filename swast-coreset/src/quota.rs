//! Budget splitting and top-k selection.

use swast_data::SeededRng;

/// Per-class budgets proportional to class sizes (largest-remainder rounding): they sum to
/// `min(budget, n)` and none exceeds its class size.
pub fn class_quotas(class_sizes: &[usize], budget: usize) -> Vec<usize> {
    let n: usize = class_sizes.iter().sum();
    let budget = budget.min(n);
    if n == 0 {
        return vec![0; class_sizes.len()];
    }
    let exact: Vec<f64> = class_sizes
        .iter()
        .map(|&s| budget as f64 * s as f64 / n as f64)
        .collect();
    let mut q: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut left = budget - q.iter().sum::<usize>();
    let mut order: Vec<usize> = (0..q.len()).collect();
    order.sort_by(|&a, &b| {
        (exact[b] - exact[b].floor())
            .total_cmp(&(exact[a] - exact[a].floor()))
            .then(a.cmp(&b))
    });
    while left > 0 {
        let mut progressed = false;
        for &c in &order {
            if left == 0 {
                break;
            }
            if q[c] < class_sizes[c] {
                q[c] += 1;
                left -= 1;
                progressed = true;
            }
        }
        if !progressed {
            break;
        }
    }
    q
}

/// Rows ordered by score, highest first; ties to the lower row.
pub fn ranked(rows: &[usize], score: &[f32]) -> Vec<usize> {
    let mut v = rows.to_vec();
    v.sort_by(|&a, &b| {
        let (sa, sb) = (score[a], score[b]);
        let sa = if sa.is_nan() { f32::NEG_INFINITY } else { sa };
        let sb = if sb.is_nan() { f32::NEG_INFINITY } else { sb };
        sb.total_cmp(&sa).then(a.cmp(&b))
    });
    v
}

/// The `k` highest-scoring rows after skipping the `offset` highest.
pub fn top_k(rows: &[usize], score: &[f32], k: usize, offset: usize) -> Vec<usize> {
    let r = ranked(rows, score);
    let offset = offset.min(r.len().saturating_sub(k));
    r.into_iter().skip(offset).take(k).collect()
}

/// `k` rows drawn uniformly without replacement.
pub fn sample(rows: &[usize], k: usize, rng: &mut SeededRng) -> Vec<usize> {
    let mut v = rows.to_vec();
    let k = k.min(v.len());
    for i in 0..k {
        let j = i + rng.below(v.len() - i);
        v.swap(i, j);
    }
    v.truncate(k);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn quotas_sum_to_budget_and_are_proportional(
            sizes in proptest::collection::vec(0usize..500, 1..12), frac in 0.0f64..1.0
        ) {
            let n: usize = sizes.iter().sum();
            let budget = (n as f64 * frac).round() as usize;
            let q = class_quotas(&sizes, budget);
            prop_assert_eq!(q.iter().sum::<usize>(), budget);
            for (c, (&qc, &s)) in q.iter().zip(&sizes).enumerate() {
                prop_assert!(qc <= s);
                let exact = budget as f64 * s as f64 / n.max(1) as f64;
                prop_assert!((qc as f64 - exact).abs() < 1.0 + 1e-9, "class {c}: {qc} vs {exact}");
            }
        }
    }

    #[test]
    fn top_k_with_offset() {
        let score = [0.1, 0.9, 0.5, 0.7, 0.3];
        assert_eq!(top_k(&[0, 1, 2, 3, 4], &score, 2, 0), [1, 3]);
        assert_eq!(top_k(&[0, 1, 2, 3, 4], &score, 2, 1), [3, 2]);
        // an offset past the end is clamped so k rows remain: the two lowest
        assert_eq!(top_k(&[0, 1, 2, 3, 4], &score, 2, 9), [4, 0]);
    }
}
