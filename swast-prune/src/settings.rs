//! The `[prune]` keys the mask pruners share, parsed and validated once, and the schedule
//! functions they use.

use serde::{Deserialize, Serialize};
use swast_core::config::{
    Config, ConfigError, PluginSchema, PluginTable, PruneConfig, fraction_in, plugin_settings,
};
use swast_core::prune::{PruneError, Scope, Sparsity};
use swast_core::schedule::{Clock, Span};

/// Layer-wise sparsity distributions (`prune.distribution`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Distribution {
    /// Every layer at the target, the first one dense.
    Uniform,
    /// Erdős–Rényi: density ∝ (fan-in + fan-out) / (fan-in · fan-out).
    Er,
    /// Erdős–Rényi-Kernel: ER with the kernel dimensions (RigL's default).
    #[default]
    Erk,
}

/// swast-prune's keys of the `[prune]` table (the shared ones — method, sparsity targets,
/// clock, intervals, begin, end — are swast-core's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PruneOptions {
    /// Layer-wise distribution of the backbone's budget.
    pub distribution: Distribution,
    /// RigL's initial update fraction α (cosine-decayed to 0 at `end`).
    pub drop_fraction: f64,
    /// Rank magnitudes / saliencies across all layers of a role (global) instead of per layer.
    pub global: bool,
    /// Sparse-aware initialisation for masks drawn at step 0 (RigL, random): kept weights are
    /// scaled by `1/√density` so each unit's input variance matches the dense network's.
    pub scale_init: bool,
    /// ProbMask: learning rate of the keep probabilities (Adam).
    pub score_lr: f64,
    /// ProbMask: Gumbel-sigmoid temperature at the start, annealed exponentially …
    pub temperature_start: f64,
    /// … to this value at `end`.
    pub temperature_end: f64,
}

impl Default for PruneOptions {
    fn default() -> Self {
        Self {
            distribution: Distribution::Erk,
            drop_fraction: 0.3,
            global: false,
            scale_init: true,
            score_lr: 0.1,
            temperature_start: 1.0,
            temperature_end: 0.05,
        }
    }
}

impl PruneOptions {
    /// Reads and checks swast-prune's keys of a `[prune]` table's plug-in keys (those not
    /// given take their defaults).
    pub fn from_options(options: &toml::Table) -> Result<Self, ConfigError> {
        let s: Self = plugin_settings(PluginTable::Prune, options)?;
        fraction_in(
            "prune.drop_fraction",
            s.drop_fraction,
            true,
            0.0,
            1.0,
            false,
        )?;
        if !(s.score_lr.is_finite() && s.score_lr > 0.0) {
            return Err(ConfigError(format!(
                "prune.score_lr must be a positive number, got {}",
                s.score_lr
            )));
        }
        for (k, v) in [
            ("prune.temperature_start", s.temperature_start),
            ("prune.temperature_end", s.temperature_end),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(ConfigError(format!(
                    "{k} must be a positive number, got {v}"
                )));
            }
        }
        Ok(s)
    }

    /// [`PruneOptions::from_options`] of a `[prune]` table, errors as a [`PruneError`].
    pub fn of(cfg: &PruneConfig) -> Result<Self, PruneError> {
        Self::from_options(&cfg.options).map_err(|e| PruneError {
            pruner: name_of(cfg),
            message: e.0,
        })
    }
}

/// The pruner's config name as a static string, for errors.
fn name_of(cfg: &PruneConfig) -> &'static str {
    crate::pruner_names()
        .into_iter()
        .find(|n| *n == cfg.method)
        .unwrap_or("prune")
}

/// swast-prune's part of the config: its pruners and keys.
pub const SCHEMA: PluginSchema = PluginSchema {
    table: PluginTable::Prune,
    methods: crate::pruner_names,
    defaults: || toml::Table::try_from(PruneOptions::default()).expect("defaults serialize"),
    check: |cfg: &Config| PruneOptions::from_options(&cfg.prune.options).map(|_| ()),
};

/// The settings of a mask pruner (RigL, static random, magnitude, GMP, SNIP).
#[derive(Debug, Clone, PartialEq)]
pub struct PruneSettings {
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
    pub fn from_config(cfg: &PruneConfig, scope: Scope, seed: u64) -> Result<Self, PruneError> {
        let o = PruneOptions::of(cfg)?;
        let (backbone, classifier) = targets(cfg, name_of(cfg))?;
        Ok(Self {
            scope,
            backbone,
            classifier,
            distribution: o.distribution,
            clock: cfg.clock,
            interval: interval_of(cfg),
            drop_fraction: o.drop_fraction,
            begin: cfg.begin,
            end: cfg.end,
            global: o.global,
            scale_init: o.scale_init,
            seed,
        })
    }
}

/// The backbone's and the classifier's target sparsity of a `[prune]` table, errors naming
/// `pruner` and the key.
pub(crate) fn targets(
    cfg: &PruneConfig,
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
pub(crate) fn interval_of(cfg: &PruneConfig) -> f64 {
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
