//! The keys swast-coreset adds to `[coreset]`, read once into typed settings.

use crate::scores::Uncertainty as Measure;
use serde::{Deserialize, Serialize};
use swast_core::config::{ConfigError, PluginTable, fraction_in, non_negative};

/// GradMatch's per-class gradient (`coreset.gradmatch_gradient`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum GradmatchGradient {
    /// The class's own row `e_c·[h; 1]` (CORDS' per-class setting).
    #[default]
    ClassRow,
    /// The whole last-layer gradient `e ⊗ [h; 1]`.
    Full,
}

/// swast-coreset's keys of the `[coreset]` table (the shared ones — selector, fraction,
/// interval, weighted, warm-up, schedule — are swast-core's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoresetSettings {
    /// Score-based selectors pick per class with budgets proportional to class sizes.
    pub per_class: bool,
    /// Share of the highest-scoring samples skipped (score-based selectors, CCS's hard cut).
    pub offset: f64,
    /// Share of training after which EL2N keeps the lowest scores (SWaST's switch).
    pub el2n_switch: f64,
    /// Uncertainty measure: entropy | least-confidence | margin.
    pub uncertainty: Measure,
    /// GradMatch's ridge λ on the weights.
    pub lambda: f64,
    /// GradMatch-PB mini-batch size.
    pub pb_batch: usize,
    /// Which last-layer gradient GradMatch matches per class: `class-row` (the class's own
    /// row of the classifier's gradient, as CORDS' `PerClassPerGradient`) or `full` (all
    /// K·(F+1) entries).
    pub gradmatch_gradient: GradmatchGradient,
    /// GradMatch's early stop: a class's OMP ends once its residual is below `omp_tol` of
    /// its target (`‖r‖ < omp_tol·‖t‖`) and the rest of its quota is drawn at random, as
    /// CORDS does (its `eps`; its CPU solver uses 1e-4, its configs 1e-100). 0 (the
    /// default): OMP fills the whole quota.
    pub omp_tol: f64,
}

impl Default for CoresetSettings {
    fn default() -> Self {
        Self {
            per_class: true,
            offset: 0.0,
            el2n_switch: 0.5,
            uncertainty: Measure::Entropy,
            lambda: 0.5,
            pb_batch: 32,
            gradmatch_gradient: GradmatchGradient::ClassRow,
            omp_tol: 0.0,
        }
    }
}

impl CoresetSettings {
    /// Reads and checks swast-coreset's keys of a `[coreset]` table's plug-in keys (those not
    /// given take their defaults).
    pub fn from_options(options: &toml::Table) -> Result<Self, ConfigError> {
        let s: Self = swast_core::config::plugin_settings(PluginTable::Coreset, options)?;
        s.validate()?;
        Ok(s)
    }

    /// Unchecked settings to build from the defaults, checked by [`CoresetParams::check`]
    /// (the config's checks, with its messages):
    ///
    /// ```
    /// let s = swast_coreset::CoresetSettings::params().lambda(0.1).omp_tol(1e-4).check()?;
    /// assert_eq!(s.lambda, 0.1);
    /// assert!(swast_coreset::CoresetSettings::params().offset(1.5).check().is_err());
    /// # Ok::<(), swast_core::config::ConfigError>(())
    /// ```
    pub fn params() -> CoresetParams {
        CoresetParams(Self::default())
    }

    /// The checks every value must pass (the ones config loading runs).
    pub fn validate(&self) -> Result<(), ConfigError> {
        fraction_in("coreset.offset", self.offset, false, 0.0, 1.0, true)?;
        fraction_in(
            "coreset.el2n_switch",
            self.el2n_switch,
            false,
            0.0,
            1.0,
            false,
        )?;
        non_negative("coreset.lambda", self.lambda, "")?;
        non_negative("coreset.omp_tol", self.omp_tol, " (0: no early stop)")?;
        if self.pb_batch == 0 {
            return Err(ConfigError("coreset.pb_batch must be at least 1".into()));
        }
        Ok(())
    }
}

/// [`CoresetSettings`] not yet checked: set what differs from the defaults, then
/// [`check`](Self::check) (linfa's params → checked pattern).
#[derive(Debug, Clone, PartialEq)]
pub struct CoresetParams(CoresetSettings);

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty),* $(,)?) => {
        impl CoresetParams {
            $(
                $(#[$doc])*
                pub fn $name(mut self, v: $ty) -> Self {
                    self.0.$name = v;
                    self
                }
            )*
        }
    };
}

setters! {
    /// `coreset.per_class`.
    per_class: bool,
    /// `coreset.offset`, in `[0, 1)`.
    offset: f64,
    /// `coreset.el2n_switch`, in `[0, 1]`.
    el2n_switch: f64,
    /// `coreset.uncertainty`.
    uncertainty: Measure,
    /// `coreset.lambda` (GradMatch's ridge), ≥ 0.
    lambda: f64,
    /// `coreset.pb_batch`, ≥ 1.
    pb_batch: usize,
    /// `coreset.gradmatch_gradient`.
    gradmatch_gradient: GradmatchGradient,
    /// `coreset.omp_tol`, ≥ 0.
    omp_tol: f64,
}

impl CoresetParams {
    /// The settings, when every value passes [`CoresetSettings::validate`].
    pub fn check(self) -> Result<CoresetSettings, ConfigError> {
        self.0.validate()?;
        Ok(self.0)
    }
}
