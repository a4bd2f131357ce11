//! The online pruners behind swast-core's [`Pruner`] contract.

use crate::distribution::{densities, kept_count};
use crate::mask::{drop_and_grow, global_top_keep, random_keep, shrink_keep};
use burn::optim::GradientsParams;
use swast_core::config::{Distribution, PrunerName};
use swast_core::model::{LayerInfo, Network, Role};
use swast_core::prune::{
    Density, MaskSet, PruneError, PruneInit, Pruner, Scope, Sparsity, grad_values, weight_values,
};
use swast_core::schedule::{Clock, Span, Tick};
use swast_data::SeededRng;

/// Which algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// RigL (Evci et al. 2020): random sparse mask at step 0, then every ΔT steps until
    /// T_end drop the smallest |w| and grow the largest |∇| (dense gradient), with a
    /// cosine-decayed update fraction; grown weights start at zero with zero momentum.
    Rigl,
    /// Static sparse training: a random mask at step 0, never changed.
    Random,
    /// One-shot magnitude pruning at `begin` (layer-wise per the distribution, or global).
    Magnitude,
    /// Gradual magnitude pruning (Zhu & Gupta 2017): the cubic schedule from `begin` to `end`,
    /// a mask update every ΔT steps.
    Gmp,
    /// SNIP (Lee et al. 2019): connection saliency |w ⊙ ∇| on the first batch, then fixed.
    Snip,
}

/// Everything a pruner needs to know.
#[derive(Debug, Clone, PartialEq)]
pub struct PruneSettings {
    /// Algorithm.
    pub algorithm: Algorithm,
    /// Which layers are masked.
    pub scope: Scope,
    /// Target sparsity of the backbone.
    pub backbone: Sparsity,
    /// Target sparsity of the classifier.
    pub classifier: Sparsity,
    /// Layer-wise distribution of the backbone's budget.
    pub distribution: Distribution,
    /// The clock `interval`, `begin` and `end` are read on.
    pub clock: Clock,
    /// Between mask updates: steps on the step clock, epochs on the epoch clock.
    pub interval: f64,
    /// RigL's update fraction α.
    pub drop_fraction: f64,
    /// Start of pruning, as a share of the run (on `clock`).
    pub begin: f64,
    /// End of mask updates, as a share of the run (on `clock`).
    pub end: f64,
    /// Global ranking across the layers of a role (magnitude, SNIP).
    pub global: bool,
    /// Scale kept initial weights by `1/√density` (masks drawn at step 0 only).
    pub scale_init: bool,
    /// Seed of the random masks.
    pub seed: u64,
}

impl PruneSettings {
    /// Settings from the `[prune]` config table.
    pub fn from_config(
        cfg: &swast_core::config::PruneConfig,
        scope: Scope,
        seed: u64,
    ) -> Result<Self, PruneError> {
        let err = |message: String| PruneError {
            pruner: cfg.method.as_str(),
            message,
        };
        let algorithm = match cfg.method {
            PrunerName::Rigl => Algorithm::Rigl,
            PrunerName::Random => Algorithm::Random,
            PrunerName::Magnitude => Algorithm::Magnitude,
            PrunerName::Gmp => Algorithm::Gmp,
            PrunerName::Snip => Algorithm::Snip,
            PrunerName::Probmask | PrunerName::ChannelL1 => {
                return Err(err(
                    "is not an online mask pruner: build it with swast_prune::build (probmask) or the trainer's structured pruning (channel-l1)"
                        .into(),
                ));
            }
        };
        let (backbone, classifier) = targets(cfg, cfg.method.as_str())?;
        Ok(Self {
            algorithm,
            scope,
            backbone,
            classifier,
            distribution: cfg.distribution,
            clock: cfg.clock,
            interval: interval_of(cfg),
            drop_fraction: cfg.drop_fraction,
            begin: cfg.begin,
            end: cfg.end,
            global: cfg.global,
            scale_init: cfg.scale_init,
            seed,
        })
    }
}

/// The backbone's and the classifier's target sparsity of a `[prune]` table, errors naming
/// `pruner` and the key.
pub(crate) fn targets(
    cfg: &swast_core::config::PruneConfig,
    pruner: &'static str,
) -> Result<(Sparsity, Sparsity), PruneError> {
    let parse = |key: &str, v: f64| {
        Sparsity::new(v).map_err(|e| PruneError {
            pruner,
            message: format!("{key}: {e}"),
        })
    };
    Ok((
        parse("prune.sparsity", cfg.sparsity)?,
        parse("prune.classifier_sparsity", cfg.classifier_sparsity)?,
    ))
}

/// ΔT of a `[prune]` table on its clock: `interval` steps or `interval_epochs` epochs.
pub(crate) fn interval_of(cfg: &swast_core::config::PruneConfig) -> f64 {
    match cfg.clock {
        Clock::Step => cfg.interval.max(1) as f64,
        Clock::Epoch => cfg.interval_epochs,
    }
}

/// Zhu & Gupta's cubic schedule: the share of the final sparsity reached at time `t` when
/// pruning runs from `t1` to `t2` (steps or epochs): `1 − (1 − (t − t1)/(t2 − t1))³`,
/// clamped to [0, 1].
pub fn cubic_progress(t: f64, t1: f64, t2: f64) -> f64 {
    if t <= t1 {
        return 0.0;
    }
    if t >= t2 || t2 <= t1 {
        return 1.0;
    }
    let p = (t - t1) / (t2 - t1);
    1.0 - (1.0 - p).powi(3)
}

/// RigL's cosine-decayed update fraction `α/2·(1 + cos(π·t/T_end))` (steps or epochs).
pub fn rigl_fraction(alpha: f64, t: f64, t_end: f64) -> f64 {
    if t >= t_end {
        return 0.0;
    }
    alpha / 2.0 * (1.0 + (std::f64::consts::PI * t / t_end).cos())
}

/// Whether a GMP-style schedule from `t1` to `t2` updates at the end of the step `span`:
/// the first step reaching `t1`, then every `every`, and the step reaching `t2`.
pub(crate) fn gmp_due(span: &Span, t1: f64, t2: f64, every: f64) -> bool {
    if span.steps {
        // step clock: after step t = step + 1, exactly as before issue 12
        let t = span.next;
        return t >= t1 && t <= t2 && ((t - t1) % every == 0.0 || t == t2);
    }
    span.next >= t1 && span.at < t2 && (span.hits(t1, every) || span.next >= t2)
}

/// An online pruner (see [`Algorithm`]).
pub struct OnlinePruner {
    s: PruneSettings,
    masks: Option<MaskSet>,
    /// Final density of each masked layer (MaskSet order).
    targets: Vec<Density>,
    /// The run's length on both clocks (from `init`).
    start: Tick,
    /// |∇| of each masked layer, captured at a RigL update step.
    pending_grads: Option<Vec<Vec<f32>>>,
    changed: bool,
}

impl std::fmt::Debug for OnlinePruner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnlinePruner")
            .field("settings", &self.s)
            .field("targets", &self.targets)
            .finish_non_exhaustive()
    }
}

impl OnlinePruner {
    /// A pruner with these settings.
    pub fn new(s: PruneSettings) -> Self {
        Self {
            s,
            masks: None,
            targets: vec![],
            start: Tick::start(0, 0),
            pending_grads: None,
            changed: false,
        }
    }

    /// The final density of each masked layer, in mask order.
    pub fn targets(&self) -> &[Density] {
        &self.targets
    }

    /// The point of the run at `share`, on the pruner's clock.
    fn point(&self, share: f64) -> f64 {
        self.start.span(self.s.clock).point(share)
    }

    fn is_rigl_update(&self, tick: Tick) -> bool {
        let span = tick.span(self.s.clock);
        span.hits(0.0, self.s.interval) && span.at < span.point(self.s.end)
    }

    fn masked_layers(&self) -> Vec<LayerInfo> {
        self.masks
            .as_ref()
            .map(|m| m.layers().iter().map(|l| l.info.clone()).collect())
            .unwrap_or_default()
    }

    /// Prunes every masked layer to `share` of its final sparsity by `score`, among the weights
    /// still kept (global ranking per role when asked).
    fn prune_by(&mut self, scores: &[Vec<f32>], share: f64) -> bool {
        let masks = self.masks.as_mut().expect("initialised");
        let kept_at = |n: usize, target: Density| {
            let s = target.sparsity().get() * share;
            kept_count(n, Sparsity::new(s).expect("in range").density())
        };
        let mut new: Vec<Vec<bool>> = masks.layers().iter().map(|l| l.keep().to_vec()).collect();
        if self.s.global {
            for role in [Role::Backbone, Role::Classifier] {
                let members: Vec<usize> = (0..new.len())
                    .filter(|&i| masks.layers()[i].info.role == role)
                    .collect();
                if members.is_empty() {
                    continue;
                }
                let total: usize = members
                    .iter()
                    .map(|&i| kept_at(masks.layers()[i].info.params, self.targets[i]))
                    .sum();
                let group: Vec<Vec<f32>> = members
                    .iter()
                    .map(|&i| {
                        let keep = masks.layers()[i].keep();
                        scores[i]
                            .iter()
                            .zip(keep)
                            .map(|(&s, &k)| if k { s } else { f32::NEG_INFINITY })
                            .collect()
                    })
                    .collect();
                for (j, keep) in global_top_keep(&group, total).into_iter().enumerate() {
                    new[members[j]] = keep;
                }
            }
        } else {
            for (i, l) in masks.layers().iter().enumerate() {
                let k = kept_at(l.info.params, self.targets[i]);
                new[i] = shrink_keep(l.keep(), &scores[i], k);
            }
        }
        let mut changed = false;
        for (i, keep) in new.into_iter().enumerate() {
            if keep != masks.layers()[i].keep() {
                masks.set(i, keep);
                changed = true;
            }
        }
        changed
    }

    fn magnitudes(&self, model: &Network) -> Vec<Vec<f32>> {
        let layers = self.masked_layers();
        let w = weight_values(model, &layers);
        layers
            .iter()
            .map(|l| w[&l.param_id].iter().map(|x| x.abs()).collect())
            .collect()
    }
}

impl Pruner for OnlinePruner {
    fn name(&self) -> &'static str {
        match self.s.algorithm {
            Algorithm::Rigl => "rigl",
            Algorithm::Random => "random",
            Algorithm::Magnitude => "magnitude",
            Algorithm::Gmp => "gmp",
            Algorithm::Snip => "snip",
        }
    }

    fn init(&mut self, model: &Network, init: &PruneInit<'_>) -> Result<(), PruneError> {
        let masks = MaskSet::dense(init.layers, self.s.scope, init.device);
        if masks.layers().is_empty() {
            return Err(PruneError {
                pruner: self.name(),
                message: format!(
                    "the model has no prunable layer in scope {:?}",
                    self.s.scope
                ),
            });
        }
        self.start = Tick::start(init.total_steps, init.epochs);
        let infos: Vec<&LayerInfo> = masks.layers().iter().map(|l| &l.info).collect();
        let backbone: Vec<&LayerInfo> = infos
            .iter()
            .copied()
            .filter(|l| l.role == Role::Backbone)
            .collect();
        let mut bb =
            densities(&backbone, self.s.backbone.density(), self.s.distribution).into_iter();
        self.targets = infos
            .iter()
            .map(|l| match l.role {
                Role::Backbone => bb.next().expect("one density per backbone layer"),
                Role::Classifier => self.s.classifier.density(),
            })
            .collect();
        self.masks = Some(masks);
        match self.s.algorithm {
            Algorithm::Rigl | Algorithm::Random => {
                let mut rng = SeededRng::stream(self.s.seed, "prune-init");
                let masks = self.masks.as_mut().expect("just set");
                for i in 0..masks.layers().len() {
                    let n = masks.layers()[i].info.params;
                    let keep = random_keep(n, kept_count(n, self.targets[i]), &mut rng);
                    masks.set(i, keep);
                }
            }
            Algorithm::Magnitude if self.point(self.s.begin) <= 0.0 => {
                let scores = self.magnitudes(model);
                self.prune_by(&scores, 1.0);
            }
            Algorithm::Magnitude | Algorithm::Gmp | Algorithm::Snip => {}
        }
        Ok(())
    }

    fn init_weight_scale(&self) -> Vec<(burn::module::ParamId, f32)> {
        let at_init = matches!(self.s.algorithm, Algorithm::Rigl | Algorithm::Random);
        match (&self.masks, at_init && self.s.scale_init) {
            (Some(m), true) => m
                .layers()
                .iter()
                .map(|l| (l.info.param_id, (1.0 / l.density().sqrt()) as f32))
                .collect(),
            _ => Vec::new(),
        }
    }

    fn after_backward(&mut self, tick: Tick, model: &Network, grads: &GradientsParams) {
        match self.s.algorithm {
            Algorithm::Rigl if self.is_rigl_update(tick) => {
                let layers = self.masked_layers();
                let g: Vec<Vec<f32>> = layers
                    .iter()
                    .map(|l| grad_values(grads, l).unwrap_or_else(|| vec![0.0; l.params]))
                    .collect();
                self.pending_grads = Some(g);
            }
            Algorithm::Snip if tick.step == 0 => {
                let layers = self.masked_layers();
                let w = weight_values(model, &layers);
                let scores: Vec<Vec<f32>> = layers
                    .iter()
                    .map(|l| {
                        let g = grad_values(grads, l).unwrap_or_else(|| vec![0.0; l.params]);
                        w[&l.param_id]
                            .iter()
                            .zip(&g)
                            .map(|(w, g)| (w * g).abs())
                            .collect()
                    })
                    .collect();
                self.changed = self.prune_by(&scores, 1.0);
            }
            _ => {}
        }
    }

    fn after_step(&mut self, tick: Tick, model: &Network) -> bool {
        let span = tick.span(self.s.clock);
        match self.s.algorithm {
            Algorithm::Rigl => {
                let Some(grads) = self.pending_grads.take() else {
                    return false;
                };
                let layers = self.masked_layers();
                let w = weight_values(model, &layers);
                let frac = rigl_fraction(self.s.drop_fraction, span.at, span.point(self.s.end));
                let masks = self.masks.as_mut().expect("initialised");
                let mut changed = false;
                for (i, l) in layers.iter().enumerate() {
                    let keep = masks.layers()[i].keep().to_vec();
                    let active = keep.iter().filter(|k| **k).count();
                    let k = (frac * active as f64).floor() as usize;
                    if k == 0 {
                        continue;
                    }
                    let new = drop_and_grow(&keep, &w[&l.param_id], &grads[i], k);
                    if new != keep {
                        masks.set(i, new);
                        changed = true;
                    }
                }
                changed
            }
            Algorithm::Magnitude => {
                let at = span.point(self.s.begin);
                if at > 0.0 && span.at < at && at <= span.next {
                    let scores = self.magnitudes(model);
                    return self.prune_by(&scores, 1.0);
                }
                false
            }
            Algorithm::Gmp => {
                let (t1, t2) = (span.point(self.s.begin), span.point(self.s.end));
                if !gmp_due(&span, t1, t2, self.s.interval) {
                    return false;
                }
                let scores = self.magnitudes(model);
                self.prune_by(&scores, cubic_progress(span.next.min(t2), t1, t2))
            }
            Algorithm::Snip => std::mem::take(&mut self.changed),
            Algorithm::Random => false,
        }
    }

    fn masks(&self) -> Option<&MaskSet> {
        self.masks.as_ref()
    }

    fn state_bytes(&self) -> Vec<u8> {
        self.masks
            .as_ref()
            .map(MaskSet::to_bytes)
            .unwrap_or_default()
    }

    fn load_state(&mut self, bytes: &[u8], layers: &[LayerInfo]) -> Result<(), PruneError> {
        let name = self.name();
        let err = |message: String| PruneError {
            pruner: name,
            message,
        };
        let masks = self
            .masks
            .as_mut()
            .ok_or_else(|| err("load_state before init".into()))?;
        masks.rekey(layers).map_err(err)?;
        masks.load_bytes(bytes).map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cubic_schedule_known_values() {
        // 1 − (1 − p)³: p = 0 → 0, 0.25 → 0.578125, 0.5 → 0.875, 0.75 → 0.984375, 1 → 1
        assert_eq!(cubic_progress(0.0, 0.0, 100.0), 0.0);
        assert!((cubic_progress(25.0, 0.0, 100.0) - 0.578125).abs() < 1e-12);
        assert!((cubic_progress(60.0, 10.0, 110.0) - 0.875).abs() < 1e-12);
        assert!((cubic_progress(75.0, 0.0, 100.0) - 0.984375).abs() < 1e-12);
        assert_eq!(cubic_progress(100.0, 0.0, 100.0), 1.0);
        assert_eq!(cubic_progress(5.0, 10.0, 110.0), 0.0);
        // epochs: 7.5 of a schedule from 0 to 10 epochs
        assert!((cubic_progress(7.5, 0.0, 10.0) - 0.984375).abs() < 1e-12);
    }

    #[test]
    fn rigl_fraction_decays_from_alpha_to_zero() {
        assert!((rigl_fraction(0.3, 0.0, 1000.0) - 0.3).abs() < 1e-12);
        assert!((rigl_fraction(0.3, 500.0, 1000.0) - 0.15).abs() < 1e-12);
        assert_eq!(rigl_fraction(0.3, 1000.0, 1000.0), 0.0);
        // epochs: T_end = 7.5 epochs, half-way at 3.75
        assert!((rigl_fraction(0.3, 3.75, 7.5) - 0.15).abs() < 1e-12);
    }
}
