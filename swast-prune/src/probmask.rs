//! ProbMask (Zhou et al., CVPR 2021): every prunable weight `wᵢ` has a keep probability
//! `sᵢ ∈ [0, 1]`; the training forward uses `w ⊙ m` with `m` a relaxed Bernoulli(s) sample
//! (Gumbel-sigmoid, temperature annealed exponentially), so the loss has a gradient in `s`;
//! `s` takes an Adam step after each optimizer step and is then projected onto the budget
//! `{0 ≤ s ≤ 1, Σ s ≤ K(t)}`. The budget shrinks with the cubic schedule
//! `K(t) = n·(d + (1 − d)(1 − (t − t₁)/(t₂ − t₁))³)` from all weights at `prune.begin` to
//! the target density `d` at `prune.end`, where the mask is fixed to the `K` most probable
//! weights and the pruned weights are zeroed for the rest of the run.
//!
//! The constraint is global over the backbone's layers (no per-layer distribution: ProbMask
//! learns it); the classifier is a budget group of its own, at `prune.classifier_sparsity`,
//! as SWaST-cut fixes it. Before the mask is fixed, evaluation and probe passes use the
//! current hard mask (the `K(t)` most probable weights), which is also what the run's
//! sparsity and FLOP accounting reads.

use crate::mask::global_top_keep;
use crate::settings::cubic_progress;
use burn::module::ParamId;
use burn::tensor::{Device, Gradients, Tensor, TensorData};
use swast_core::config::PruneConfig;
use swast_core::model::{LayerInfo, Role};
use swast_core::prune::{MaskSet, PruneError, PruneInit, Pruner, Scope, Sparsity, WeightSource};
use swast_core::schedule::{Clock, Tick};
use swast_data::SeededRng;

/// ProbMask's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbMaskSettings {
    /// Which layers are masked.
    pub scope: Scope,
    /// Target sparsity of the backbone (one global budget over its layers).
    pub backbone: Sparsity,
    /// Target sparsity of the classifier (a budget of its own).
    pub classifier: Sparsity,
    /// The clock `interval`, `begin` and `end` are read on.
    pub clock: Clock,
    /// Between refreshes of the hard mask used for evaluation and accounting: steps on the
    /// step clock, epochs on the epoch clock.
    pub interval: f64,
    /// Start of the budget schedule, as a share of the run (on `clock`).
    pub begin: f64,
    /// End of the schedule, where the mask is fixed, as a share of the run (on `clock`).
    pub end: f64,
    /// Adam learning rate of the keep probabilities.
    pub score_lr: f64,
    /// Gumbel-sigmoid temperature at `begin` and at `end`.
    pub temperature: (f64, f64),
    /// Seed of the Gumbel noise.
    pub seed: u64,
}

impl ProbMaskSettings {
    /// Settings from the `[prune]` table.
    pub fn from_config(cfg: &PruneConfig, scope: Scope, seed: u64) -> Result<Self, PruneError> {
        let o = crate::settings::PruneOptions::of(cfg)?;
        let (backbone, classifier) = crate::settings::targets(cfg, "probmask")?;
        Ok(Self {
            scope,
            backbone,
            classifier,
            clock: cfg.clock,
            interval: crate::settings::interval_of(cfg),
            begin: cfg.begin,
            end: cfg.end,
            score_lr: o.score_lr,
            temperature: (o.temperature_start, o.temperature_end),
            seed,
        })
    }
}

const EPS: f32 = 1e-6;
const ADAM: (f32, f32, f32) = (0.9, 0.999, 1e-8);

/// The ProbMask pruner.
pub struct ProbMask {
    s: ProbMaskSettings,
    masks: Option<MaskSet>,
    /// Keep probabilities, one vector per masked layer (mask order).
    scores: Vec<Vec<f32>>,
    /// Adam moments of the scores.
    moment1: Vec<Vec<f32>>,
    moment2: Vec<Vec<f32>>,
    /// Adam steps taken.
    adam_steps: u64,
    /// The run's length on both clocks (from `init`).
    start: Tick,
    fixed: bool,
    device: Option<Device>,
    /// The autodiff score tensors of the step in flight.
    in_flight: Vec<Tensor<1>>,
    /// Their gradients, read after backward.
    pending: Option<Vec<Vec<f32>>>,
}

impl std::fmt::Debug for ProbMask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProbMask")
            .field("settings", &self.s)
            .field("fixed", &self.fixed)
            .finish_non_exhaustive()
    }
}

impl ProbMask {
    /// A ProbMask pruner with these settings.
    pub fn new(s: ProbMaskSettings) -> Self {
        Self {
            s,
            masks: None,
            scores: vec![],
            moment1: vec![],
            moment2: vec![],
            adam_steps: 0,
            start: Tick::start(0, 0),
            fixed: false,
            device: None,
            in_flight: vec![],
            pending: None,
        }
    }

    /// The keep probabilities, one vector per masked layer.
    pub fn scores(&self) -> &[Vec<f32>] {
        &self.scores
    }

    /// Whether the mask is fixed (the schedule ended).
    pub fn is_fixed(&self) -> bool {
        self.fixed
    }

    /// The schedule's start and end on the pruner's clock.
    fn window(&self) -> (f64, f64) {
        let span = self.start.span(self.s.clock);
        (span.point(self.s.begin), span.point(self.s.end))
    }

    /// The budget groups: the masked layers of each role, with their target sparsity.
    fn groups(&self) -> Vec<(Vec<usize>, Sparsity)> {
        let Some(m) = &self.masks else {
            return vec![];
        };
        [
            (Role::Backbone, self.s.backbone),
            (Role::Classifier, self.s.classifier),
        ]
        .into_iter()
        .map(|(role, sp)| {
            let members = (0..m.layers().len())
                .filter(|&i| m.layers()[i].info.role == role)
                .collect::<Vec<_>>();
            (members, sp)
        })
        .filter(|(m, _)| !m.is_empty())
        .collect()
    }

    /// The group budget `K(t)` (weights kept) at time `t` of the pruner's clock (steps or
    /// epochs).
    pub fn budget(&self, n: usize, target: Sparsity, t: f64) -> usize {
        let (t1, t2) = self.window();
        let sparsity = target.get() * cubic_progress(t, t1, t2);
        ((1.0 - sparsity) * n as f64).round() as usize
    }

    fn temperature(&self, t: f64) -> f64 {
        let (t1, t2) = self.window();
        let p = if t2 <= t1 {
            1.0
        } else {
            ((t - t1).max(0.0) / (t2 - t1)).clamp(0.0, 1.0)
        };
        let (a, b) = self.s.temperature;
        a * (b / a).powf(p)
    }

    /// Sets the hard masks to the `K(t)` most probable weights of each group.
    fn refresh_hard(&mut self, t: f64) -> bool {
        let mut changed = false;
        for (members, target) in self.groups() {
            let masks = self.masks.as_ref().expect("initialised");
            let n: usize = members.iter().map(|&i| masks.layers()[i].info.params).sum();
            let k = self.budget(n, target, t);
            let group: Vec<Vec<f32>> = members.iter().map(|&i| self.scores[i].clone()).collect();
            let keeps = global_top_keep(&group, k);
            let masks = self.masks.as_mut().expect("initialised");
            for (j, keep) in keeps.into_iter().enumerate() {
                if keep != masks.layers()[members[j]].keep() {
                    masks.set(members[j], keep);
                    changed = true;
                }
            }
        }
        changed
    }

    /// Adam step on the scores with `grads`, then the projection onto each group's budget.
    fn update_scores(&mut self, grads: &[Vec<f32>], t: f64) {
        self.adam_steps += 1;
        let (b1, b2, eps) = ADAM;
        let c1 = 1.0 - b1.powi(self.adam_steps.min(i32::MAX as u64) as i32);
        let c2 = 1.0 - b2.powi(self.adam_steps.min(i32::MAX as u64) as i32);
        let lr = self.s.score_lr as f32;
        for (i, g) in grads.iter().enumerate() {
            let (s, m, v) = (
                &mut self.scores[i],
                &mut self.moment1[i],
                &mut self.moment2[i],
            );
            for j in 0..s.len() {
                let gj = if g[j].is_finite() { g[j] } else { 0.0 };
                m[j] = b1 * m[j] + (1.0 - b1) * gj;
                v[j] = b2 * v[j] + (1.0 - b2) * gj * gj;
                s[j] -= lr * (m[j] / c1) / ((v[j] / c2).sqrt() + eps);
            }
        }
        for (members, target) in self.groups() {
            let masks = self.masks.as_ref().expect("initialised");
            let n: usize = members.iter().map(|&i| masks.layers()[i].info.params).sum();
            let k = self.budget(n, target, t) as f64;
            let mut group: Vec<&mut Vec<f32>> = Vec::new();
            for (i, s) in self.scores.iter_mut().enumerate() {
                if members.contains(&i) {
                    group.push(s);
                }
            }
            project(&mut group, k);
        }
    }
}

/// Projects `s` onto `{0 ≤ s ≤ 1, Σ s ≤ k}`: clamp to [0, 1]; when the sum still exceeds
/// `k`, subtract the `v > 0` with `Σ clamp(s − v, 0, 1) = k` (found by bisection).
pub fn project(s: &mut [&mut Vec<f32>], k: f64) {
    for x in s.iter_mut().flat_map(|v| v.iter_mut()) {
        *x = x.clamp(0.0, 1.0);
    }
    let sum = |v: f64, s: &[&mut Vec<f32>]| -> f64 {
        s.iter()
            .flat_map(|x| x.iter())
            .map(|&x| (x as f64 - v).clamp(0.0, 1.0))
            .sum()
    };
    if sum(0.0, s) <= k {
        return;
    }
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..50 {
        let mid = 0.5 * (lo + hi);
        if sum(mid, s) > k {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    for x in s.iter_mut().flat_map(|v| v.iter_mut()) {
        *x = (*x - hi as f32).clamp(0.0, 1.0);
    }
}

impl Pruner for ProbMask {
    fn name(&self) -> &'static str {
        "probmask"
    }

    fn init(&mut self, _model: &dyn WeightSource, init: &PruneInit<'_>) -> Result<(), PruneError> {
        let masks = MaskSet::dense(init.layers, self.s.scope, init.device);
        if masks.layers().is_empty() {
            return Err(PruneError {
                pruner: "probmask",
                message: format!(
                    "the model has no prunable layer in scope {:?}",
                    self.s.scope
                ),
            });
        }
        self.start = Tick::start(init.total_steps, init.epochs);
        self.device = Some(init.device.clone());
        // every weight starts certain to be kept, as in the paper
        self.scores = masks
            .layers()
            .iter()
            .map(|l| vec![1.0; l.info.params])
            .collect();
        self.moment1 = self.scores.iter().map(|s| vec![0.0; s.len()]).collect();
        self.moment2 = self.moment1.clone();
        self.masks = Some(masks);
        if self.window().1 <= 0.0 {
            // nothing to learn: fix the mask at once
            self.refresh_hard(0.0);
            self.fixed = true;
        }
        Ok(())
    }

    fn masks(&self) -> Option<&MaskSet> {
        self.masks.as_ref()
    }

    fn enforces_masks(&self) -> bool {
        self.fixed
    }

    fn train_factors(&mut self, tick: Tick) -> Option<Vec<(ParamId, Tensor<1>)>> {
        let step = tick.step;
        if self.fixed {
            return None;
        }
        let masks = self.masks.as_ref()?;
        let device = self.device.clone()?.autodiff();
        let tau = self.temperature(tick.span(self.s.clock).at) as f32;
        // the noise of step t is a stream of its own: a resumed run draws the same
        let mut rng = SeededRng::stream(
            self.s.seed ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            "probmask",
        );
        let mut attached = Vec::new();
        self.in_flight.clear();
        for (i, l) in masks.layers().iter().enumerate() {
            let n = l.info.params;
            let s = Tensor::<1>::from_data(TensorData::new(self.scores[i].clone(), [n]), &device)
                .require_grad();
            // logistic noise log u − log(1 − u)
            let noise: Vec<f32> = (0..n)
                .map(|_| {
                    let u = (rng.unit_f64() as f32).clamp(EPS, 1.0 - EPS);
                    u.ln() - (1.0 - u).ln()
                })
                .collect();
            let noise = Tensor::<1>::from_data(TensorData::new(noise, [n]), &device);
            let sc = s.clone().clamp(EPS, 1.0 - EPS);
            let logit = sc.clone().log() - sc.neg().add_scalar(1.0).log();
            let m = burn::tensor::activation::sigmoid((logit + noise).div_scalar(tau));
            attached.push((l.info.param_id, m));
            self.in_flight.push(s);
        }
        Some(attached)
    }

    fn eval_masks(&self) -> Option<&MaskSet> {
        if self.fixed {
            return None;
        }
        self.masks.as_ref()
    }

    fn after_backward_raw(&mut self, _tick: Tick, grads: &Gradients) {
        let g: Vec<Vec<f32>> = self
            .in_flight
            .drain(..)
            .zip(&self.scores)
            .map(|(s, sc)| match s.grad(grads) {
                Some(g) => g.into_data().iter::<f32>().collect(),
                None => vec![0.0; sc.len()],
            })
            .collect();
        self.pending = Some(g);
    }

    fn after_step(&mut self, tick: Tick, _model: &dyn WeightSource) -> bool {
        if self.fixed {
            return false;
        }
        let span = tick.span(self.s.clock);
        let t = span.next;
        if let Some(g) = self.pending.take() {
            self.update_scores(&g, t);
        }
        if t >= self.window().1 {
            self.refresh_hard(t);
            self.fixed = true;
            // the trainer now zeroes the pruned weights and their momentum
            return true;
        }
        let due = if span.steps {
            t % self.s.interval == 0.0
        } else {
            span.hits(0.0, self.s.interval)
        };
        if due {
            return self.refresh_hard(t);
        }
        false
    }

    fn state_bytes(&self) -> Vec<u8> {
        let mut b = Vec::new();
        b.push(u8::from(self.fixed));
        b.extend_from_slice(&self.adam_steps.to_le_bytes());
        let masks = self
            .masks
            .as_ref()
            .map(MaskSet::to_bytes)
            .unwrap_or_default();
        b.extend_from_slice(&(masks.len() as u64).to_le_bytes());
        b.extend_from_slice(&masks);
        for set in [&self.scores, &self.moment1, &self.moment2] {
            for v in set.iter() {
                b.extend_from_slice(&(v.len() as u64).to_le_bytes());
                for x in v {
                    b.extend_from_slice(&x.to_le_bytes());
                }
            }
        }
        b
    }

    fn load_state(&mut self, bytes: &[u8], layers: &[LayerInfo]) -> Result<(), PruneError> {
        let err = |message: String| PruneError {
            pruner: "probmask",
            message,
        };
        let mut r = Reader(bytes);
        let fixed = r.take(1).ok_or_else(|| err("state truncated".into()))?[0] == 1;
        let adam_steps = r.u64().ok_or_else(|| err("state truncated".into()))?;
        let mlen = r.u64().ok_or_else(|| err("state truncated".into()))? as usize;
        let mbytes = r.take(mlen).ok_or_else(|| err("state truncated".into()))?;
        let masks = self
            .masks
            .as_mut()
            .ok_or_else(|| err("load_state before init".into()))?;
        masks.rekey(layers).map_err(err)?;
        masks.load_bytes(mbytes).map_err(err)?;
        let sizes: Vec<usize> = self.scores.iter().map(Vec::len).collect();
        let mut sets = Vec::new();
        for _ in 0..3 {
            let mut set = Vec::new();
            for &n in &sizes {
                let len = r.u64().ok_or_else(|| err("state truncated".into()))? as usize;
                if len != n {
                    return Err(err(format!(
                        "a layer has {len} scores, the model {n} weights"
                    )));
                }
                let raw = r.take(4 * n).ok_or_else(|| err("state truncated".into()))?;
                set.push(
                    raw.chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                        .collect::<Vec<f32>>(),
                );
            }
            sets.push(set);
        }
        if !r.0.is_empty() {
            return Err(err("trailing bytes in the state".into()));
        }
        self.moment2 = sets.pop().expect("three sets");
        self.moment1 = sets.pop().expect("three sets");
        self.scores = sets.pop().expect("three sets");
        self.fixed = fixed;
        self.adam_steps = adam_steps;
        Ok(())
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_meets_the_budget_and_keeps_the_order() {
        let mut a = vec![1.0, 0.9, 0.2, 1.4];
        let mut b = vec![0.5, -0.3];
        project(&mut [&mut a, &mut b], 2.0);
        let all: Vec<f32> = a.iter().chain(&b).copied().collect();
        let sum: f32 = all.iter().sum();
        assert!((sum - 2.0).abs() < 1e-4, "{all:?}");
        assert!(all.iter().all(|x| (0.0..=1.0).contains(x)));
        // the ranking survives: 1.4 and 1.0 (both clamped to 1) ≥ 0.9 ≥ 0.5 ≥ 0.2
        assert!(a[0] >= a[1] && a[1] >= b[0] && b[0] >= a[2]);
        // under the budget nothing but the clamp happens
        let mut c = vec![0.3, 1.2];
        project(&mut [&mut c], 5.0);
        assert_eq!(c, vec![0.3, 1.0]);
    }
}
