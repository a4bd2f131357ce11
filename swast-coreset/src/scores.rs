//! Per-sample scores from a probe pass. Every score follows the contract "higher = keep"
//! and says which samples that favours.

use swast_core::probe::Probe;

/// EL2N (Paul et al. 2021): `‖softmax(z) − onehot(y)‖₂`, high for hard or mislabeled
/// samples. Higher = harder.
pub fn el2n(p: &Probe) -> Vec<f32> {
    (0..p.len())
        .map(|r| p.error(r).iter().map(|e| e * e).sum::<f32>().sqrt())
        .collect()
}

/// GraNd, last-layer approximation: the norm of the analytic last-layer gradient,
/// `‖e‖·√(‖h‖² + 1)`. Higher = larger gradient.
pub fn grand(p: &Probe) -> Vec<f32> {
    (0..p.len())
        .map(|r| {
            let e2: f32 = p.error(r).iter().map(|e| e * e).sum();
            let h2: f32 = p.feature(r).iter().map(|h| h * h).sum();
            (e2 * (h2 + 1.0)).sqrt()
        })
        .collect()
}

/// Uncertainty measures (higher = less certain); config spelling `least-confidence`,
/// `margin`, `entropy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Uncertainty {
    /// `1 − max p`.
    LeastConfidence,
    /// `1 − (p₁ − p₂)`, the gap between the two most probable classes.
    Margin,
    /// `−Σ p log p`.
    Entropy,
}

/// Uncertainty scores of the model's predictions.
pub fn uncertainty(p: &Probe, kind: Uncertainty) -> Vec<f32> {
    (0..p.len())
        .map(|r| {
            let pr = p.prob(r);
            match kind {
                Uncertainty::LeastConfidence => 1.0 - pr.iter().copied().fold(0.0, f32::max),
                Uncertainty::Margin => {
                    let (mut a, mut b) = (0.0f32, 0.0f32);
                    for &v in pr {
                        if v > a {
                            b = a;
                            a = v;
                        } else if v > b {
                            b = v;
                        }
                    }
                    1.0 - (a - b)
                }
                Uncertainty::Entropy => -pr
                    .iter()
                    .filter(|v| **v > 0.0)
                    .map(|v| v * v.ln())
                    .sum::<f32>(),
            }
        })
        .collect()
}

/// Distance of each sample's features to the coordinate-wise median of its class's features
/// (Moderate-DS, Xia et al. 2023).
pub fn median_distance(p: &Probe) -> Vec<f32> {
    let f = p.feature_dim;
    let mut dist = vec![0.0; p.len()];
    for c in 0..p.classes {
        let rows = p.rows_of_class(c);
        if rows.is_empty() {
            continue;
        }
        let median: Vec<f32> = (0..f)
            .map(|d| {
                let mut v: Vec<f32> = rows.iter().map(|&r| p.feature(r)[d]).collect();
                v.sort_by(f32::total_cmp);
                let m = v.len();
                if m % 2 == 1 {
                    v[m / 2]
                } else {
                    0.5 * (v[m / 2 - 1] + v[m / 2])
                }
            })
            .collect();
        for &r in &rows {
            dist[r] = p
                .feature(r)
                .iter()
                .zip(&median)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f32>()
                .sqrt();
        }
    }
    dist
}

/// Forgetting events (Toneva et al. 2019), fed by the trainer with per-sample correctness
/// each time a sample is trained on.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct ForgettingStats {
    /// Correctness at the last presentation (None = never presented).
    pub last: Vec<Option<bool>>,
    /// Forgetting events: correct at one presentation, wrong at the next.
    pub forgets: Vec<u32>,
    /// Classified correctly at least once.
    pub learned: Vec<bool>,
}

impl ForgettingStats {
    /// Records one batch.
    pub fn observe(&mut self, indices: &[usize], correct: &[bool]) {
        let need = indices.iter().copied().max().map_or(0, |m| m + 1);
        if self.last.len() < need {
            self.last.resize(need, None);
            self.forgets.resize(need, 0);
            self.learned.resize(need, false);
        }
        for (&i, &ok) in indices.iter().zip(correct) {
            if self.last[i] == Some(true) && !ok {
                self.forgets[i] += 1;
            }
            self.last[i] = Some(ok);
            self.learned[i] |= ok;
        }
    }

    /// Scores for the samples `0..n`: the number of forgetting events, with never-learned
    /// samples (including never-presented ones) ranked first (`+∞`).
    pub fn scores(&self, n: usize) -> Vec<f32> {
        (0..n).map(|i| self.score_of(i)).collect()
    }

    /// [`Self::scores`] of the dataset indices `indices`, in their order (a probe's rows).
    pub fn scores_of(&self, indices: &[usize]) -> Vec<f32> {
        indices.iter().map(|&i| self.score_of(i)).collect()
    }

    fn score_of(&self, i: usize) -> f32 {
        if self.learned.get(i).copied().unwrap_or(false) {
            self.forgets[i] as f32
        } else {
            f32::INFINITY
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two samples, 3 classes, features of width 2.
    pub(crate) fn probe() -> Probe {
        Probe {
            indices: vec![0, 1],
            labels: vec![0, 2],
            classes: 3,
            feature_dim: 2,
            probs: vec![0.7, 0.2, 0.1, 0.5, 0.3, 0.2],
            features: vec![1.0, 2.0, 0.0, 3.0],
            loss: vec![0.0; 2],
            correct: vec![true, false],
            flops: 0.0,
        }
    }

    #[test]
    fn el2n_grand_uncertainty_known_values() {
        let p = probe();
        // sample 0: e = [-0.3, 0.2, 0.1] → ‖e‖ = √0.14; sample 1: e = [0.5, 0.3, -0.8] → √0.98
        let s = el2n(&p);
        assert!((s[0] - 0.14f32.sqrt()).abs() < 1e-6 && (s[1] - 0.98f32.sqrt()).abs() < 1e-6);
        // GraNd: ‖e‖·√(‖h‖²+1): √0.14·√6 and √0.98·√10
        let g = grand(&p);
        assert!((g[0] - (0.14f32 * 6.0).sqrt()).abs() < 1e-6);
        assert!((g[1] - (0.98f32 * 10.0).sqrt()).abs() < 1e-6);
        let lc = uncertainty(&p, Uncertainty::LeastConfidence);
        assert!((lc[0] - 0.3).abs() < 1e-6 && (lc[1] - 0.5).abs() < 1e-6);
        let m = uncertainty(&p, Uncertainty::Margin);
        assert!((m[0] - 0.5).abs() < 1e-6 && (m[1] - 0.8).abs() < 1e-6);
        let h = uncertainty(&p, Uncertainty::Entropy);
        let want0 = -(0.7f32 * 0.7f32.ln() + 0.2 * 0.2f32.ln() + 0.1 * 0.1f32.ln());
        assert!((h[0] - want0).abs() < 1e-6);
    }

    #[test]
    fn forgetting_counts_known_sequence() {
        // sample 0: ✓ ✗ ✓ ✗ → 2 forgets; sample 1: ✗ ✗ → never learned (∞);
        // sample 2: ✗ ✓ ✓ → 0 forgets; sample 3: never presented (∞)
        let mut f = ForgettingStats::default();
        f.observe(&[0, 1, 2], &[true, false, false]);
        f.observe(&[0, 1, 2], &[false, false, true]);
        f.observe(&[2, 0], &[true, true]);
        f.observe(&[0], &[false]);
        let s = f.scores(4);
        assert_eq!(s[0], 2.0);
        assert_eq!(s[1], f32::INFINITY);
        assert_eq!(s[2], 0.0);
        assert_eq!(s[3], f32::INFINITY);
    }

    #[test]
    fn median_distance_known_values() {
        // one class, features (0,0), (1,0), (10,0): median (1,0) → distances 1, 0, 9
        let p = Probe {
            indices: vec![0, 1, 2],
            labels: vec![0, 0, 0],
            classes: 1,
            feature_dim: 2,
            probs: vec![1.0; 3],
            features: vec![0.0, 0.0, 1.0, 0.0, 10.0, 0.0],
            loss: vec![0.0; 3],
            correct: vec![true; 3],
            flops: 0.0,
        };
        assert_eq!(median_distance(&p), [1.0, 0.0, 9.0]);
    }
}
