//! The run configuration: TOML with a default for every key, `--set key=value` overrides,
//! unknown keys rejected with the closest valid key, and every value validated at load.

mod keys;
mod plugin;
mod train;

pub use plugin::{PluginSchema, PluginTable, plugin_settings};

use crate::model::ModelConfig;
use serde::{Deserialize, Serialize};
use swast_data::{DatasetName, NoiseKind};
pub use train::TrainConfig;

/// Training method: one loop, with pieces switched on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Dense network on the full data.
    #[default]
    Dense,
    /// Dense network on an adaptive coreset.
    CoresetOnly,
    /// Online pruning on the full data.
    PruningOnly,
    /// Coreset + classifier-only pruning.
    SwastTrim,
    /// Coreset + whole-network pruning + state preservation.
    SwastCut,
}

impl Method {
    /// Config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Dense => "dense",
            Method::CoresetOnly => "coreset-only",
            Method::PruningOnly => "pruning-only",
            Method::SwastTrim => "swast-trim",
            Method::SwastCut => "swast-cut",
        }
    }
}

/// Whether training batches are augmented (pad-4 random crop + horizontal flip).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Augment {
    /// On for colour images of at least 32×32 (CIFAR, image folders of photos), off otherwise.
    #[default]
    Auto,
    /// Always.
    On,
    /// Never.
    Off,
}

/// The `[data]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    /// Dataset name.
    pub dataset: DatasetName,
    /// Folder with the dataset's files, or its parent (the folder `fetch.sh DIR` fills).
    pub dir: String,
    /// Fraction of training labels corrupted, in `[0, 1)`.
    pub label_noise: f64,
    /// How labels are corrupted.
    pub noise_kind: NoiseKind,
    /// Stratified share of the training set held out for validation, in `[0, 1)`.
    pub val_fraction: f64,
    /// Use only this many training samples (stratified, seeded); 0 = all.
    pub max_train: usize,
    /// Augmentation.
    pub augment: Augment,
    /// `folder` datasets: the side of the square images (shorter side scaled to it, centre
    /// cropped); 0 keeps the files' own size, which must then be the same for every image.
    pub image_size: usize,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            dataset: DatasetName::Embedded,
            dir: "data".into(),
            label_noise: 0.0,
            noise_kind: NoiseKind::Symmetric,
            val_fraction: 0.0,
            max_train: 0,
            augment: Augment::Auto,
            image_size: 0,
        }
    }
}

/// The `[coreset]` table: the keys every selector shares. The selector crates add their own
/// keys ([`PluginSchema`]); they stay in `options` until the selector reads them into its
/// typed settings ([`plugin_settings`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CoresetConfig {
    /// Selector (a name a selector crate offers, e.g. `gradmatch`).
    pub selector: String,
    /// Kept fraction of the training set, in `(0, 1]`.
    pub fraction: f64,
    /// Epochs between selections `R`.
    pub interval: usize,
    /// Train with the selection's per-sample weights.
    pub weighted: bool,
    /// Full-data warm-up epochs before the first selection; -1 = `ceil(T·fraction/2)`.
    pub warmup: i64,
    /// Selection schedule: literal (Algorithm 1) | cords (GradMatch's warm start).
    pub schedule: crate::schedule::ScheduleKind,
    /// Share of the training set scored each round, in `(0, 1]`: 1 scores every sample,
    /// as the paper does; below 1 a fresh stratified random pool of that share (and at
    /// least the budget) is probed and selected from, which cuts the probe's cost in
    /// proportion (not the paper's method: a trade of selection quality for time).
    pub pool: f64,
    /// The selector crates' keys (`coreset.lambda`, …), as TOML until they are read.
    #[serde(flatten)]
    pub options: toml::Table,
}

impl Default for CoresetConfig {
    fn default() -> Self {
        Self {
            selector: "gradmatch".into(),
            fraction: 0.1,
            interval: 20,
            weighted: false,
            warmup: -1,
            schedule: crate::schedule::ScheduleKind::Literal,
            pool: 1.0,
            options: toml::Table::new(),
        }
    }
}

/// The `[prune]` table: the keys every pruner shares (method, sparsity targets, the
/// schedule's clock and times). The pruner crates add their own keys ([`PluginSchema`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PruneConfig {
    /// Pruner (a name a pruner crate offers, e.g. `rigl`).
    pub method: String,
    /// Backbone sparsity (share of zero weights), in `[0, 1)`.
    pub sparsity: f64,
    /// Classifier sparsity, in `[0, 1)`.
    pub classifier_sparsity: f64,
    /// The clock of the pruning schedule (ΔT, `begin`, `end`): `epoch` (epoch progress, the
    /// default) or `step` (optimizer steps, the reading before issue 12).
    pub clock: crate::schedule::Clock,
    /// Epochs between mask updates ΔT on the epoch clock (RigL, GMP, ProbMask's refresh).
    pub interval_epochs: f64,
    /// Steps between mask updates ΔT on the step clock (RigL, GMP).
    pub interval: u64,
    /// Share of the run (on `clock`) when pruning starts (one-shot magnitude time, GMP t₁).
    pub begin: f64,
    /// Share of the run (on `clock`) when mask updates stop (RigL T_end, GMP t₂).
    pub end: f64,
    /// The pruner crates' keys (`prune.distribution`, …), as TOML until they are read.
    #[serde(flatten)]
    pub options: toml::Table,
}

impl Default for PruneConfig {
    fn default() -> Self {
        Self {
            method: "rigl".into(),
            sparsity: 0.5,
            classifier_sparsity: 0.9,
            clock: crate::schedule::Clock::Epoch,
            interval_epochs: 0.5,
            interval: 100,
            begin: 0.0,
            end: 0.75,
            options: toml::Table::new(),
        }
    }
}

/// State-preservation modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum PreserveMode {
    Off,
    #[default]
    Complete,
    Selective,
}

/// The `[preserve]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PreserveConfig {
    /// Mode.
    pub mode: PreserveMode,
    /// KL weight λ.
    pub lambda: f64,
}

impl Default for PreserveConfig {
    fn default() -> Self {
        Self {
            mode: PreserveMode::Complete,
            lambda: 0.1,
        }
    }
}

/// The `[guard]` table: the critical double-loss guard (beyond the paper).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardConfig {
    /// Watch each selection + pruning round and roll back a collapse.
    pub enabled: bool,
    /// Largest tolerated drop of accuracy on the stored coreset over a round (absolute).
    pub threshold: f64,
    /// Retries of one round before its result is kept anyway.
    pub max_retries: usize,
    /// A retry multiplies the coreset fraction by this (capped at 1): a gentler step.
    pub growth: f64,
}

impl Default for GuardConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            threshold: 0.2,
            max_retries: 1,
            growth: 1.5,
        }
    }
}

/// A whole run's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Run name (used in the run folder's name).
    pub name: String,
    /// Seed of every random choice.
    pub seed: u64,
    /// Method.
    pub method: Method,
    /// Device: `flex` (default), `tch-cpu`, `tch-cuda[:N]`, `wgpu[:N]`, `cuda[:N]`.
    pub device: String,
    /// Data.
    pub data: DataConfig,
    /// Model.
    pub model: ModelConfig,
    /// Optimisation.
    pub train: TrainConfig,
    /// Coreset selection.
    pub coreset: CoresetConfig,
    /// Pruning.
    pub prune: PruneConfig,
    /// State preservation.
    pub preserve: PreserveConfig,
    /// The double-loss guard.
    pub guard: GuardConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            name: "demo".into(),
            seed: 0,
            method: Method::Dense,
            device: "flex".into(),
            data: DataConfig::default(),
            model: ModelConfig::default(),
            train: TrainConfig::default(),
            coreset: CoresetConfig::default(),
            prune: PruneConfig::default(),
            preserve: PreserveConfig::default(),
            guard: GuardConfig::default(),
        }
    }
}

/// A config that cannot be used; the message names the key and the fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("config error: {0}")]
pub struct ConfigError(pub String);

/// The name of `valid` closest to `name` (the fewest single-character edits), for "did you
/// mean" hints.
pub fn closest<'a>(name: &str, valid: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    valid
        .into_iter()
        .min_by_key(|v| keys::edit_distance(name, v))
}

/// Checks that `key`'s value `v` lies in the interval from `lo` to `hi` (open or closed at
/// each end), with the message every fraction key uses.
pub fn fraction_in(
    key: &str,
    v: f64,
    lo_open: bool,
    lo: f64,
    hi: f64,
    hi_open: bool,
) -> Result<(), ConfigError> {
    let ok = v.is_finite()
        && (if lo_open { v > lo } else { v >= lo })
        && (if hi_open { v < hi } else { v <= hi });
    if ok {
        Ok(())
    } else {
        Err(ConfigError(format!(
            "{key} must be in {}{lo}, {hi}{}, got {v}",
            if lo_open { "(" } else { "[" },
            if hi_open { ")" } else { "]" }
        )))
    }
}

/// Checks that `key`'s value `v` is a finite number ≥ 0, with the message every such key
/// uses; `hint` (empty, or e.g. `" (0: no early stop)"`) follows the rule.
pub fn non_negative(key: &str, v: f64, hint: &str) -> Result<(), ConfigError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(ConfigError(format!(
            "{key} must be a non-negative number{hint}, got {v}"
        )))
    }
}

impl Config {
    /// Checks every value; the error names the key, the rule and how to fix it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check().map_err(|ConfigError(m)| plugin::append_fix(m))
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(ConfigError(format!(
                "name must be non-empty and use only letters, digits, '-', '_' or '.', got `{}`",
                self.name
            )));
        }
        self.train.validate().map_err(ConfigError)?;
        self.model.validate().map_err(ConfigError)?;
        fraction_in(
            "data.label_noise",
            self.data.label_noise,
            false,
            0.0,
            1.0,
            true,
        )?;
        fraction_in(
            "data.val_fraction",
            self.data.val_fraction,
            false,
            0.0,
            1.0,
            true,
        )?;
        self.check_image_size()?;
        fraction_in(
            "coreset.fraction",
            self.coreset.fraction,
            true,
            0.0,
            1.0,
            false,
        )?;
        fraction_in("coreset.pool", self.coreset.pool, true, 0.0, 1.0, false)?;
        if self.coreset.pool < self.coreset.fraction {
            return Err(ConfigError(format!(
                "coreset.pool ({}) is smaller than coreset.fraction ({}): a round cannot select more samples than it scores; raise coreset.pool to at least {} (1 scores every sample)",
                self.coreset.pool, self.coreset.fraction, self.coreset.fraction
            )));
        }
        self.check_prune_targets()?;
        self.check_guard()?;
        self.check_prune_schedule()?;
        self.check_coreset()?;
        self.check_selects()?;
        non_negative("preserve.lambda", self.preserve.lambda, "")
    }

    /// The coreset size for a training set of `n`: `round(fraction·n)`, at least 1.
    pub fn budget(&self, n: usize) -> usize {
        self.scaled_budget(n, 1.0)
    }

    /// [`Config::budget`] with the fraction multiplied by `scale` (the guard's gentler
    /// retries).
    pub fn scaled_budget(&self, n: usize, scale: f64) -> usize {
        fraction_budget((self.coreset.fraction * scale).min(1.0), n)
    }

    /// The batch size of evaluation and probe passes.
    pub fn eval_batch(&self) -> usize {
        self.train.batch_size.max(256)
    }

    /// Whether the method selects coresets (coreset-only, SWaST-trim, SWaST-cut).
    pub fn selects(&self) -> bool {
        matches!(
            self.method,
            Method::CoresetOnly | Method::SwastTrim | Method::SwastCut
        )
    }

    /// The selection schedule (`coreset.schedule`, `.interval`, `.warmup`, `.fraction` over
    /// `train.epochs`).
    pub fn schedule(&self) -> crate::schedule::Schedule {
        use crate::schedule::{Schedule, ScheduleKind};
        let warmup = usize::try_from(self.coreset.warmup).ok();
        let (t, a, r) = (
            self.train.epochs,
            self.coreset.fraction,
            self.coreset.interval,
        );
        match self.coreset.schedule {
            ScheduleKind::Literal => Schedule::literal(t, a, r, warmup),
            ScheduleKind::Cords => Schedule::cords(t, a, r, warmup),
        }
    }

    /// A coreset method whose schedule never selects would train on the full data: a
    /// pruning-only or dense run under another name. That is an error, not a silent run.
    fn check_selects(&self) -> Result<(), ConfigError> {
        if !self.selects() || !self.schedule().selection_epochs().is_empty() {
            return Ok(());
        }
        let first = match usize::try_from(self.coreset.warmup) {
            Ok(w) => format!("coreset.warmup = {w}"),
            Err(_) => "the automatic warm-up".into(),
        };
        Err(ConfigError(format!(
            "method {} never selects a coreset: with coreset.interval = {} and train.epochs = {} ({first}, coreset.schedule = \"{}\") no selection round falls within the run, so it would train on all data like pruning-only or dense; lower coreset.interval or raise train.epochs (e.g. --set coreset.interval={} for {} epochs)",
            self.method.as_str(),
            self.coreset.interval,
            self.train.epochs,
            match self.coreset.schedule {
                crate::schedule::ScheduleKind::Literal => "literal",
                crate::schedule::ScheduleKind::Cords => "cords",
            },
            (self.train.epochs / 5).max(1),
            self.train.epochs
        )))
    }

    /// `data.image_size` applies to image folders only, and must be a sensible side.
    fn check_image_size(&self) -> Result<(), ConfigError> {
        let s = self.data.image_size;
        if s > 0 && self.data.dataset != DatasetName::Folder {
            return Err(ConfigError(format!(
                "data.image_size ({s}) applies only to data.dataset = \"folder\"; the {} files have a fixed size: remove the key",
                self.data.dataset
            )));
        }
        if s > swast_data::limits::MAX_IMAGE_SIDE {
            return Err(ConfigError(format!(
                "data.image_size must be at most {} pixels, got {s}",
                swast_data::limits::MAX_IMAGE_SIDE
            )));
        }
        Ok(())
    }

    /// The `[prune]` sparsity targets.
    fn check_prune_targets(&self) -> Result<(), ConfigError> {
        fraction_in("prune.sparsity", self.prune.sparsity, false, 0.0, 1.0, true)?;
        fraction_in(
            "prune.classifier_sparsity",
            self.prune.classifier_sparsity,
            false,
            0.0,
            1.0,
            true,
        )?;
        Ok(())
    }

    /// The `[guard]` table.
    fn check_guard(&self) -> Result<(), ConfigError> {
        fraction_in(
            "guard.threshold",
            self.guard.threshold,
            true,
            0.0,
            1.0,
            false,
        )?;
        if !(self.guard.growth.is_finite() && self.guard.growth > 1.0) {
            return Err(ConfigError(format!(
                "guard.growth must be a number above 1, got {}",
                self.guard.growth
            )));
        }
        Ok(())
    }

    /// The `[prune]` schedule.
    fn check_prune_schedule(&self) -> Result<(), ConfigError> {
        if self.prune.interval == 0 {
            return Err(ConfigError("prune.interval must be at least 1 step".into()));
        }
        if !(self.prune.interval_epochs.is_finite() && self.prune.interval_epochs > 0.0) {
            return Err(ConfigError(format!(
                "prune.interval_epochs must be a positive number of epochs, got {}",
                self.prune.interval_epochs
            )));
        }
        if self.prune.clock == crate::schedule::Clock::Epoch
            && self.prune.interval != PruneConfig::default().interval
        {
            return Err(ConfigError(format!(
                "prune.interval ({}) counts steps and applies only with prune.clock = \"step\"; on the epoch clock set prune.interval_epochs instead",
                self.prune.interval
            )));
        }
        fraction_in("prune.begin", self.prune.begin, false, 0.0, 1.0, false)?;
        fraction_in("prune.end", self.prune.end, true, 0.0, 1.0, false)?;
        if self.prune.begin >= self.prune.end {
            return Err(ConfigError(format!(
                "prune.begin ({}) must come before prune.end ({})",
                self.prune.begin, self.prune.end
            )));
        }
        Ok(())
    }

    /// The `[coreset]` schedule.
    fn check_coreset(&self) -> Result<(), ConfigError> {
        if self.coreset.warmup < -1 {
            return Err(ConfigError(format!(
                "coreset.warmup must be -1 (automatic) or a number of epochs, got {}",
                self.coreset.warmup
            )));
        }
        if self.coreset.interval == 0 {
            return Err(ConfigError(
                "coreset.interval must be at least 1 epoch".into(),
            ));
        }
        Ok(())
    }

    /// Parses TOML text with core's keys only (keys not given take their defaults), then
    /// validates. A key a plug-in adds is unknown here: read such configs with
    /// [`Config::parse`] and the plug-ins of the build.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        Self::parse(text, &[], &[])
    }

    /// [`Config::from_toml_str`] with `key=value` overrides applied in order.
    pub fn from_toml_with_overrides(text: &str, sets: &[String]) -> Result<Self, ConfigError> {
        Self::parse(text, sets, &[])
    }

    /// Parses TOML text, applies `key=value` overrides in order, then resolves the plug-ins'
    /// keys and validates everything ([`Config::resolve`]). Unknown keys, core's or a
    /// plug-in's, are one error naming the closest valid key.
    pub fn parse(
        text: &str,
        sets: &[String],
        plugins: &[PluginSchema],
    ) -> Result<Self, ConfigError> {
        let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let line = e
                .span()
                .map(|r| text[..r.start.min(text.len())].lines().count().max(1))
                .map_or(String::new(), |l| format!(" at line {l}"));
            ConfigError(format!(
                "invalid TOML{line}: {}; write each setting as `key = value` under its [section]",
                e.message()
            ))
        })?;
        let valid = keys::valid_keys(plugins);
        keys::check_keys(&table, "", &valid)?;
        for s in sets {
            keys::apply_set(&mut table, s, &valid)?;
        }
        let cfg: Config =
            toml::Value::Table(table.clone())
                .try_into()
                .map_err(|e: toml::de::Error| {
                    let key =
                        keys::key_of_error(&table).map_or(String::new(), |k| format!("`{k}`: "));
                    ConfigError(format!(
                        "{key}{}; give it a value of that type (see configs/ for examples)",
                        e.message()
                    ))
                })?;
        cfg.resolve(plugins)
    }

    /// The resolved config as TOML (every key, defaults included).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config serializes")
    }

    /// A short stable hash of the config's identity: the keys whose values differ from their
    /// defaults, the seed left out (so that the seeds of one experiment share a folder). A
    /// key added later with a default does not change it.
    pub fn hash_without_seed(&self) -> String {
        let mut c = self.clone();
        c.seed = 0;
        let mine = toml::Value::try_from(&c).expect("config serializes");
        let base = toml::Value::try_from(Config::default()).expect("config serializes");
        let changed = non_default(mine, &base).unwrap_or(toml::Value::Table(toml::Table::new()));
        // toml's tables are ordered by key: the text is canonical
        let text = toml::to_string(&changed).expect("config serializes");
        let h = swast_data::hash::fnv1a(text.as_bytes());
        format!("{:08x}", h >> 32)
    }
}

/// The entries of `value` that differ from `default` (tables compared key by key); `None`
/// when nothing differs.
fn non_default(value: toml::Value, default: &toml::Value) -> Option<toml::Value> {
    match (value, default) {
        (toml::Value::Table(t), toml::Value::Table(d)) => {
            let kept: toml::Table = t
                .into_iter()
                .filter_map(|(k, v)| match d.get(&k) {
                    Some(dv) => non_default(v, dv).map(|v| (k, v)),
                    None => Some((k, v)),
                })
                .collect();
            (!kept.is_empty()).then_some(toml::Value::Table(kept))
        }
        (v, d) => (v != *d).then_some(v),
    }
}

/// The coreset size a run keeps of `n` samples at kept share `fraction`:
/// `round(fraction·n)`, at least 1 (and at most `n`).
pub fn fraction_budget(fraction: f64, n: usize) -> usize {
    ((fraction * n as f64).round() as usize).clamp(1, n.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones_and_round_trip() {
        let c = Config::from_toml_str("").unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.train.lr, 0.05);
        assert_eq!(c.coreset.interval, 20);
        let again = Config::from_toml_str(&c.to_toml()).unwrap();
        assert_eq!(again, c);
    }

    #[test]
    fn issue_example_parses() {
        let text = r#"
name = "demo"
seed = 0
method = "dense"
device = "flex"
[data]
dataset = "embedded"
dir = "data/mnist"
label_noise = 0.0
noise_kind = "symmetric"
[model]
arch = "lenet5"
[train]
epochs = 10
batch_size = 128
lr = 0.05
momentum = 0.9
nesterov = true
weight_decay = 5e-4
[coreset]
selector = "gradmatch"
fraction = 0.1
interval = 20
[prune]
method = "rigl"
sparsity = 0.5
classifier_sparsity = 0.9
distribution = "erk"
[preserve]
mode = "complete"
lambda = 0.1
"#;
        let c = Config::parse(text, &[], &[TEST_PRUNE]).unwrap();
        assert_eq!(c.data.dir, "data/mnist");
        assert_eq!(c.prune.options["distribution"].as_str(), Some("erk"));
        // without the plug-in that adds it, its key is unknown
        let e = Config::from_toml_str(text).unwrap_err();
        assert!(e.to_string().contains("`prune.distribution`"), "{e}");
    }

    /// A plug-in's settings, as a pruner crate would declare them.
    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    #[serde(default, deny_unknown_fields)]
    struct TestPrune {
        distribution: String,
        drop_fraction: f64,
        steps: u32,
    }

    impl Default for TestPrune {
        fn default() -> Self {
            Self {
                distribution: "erk".into(),
                drop_fraction: 0.3,
                steps: 4,
            }
        }
    }

    const TEST_PRUNE: PluginSchema = PluginSchema {
        table: PluginTable::Prune,
        methods: || vec!["rigl", "gmp"],
        defaults: || toml::Table::try_from(TestPrune::default()).unwrap(),
        check: |cfg| {
            let s: TestPrune = plugin_settings(PluginTable::Prune, &cfg.prune.options)?;
            fraction_in(
                "prune.drop_fraction",
                s.drop_fraction,
                true,
                0.0,
                1.0,
                false,
            )
        },
    };

    #[test]
    fn plugin_keys_resolve_to_one_canonical_text_whatever_order_they_come_in() {
        let a = Config::parse(
            "[prune]\nsteps = 7\ndistribution = \"er\"\n",
            &[],
            &[TEST_PRUNE],
        )
        .unwrap();
        let b = Config::parse(
            "",
            &["prune.distribution=er".into(), "prune.steps=7".into()],
            &[TEST_PRUNE],
        )
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_toml(), b.to_toml());
        // every plug-in key is written, defaults included, in the plug-in's order
        let keys: Vec<&String> = a.prune.options.keys().collect();
        assert_eq!(keys, ["distribution", "drop_fraction", "steps"]);
        // and the resolved text reads back to the same config
        assert_eq!(Config::parse(&a.to_toml(), &[], &[TEST_PRUNE]).unwrap(), a);
        // a config built in code resolves the same way
        let mut c = Config::default();
        c.prune.options.insert("steps".into(), 7.into());
        c.prune.options.insert("distribution".into(), "er".into());
        assert_eq!(c.resolve(&[TEST_PRUNE]).unwrap(), a);
    }

    #[test]
    fn plugin_keys_get_the_same_one_line_errors_as_core_keys() {
        let bad = |set: &str, want: &[&str]| {
            let e = Config::parse("", &[set.into()], &[TEST_PRUNE]).unwrap_err();
            let m = e.to_string();
            assert!(want.iter().all(|w| m.contains(w)), "{set}: {m}");
            assert_eq!(m.lines().count(), 1, "{m}");
        };
        bad(
            "prune.drop_fractoin=0.2",
            &["unknown key `prune.drop_fractoin`", "`prune.drop_fraction`"],
        );
        bad(
            "prune.drop_fraction=2",
            &[
                "prune.drop_fraction must be in (0, 1]",
                "--set prune.drop_fraction=VALUE",
            ],
        );
        bad("prune.steps=many", &["`prune.steps`", "invalid type"]);
        bad(
            "prune.method=snip",
            &["prune.method `snip`", "choose one of: rigl, gmp"],
        );
        // a key set in code that no plug-in declares
        let mut c = Config::default();
        c.prune.options.insert("stesp".into(), 1.into());
        let e = c.resolve(&[TEST_PRUNE]).unwrap_err().to_string();
        assert!(
            e.contains("`prune.stesp`") && e.contains("`prune.steps`"),
            "{e}"
        );
    }

    #[test]
    fn unknown_keys_name_the_closest_valid_key() {
        let e = Config::from_toml_str("[train]\nepoch = 3\n").unwrap_err();
        assert!(
            e.to_string().contains("`train.epoch`") && e.to_string().contains("`train.epochs`"),
            "{e}"
        );
        let e = Config::from_toml_with_overrides("", &["train.lr_rate=0.1".into()]).unwrap_err();
        assert!(e.to_string().contains("`train.lr`"), "{e}");
        let e = Config::from_toml_str("sed = 1").unwrap_err();
        assert!(e.to_string().contains("`seed`"), "{e}");
    }

    #[test]
    fn overrides_apply_in_order_and_parse_types() {
        let c = Config::from_toml_with_overrides(
            "[train]\nepochs = 5\n",
            &[
                "train.epochs=3".into(),
                "data.dataset=mnist".into(),
                "model.mlp_hidden=[64, 32]".into(),
                "train.nesterov=false".into(),
            ],
        )
        .unwrap();
        assert_eq!(c.train.epochs, 3);
        assert_eq!(c.data.dataset, DatasetName::Mnist);
        assert_eq!(c.model.mlp_hidden, [64, 32]);
        assert!(!c.train.nesterov);
    }

    #[test]
    fn bad_values_are_one_clear_error() {
        let bad = |s: &str, want: &str| {
            let e = Config::from_toml_with_overrides("", &[s.into()]).unwrap_err();
            assert!(e.to_string().contains(want), "{s}: {e}");
        };
        bad("train.lr=-0.1", "train.lr must be a positive number");
        bad("coreset.fraction=0", "coreset.fraction must be in (0, 1]");
        bad("coreset.fraction=1.5", "coreset.fraction must be in (0, 1]");
        bad("coreset.fraction=nan", "coreset.fraction must be in (0, 1]");
        bad("coreset.pool=0", "coreset.pool must be in (0, 1]");
        bad(
            "coreset.pool=0.05",
            "coreset.pool (0.05) is smaller than coreset.fraction (0.1)",
        );
        bad("prune.sparsity=1.0", "prune.sparsity must be in [0, 1)");
        bad("data.dataset=imagenet", "unknown variant `imagenet`");
        bad("train.epochs=0", "train.epochs must be at least 1");
        bad("train.epochs=many", "invalid type");
        bad("train=3", "is a table");
        bad("train", "expects key=value");
        bad("trainepochs=3", "unknown key");
        bad("name=a/b", "name must be");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 512, failure_persistence: None, ..Default::default() })]

        #[test]
        fn arbitrary_text_and_overrides_never_panic(
            text in "[a-z_.\\[\\]=\"0-9 \n-]{0,200}", set in "[a-z_.=0-9\\[\\], -]{0,40}"
        ) {
            let _ = Config::from_toml_with_overrides(&text, &[set]);
        }

        #[test]
        fn mutated_resolved_configs_never_panic(pos in 0usize..4096, byte in proptest::prelude::any::<u8>(), cut in 0usize..4096) {
            // the resolved config of a real run, one byte changed, then cut short
            let mut b = Config::default().to_toml().into_bytes();
            let i = pos % b.len();
            b[i] = byte;
            b.truncate(b.len() - cut % b.len());
            let text = String::from_utf8_lossy(&b);
            if let Ok(c) = Config::from_toml_str(&text) {
                proptest::prop_assert!(c.validate().is_ok());
            }
        }
    }

    #[test]
    fn hash_ignores_the_seed_only() {
        let a = Config::default();
        let mut b = a.clone();
        b.seed = 9;
        assert_eq!(a.hash_without_seed(), b.hash_without_seed());
        b.train.epochs = 11;
        assert_ne!(a.hash_without_seed(), b.hash_without_seed());
    }

    #[test]
    fn the_identity_hash_ignores_keys_at_their_defaults() {
        let a = Config::default();
        // setting a key to its default value is not a change
        let mut b = a.clone();
        b.model.head_outputs = 0;
        b.train.epochs = Config::default().train.epochs;
        assert_eq!(a.hash_without_seed(), b.hash_without_seed());
        // every changed key counts, in any section
        let mut c = a.clone();
        c.model.head_outputs = 1000;
        let mut d = a.clone();
        d.preserve.lambda = 1.0;
        let hashes = [&a, &c, &d].map(Config::hash_without_seed);
        assert!(hashes[0] != hashes[1] && hashes[0] != hashes[2] && hashes[1] != hashes[2]);
    }
}
