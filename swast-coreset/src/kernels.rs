//! Inner loops of the selectors, written so the compiler vectorizes them: sums kept in
//! eight independent lanes (added up in a fixed order at the end), so they run at SIMD width
//! instead of one add per cycle of latency, and give the same bits on every machine.

const LANES: usize = 8;

/// Runs `op` compiled with AVX2 enabled where the CPU has it (pulp's run-time dispatch),
/// else as it is. The eight lanes of [`lane_sum`] then take one 8-wide vector instead of
/// two 4-wide ones: the same operations in the same order (nothing fused), so the same bits.
pub(crate) fn vectorized<Op: pulp::NullaryFnOnce>(op: Op) -> Op::Output {
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = pulp::x86::V3::try_new() {
        return simd.vectorize(op);
    }
    op.call()
}

/// `Σ_i f(a_i, b_i)` over equal-length slices, in eight lanes.
#[inline(always)]
fn lane_sum(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0f32; LANES];
    let (ac, ar) = a.split_at(a.len() - a.len() % LANES);
    let (bc, br) = b.split_at(ac.len());
    for (x, y) in ac.chunks_exact(LANES).zip(bc.chunks_exact(LANES)) {
        for l in 0..LANES {
            acc[l] += f(x[l], y[l]);
        }
    }
    for (l, (&x, &y)) in ar.iter().zip(br).enumerate() {
        acc[l] += f(x, y);
    }
    let h = [
        acc[0] + acc[4],
        acc[1] + acc[5],
        acc[2] + acc[6],
        acc[3] + acc[7],
    ];
    (h[0] + h[2]) + (h[1] + h[3])
}

/// `Σ_i max(0, (c − d_i) − b_i)`: a facility-location gain.
#[inline(always)]
pub(crate) fn gain(d: &[f32], best: &[f32], c: f32) -> f32 {
    lane_sum(d, best, |dij, b| ((c - dij) - b).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_sums_match_plain_sums_on_exact_values() {
        // small integers: every order of summation gives the exact result
        for n in [0usize, 1, 7, 8, 9, 16, 23, 84] {
            let a: Vec<f32> = (0..n).map(|i| (i % 5) as f32 - 2.0).collect();
            let b: Vec<f32> = (0..n).map(|i| (i % 3) as f32).collect();
            let plain: f32 = a
                .iter()
                .zip(&b)
                .map(|(d, b)| ((3.0 - d) - b).max(0.0))
                .sum();
            assert_eq!(gain(&a, &b, 3.0), plain, "n = {n}");
        }
    }

    #[test]
    fn lane_sums_are_close_to_f64_sums() {
        let mut r = swast_data::SeededRng::new(3);
        let d: Vec<f32> = (0..1000).map(|_| r.unit_f64() as f32).collect();
        let b: Vec<f32> = (0..1000).map(|_| r.unit_f64() as f32 * 0.5).collect();
        let exact: f64 = d
            .iter()
            .zip(&b)
            .map(|(d, b)| ((1.0 - f64::from(*d)) - f64::from(*b)).max(0.0))
            .sum();
        let got = f64::from(gain(&d, &b, 1.0));
        assert!((got - exact).abs() < 1e-3, "{got} vs {exact}");
    }
}
