//! Layer-wise sparsity distributions: uniform (first layer dense), Erdős–Rényi and
//! Erdős–Rényi-Kernel (Evci et al. 2020), with RigL's redistribution when a layer's density
//! would exceed 1.

use crate::settings::Distribution;
use swast_core::model::{LayerInfo, LayerKind};
use swast_core::prune::Density;

/// Fan-in/fan-out (and kernel) dimensions a distribution weighs a layer by.
fn dims(l: &LayerInfo, with_kernel: bool) -> Vec<usize> {
    match l.kind {
        // conv weight [out, in/groups, kh, kw]
        LayerKind::Conv if with_kernel => l.shape.clone(),
        LayerKind::Conv => l.shape[..2].to_vec(),
        // linear weight [in, out]
        LayerKind::Linear => l.shape.clone(),
    }
}

/// Per-layer densities whose parameter-weighted mean is `target` (up to rounding), for the
/// layers given (in forward order).
///
/// - `Uniform`: every layer at `target`, except the first, which stays dense (as in RigL);
///   with a single layer, that layer is at `target`.
/// - `Er` / `Erk`: density ∝ `Σdims / Πdims` (ER ignores kernel sizes), scaled so the total
///   matches; a layer whose density would exceed 1 is made dense and the scale recomputed.
pub fn densities(layers: &[&LayerInfo], target: Density, dist: Distribution) -> Vec<Density> {
    let t = target.get();
    if layers.is_empty() {
        return vec![];
    }
    let clamp = |d: f64| Density::new(d.clamp(f64::MIN_POSITIVE, 1.0)).expect("in (0, 1]");
    match dist {
        Distribution::Uniform => layers
            .iter()
            .enumerate()
            .map(|(i, _)| {
                if i == 0 && layers.len() > 1 {
                    Density::ONE
                } else {
                    target
                }
            })
            .collect(),
        Distribution::Er | Distribution::Erk => {
            let with_kernel = dist == Distribution::Erk;
            let raw: Vec<f64> = layers
                .iter()
                .map(|l| {
                    let d = dims(l, with_kernel);
                    d.iter().sum::<usize>() as f64 / d.iter().product::<usize>() as f64
                })
                .collect();
            let mut dense = vec![false; layers.len()];
            loop {
                let (mut rhs, mut divisor) = (0.0, 0.0);
                for (i, l) in layers.iter().enumerate() {
                    let n = l.params as f64;
                    if dense[i] {
                        rhs -= n * (1.0 - t);
                    } else {
                        rhs += n * t;
                        divisor += raw[i] * n;
                    }
                }
                if divisor == 0.0 {
                    // every layer dense: only possible at target 1
                    return layers.iter().map(|_| Density::ONE).collect();
                }
                let eps = rhs / divisor;
                let max_raw = (0..layers.len())
                    .filter(|&i| !dense[i])
                    .map(|i| raw[i])
                    .fold(f64::MIN, f64::max);
                if max_raw * eps > 1.0 {
                    for i in 0..layers.len() {
                        if !dense[i] && raw[i] == max_raw {
                            dense[i] = true;
                        }
                    }
                } else {
                    return (0..layers.len())
                        .map(|i| {
                            if dense[i] {
                                Density::ONE
                            } else {
                                clamp(eps * raw[i])
                            }
                        })
                        .collect();
                }
            }
        }
    }
}

/// Number of weights kept in a layer of `n` weights at `density`: `n − round(sparsity·n)`,
/// at least one.
pub fn kept_count(n: usize, density: Density) -> usize {
    let zeros = (density.sparsity().get() * n as f64).round() as usize;
    n.saturating_sub(zeros).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::ParamId;
    use swast_core::model::Role;

    fn conv(co: usize, ci: usize, k: usize) -> LayerInfo {
        LayerInfo {
            name: String::new(),
            kind: LayerKind::Conv,
            role: Role::Backbone,
            param_id: ParamId::new(),
            shape: vec![co, ci, k, k],
            params: co * ci * k * k,
            flops: 0,
        }
    }

    /// The 20 backbone convolutions of CIFAR ResNet-18 in forward order (stem, then per
    /// block conv1, conv2 and the projection shortcut where there is one).
    fn resnet18_backbone() -> Vec<LayerInfo> {
        let mut v = vec![conv(64, 3, 3)];
        let mut cin = 64;
        for w in [64, 128, 256, 512] {
            for _ in 0..2 {
                v.push(conv(w, cin, 3));
                v.push(conv(w, w, 3));
                if cin != w {
                    v.push(conv(w, cin, 1));
                }
                cin = w;
            }
        }
        v
    }

    #[test]
    fn erk_resnet18_at_90_percent_known_answer() {
        // Independent computation (python, RigL's sparse_utils ERK loop):
        //   raw = sum(shape)/prod(shape); rhs = Σ_nondense n·d − Σ_dense n·(1−d);
        //   eps = rhs / Σ_nondense raw·n; make the max-raw layers dense while eps·max > 1.
        // at d = 0.1 gives (rounded to 6 places):
        let want = [
            1.0, 0.481748, 0.481748, 0.481748, 0.481748, 0.355918, 0.235481, 1.0, 0.235481,
            0.235481, 0.175263, 0.116392, 1.0, 0.116392, 0.116392, 0.086957, 0.057859, 0.77857,
            0.057859, 0.057859,
        ];
        let layers = resnet18_backbone();
        let refs: Vec<&LayerInfo> = layers.iter().collect();
        let d = densities(&refs, Density::new(0.1).unwrap(), Distribution::Erk);
        assert_eq!(d.len(), want.len());
        for (i, (got, w)) in d.iter().zip(want).enumerate() {
            assert!(
                (got.get() - w).abs() < 5e-7,
                "layer {i}: {} vs {w}",
                got.get()
            );
        }
        let total: f64 = layers.iter().map(|l| l.params as f64).sum();
        let kept: f64 = layers
            .iter()
            .zip(&d)
            .map(|(l, d)| l.params as f64 * d.get())
            .sum();
        assert!((kept / total - 0.1).abs() < 1e-12);
    }

    #[test]
    fn uniform_keeps_the_first_layer_dense() {
        let layers = resnet18_backbone();
        let refs: Vec<&LayerInfo> = layers.iter().collect();
        let d = densities(&refs, Density::new(0.3).unwrap(), Distribution::Uniform);
        assert_eq!(d[0], Density::ONE);
        assert!(d[1..].iter().all(|x| *x == Density::new(0.3).unwrap()));
        let one = densities(
            &refs[..1],
            Density::new(0.3).unwrap(),
            Distribution::Uniform,
        );
        assert_eq!(one, [Density::new(0.3).unwrap()]);
    }

    #[test]
    fn kept_count_rounds_zeros() {
        // 10 weights at 25% sparsity: round(2.5) = 3 zeros (round half away from zero)
        assert_eq!(kept_count(10, Density::new(0.75).unwrap()), 7);
        assert_eq!(kept_count(5130, Density::new(0.1).unwrap()), 513);
        assert_eq!(kept_count(3, Density::new(0.01).unwrap()), 1);
    }
}
