//! The run configuration: TOML with a default for every key, `--set key=value` overrides,
//! unknown keys rejected with the closest valid key, and every value validated at load.

use crate::model::ModelConfig;
use crate::train::TrainConfig;
use serde::{Deserialize, Serialize};
use swast_data::{DatasetName, NoiseKind};

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
    /// On for 3×32×32 colour data (CIFAR), off otherwise.
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
        }
    }
}

/// Coreset selectors by config name (used from the coreset issue on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum SelectorName {
    El2n,
    Grand,
    Forgetting,
    #[default]
    Gradmatch,
    GradmatchPb,
    Craig,
    Glister,
    Moderate,
    Ccs,
    Kcenter,
    Herding,
    Uncertainty,
    Random,
    Uniform,
}

/// The `[coreset]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoresetConfig {
    /// Selector.
    pub selector: SelectorName,
    /// Kept fraction of the training set, in `(0, 1]`.
    pub fraction: f64,
    /// Epochs between selections `R`.
    pub interval: usize,
    /// Train with the selection's per-sample weights.
    pub weighted: bool,
    /// Full-data warm-up epochs before the first selection; -1 = `ceil(T·fraction/2)`.
    pub warmup: i64,
    /// Score-based selectors pick per class with budgets proportional to class sizes.
    pub per_class: bool,
    /// Share of the highest-scoring samples skipped (score-based selectors, CCS's hard cut).
    pub offset: f64,
    /// Share of training after which EL2N keeps the lowest scores (SWaST's switch).
    pub el2n_switch: f64,
    /// Uncertainty measure: entropy | least-confidence | margin.
    pub uncertainty: String,
    /// GradMatch's ridge λ on the weights.
    pub lambda: f64,
    /// GradMatch-PB mini-batch size.
    pub pb_batch: usize,
    /// Selection schedule: literal (Algorithm 1) | cords (GradMatch's warm start).
    pub schedule: crate::schedule::ScheduleKind,
    /// Which last-layer gradient GradMatch matches per class: `class-row` (the class's own
    /// row of the classifier's gradient, as CORDS' `PerClassPerGradient`) or `full` (all
    /// K·(F+1) entries).
    pub gradmatch_gradient: GradmatchGradient,
}

/// GradMatch's per-class gradient (see [`CoresetConfig::gradmatch_gradient`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum GradmatchGradient {
    /// The class's own row `e_c·[h; 1]` (CORDS' per-class setting).
    #[default]
    ClassRow,
    /// The whole last-layer gradient `e ⊗ [h; 1]`.
    Full,
}

impl Default for CoresetConfig {
    fn default() -> Self {
        Self {
            selector: SelectorName::Gradmatch,
            fraction: 0.1,
            interval: 20,
            weighted: false,
            warmup: -1,
            per_class: true,
            offset: 0.0,
            el2n_switch: 0.5,
            uncertainty: "entropy".into(),
            lambda: 0.5,
            pb_batch: 32,
            schedule: crate::schedule::ScheduleKind::Literal,
            gradmatch_gradient: GradmatchGradient::ClassRow,
        }
    }
}

/// Pruners by config name (used from the pruning issue on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum PrunerName {
    #[default]
    Rigl,
    Random,
    Magnitude,
    Gmp,
    Snip,
    Probmask,
    ChannelL1,
}

/// Layer-wise sparsity distributions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum Distribution {
    Uniform,
    Er,
    #[default]
    Erk,
}

/// The `[prune]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PruneConfig {
    /// Pruner.
    pub method: PrunerName,
    /// Backbone sparsity (share of zero weights), in `[0, 1)`.
    pub sparsity: f64,
    /// Classifier sparsity, in `[0, 1)`.
    pub classifier_sparsity: f64,
    /// Layer-wise distribution.
    pub distribution: Distribution,
    /// The clock of the pruning schedule (ΔT, `begin`, `end`): `epoch` (epoch progress, the
    /// default) or `step` (optimizer steps, the reading before issue 12).
    pub clock: crate::schedule::Clock,
    /// Epochs between mask updates ΔT on the epoch clock (RigL, GMP, ProbMask's refresh).
    pub interval_epochs: f64,
    /// Steps between mask updates ΔT on the step clock (RigL, GMP).
    pub interval: u64,
    /// RigL's initial update fraction α (cosine-decayed to 0 at `end`).
    pub drop_fraction: f64,
    /// Share of the run (on `clock`) when pruning starts (one-shot magnitude time, GMP t₁).
    pub begin: f64,
    /// Share of the run (on `clock`) when mask updates stop (RigL T_end, GMP t₂).
    pub end: f64,
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

impl Default for PruneConfig {
    fn default() -> Self {
        Self {
            method: PrunerName::Rigl,
            sparsity: 0.5,
            classifier_sparsity: 0.9,
            distribution: Distribution::Erk,
            clock: crate::schedule::Clock::Epoch,
            interval_epochs: 0.5,
            interval: 100,
            drop_fraction: 0.3,
            begin: 0.0,
            end: 0.75,
            global: false,
            scale_init: true,
            score_lr: 0.1,
            temperature_start: 1.0,
            temperature_end: 0.05,
        }
    }
}

impl PrunerName {
    /// Config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PrunerName::Rigl => "rigl",
            PrunerName::Random => "random",
            PrunerName::Magnitude => "magnitude",
            PrunerName::Gmp => "gmp",
            PrunerName::Snip => "snip",
            PrunerName::Probmask => "probmask",
            PrunerName::ChannelL1 => "channel-l1",
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

/// The dotted key a typed deserialization of `table` fails on: the table is written back as
/// TOML text and parsed from there, where the error carries a span, and the span's line
/// (with its `[section]`) names the key.
fn key_of_error(table: &toml::Table) -> Option<String> {
    let text = toml::to_string(table).ok()?;
    let span = toml::from_str::<Config>(&text).err()?.span()?;
    let upto = &text[..span.start.min(text.len())];
    let line = text[upto.rfind('\n').map_or(0, |i| i + 1)..]
        .lines()
        .next()?;
    let key = line.split('=').next()?.trim().trim_matches('"');
    let section = upto
        .lines()
        .rev()
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').to_string());
    Some(match section {
        Some(s) if !key.is_empty() && !line.starts_with('[') => format!("{s}.{key}"),
        _ => key.to_string(),
    })
}

fn fraction_in(
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

impl Config {
    /// Checks every value; the error names the key, the rule and how to fix it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check().map_err(|ConfigError(m)| {
            let key = m.split_whitespace().next().unwrap_or_default();
            let key = key.trim_matches('`');
            let fix = if key == "name" || key.contains('.') {
                format!("; change `{key}` in the config file or pass --set {key}=VALUE")
            } else {
                "; see configs/ for valid examples".to_string()
            };
            ConfigError(m + &fix)
        })
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
        fraction_in(
            "coreset.fraction",
            self.coreset.fraction,
            true,
            0.0,
            1.0,
            false,
        )?;
        self.check_prune_targets()?;
        self.check_guard()?;
        self.check_prune_schedule()?;
        self.check_coreset()?;
        if !(self.preserve.lambda.is_finite() && self.preserve.lambda >= 0.0) {
            return Err(ConfigError(format!(
                "preserve.lambda must be a non-negative number, got {}",
                self.preserve.lambda
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

    /// The `[prune]` schedule and ProbMask keys.
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
        fraction_in(
            "prune.drop_fraction",
            self.prune.drop_fraction,
            true,
            0.0,
            1.0,
            false,
        )?;
        fraction_in("prune.begin", self.prune.begin, false, 0.0, 1.0, false)?;
        fraction_in("prune.end", self.prune.end, true, 0.0, 1.0, false)?;
        if self.prune.begin >= self.prune.end {
            return Err(ConfigError(format!(
                "prune.begin ({}) must come before prune.end ({})",
                self.prune.begin, self.prune.end
            )));
        }
        if !(self.prune.score_lr.is_finite() && self.prune.score_lr > 0.0) {
            return Err(ConfigError(format!(
                "prune.score_lr must be a positive number, got {}",
                self.prune.score_lr
            )));
        }
        for (k, v) in [
            ("prune.temperature_start", self.prune.temperature_start),
            ("prune.temperature_end", self.prune.temperature_end),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(ConfigError(format!(
                    "{k} must be a positive number, got {v}"
                )));
            }
        }
        Ok(())
    }

    /// The `[coreset]` selector keys.
    fn check_coreset(&self) -> Result<(), ConfigError> {
        if !["entropy", "least-confidence", "margin"].contains(&self.coreset.uncertainty.as_str()) {
            return Err(ConfigError(format!(
                "coreset.uncertainty must be entropy, least-confidence or margin, got `{}`",
                self.coreset.uncertainty
            )));
        }
        fraction_in("coreset.offset", self.coreset.offset, false, 0.0, 1.0, true)?;
        fraction_in(
            "coreset.el2n_switch",
            self.coreset.el2n_switch,
            false,
            0.0,
            1.0,
            false,
        )?;
        if !(self.coreset.lambda.is_finite() && self.coreset.lambda >= 0.0) {
            return Err(ConfigError(format!(
                "coreset.lambda must be a non-negative number, got {}",
                self.coreset.lambda
            )));
        }
        if self.coreset.pb_batch == 0 {
            return Err(ConfigError("coreset.pb_batch must be at least 1".into()));
        }
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

    /// Parses TOML text (keys not given take their defaults), then validates.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        Self::from_toml_with_overrides(text, &[])
    }

    /// Parses TOML text, applies `key=value` overrides in order, then validates.
    pub fn from_toml_with_overrides(text: &str, sets: &[String]) -> Result<Self, ConfigError> {
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
        let valid = valid_keys();
        check_keys(&table, "", &valid)?;
        for s in sets {
            apply_set(&mut table, s, &valid)?;
        }
        let cfg: Config =
            toml::Value::Table(table.clone())
                .try_into()
                .map_err(|e: toml::de::Error| {
                    let key = key_of_error(&table).map_or(String::new(), |k| format!("`{k}`: "));
                    ConfigError(format!(
                        "{key}{}; give it a value of that type (see configs/ for examples)",
                        e.message()
                    ))
                })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// The resolved config as TOML (every key, defaults included).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config serializes")
    }

    /// A short stable hash of the resolved config with the seed left out, so that the seeds of
    /// one experiment share a folder.
    pub fn hash_without_seed(&self) -> String {
        let mut c = self.clone();
        c.seed = 0;
        let text = c.to_toml();
        let mut h: u64 = 0xCBF2_9CE4_8422_2325;
        for b in text.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01B3);
        }
        format!("{:08x}", h >> 32)
    }
}

/// Every dotted key of the config, with whether it is a table.
fn valid_keys() -> Vec<(String, bool)> {
    fn walk(prefix: &str, t: &toml::Table, out: &mut Vec<(String, bool)>) {
        for (k, v) in t {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if let toml::Value::Table(sub) = v {
                out.push((key.clone(), true));
                walk(&key, sub, out);
            } else {
                out.push((key, false));
            }
        }
    }
    let table = toml::Table::try_from(Config::default()).expect("default config serializes");
    let mut out = Vec::new();
    walk("", &table, &mut out);
    out
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn unknown_key(key: &str, valid: &[(String, bool)]) -> ConfigError {
    let best = valid
        .iter()
        .filter(|(_, table)| !table)
        .min_by_key(|(k, _)| {
            // prefer keys in the same table, then the smallest edit distance
            let same_table = k.rsplit_once('.').map(|x| x.0) == key.rsplit_once('.').map(|x| x.0);
            (edit_distance(key, k), usize::from(!same_table))
        })
        .map(|(k, _)| k.as_str())
        .unwrap_or("name");
    ConfigError(format!("unknown key `{key}`; did you mean `{best}`?"))
}

fn check_keys(t: &toml::Table, prefix: &str, valid: &[(String, bool)]) -> Result<(), ConfigError> {
    for (k, v) in t {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match valid.iter().find(|(vk, _)| *vk == key) {
            None => return Err(unknown_key(&key, valid)),
            Some((_, true)) => match v {
                toml::Value::Table(sub) => check_keys(sub, &key, valid)?,
                _ => return Err(ConfigError(format!("`{key}` must be a table ([{key}])"))),
            },
            Some((_, false)) => {
                if v.is_table() {
                    return Err(ConfigError(format!("`{key}` is a value, not a table")));
                }
            }
        }
    }
    Ok(())
}

/// Applies one `key=value` override; the value is parsed as TOML (`3`, `0.1`, `true`,
/// `[1, 2]`, `"x"`), or taken as a plain string when it is not valid TOML.
fn apply_set(
    table: &mut toml::Table,
    set: &str,
    valid: &[(String, bool)],
) -> Result<(), ConfigError> {
    let (key, raw) = set
        .split_once('=')
        .ok_or_else(|| ConfigError(format!("--set expects key=value, got `{set}`")))?;
    let key = key.trim();
    match valid.iter().find(|(k, _)| k == key) {
        None => return Err(unknown_key(key, valid)),
        Some((_, true)) => {
            return Err(ConfigError(format!(
                "`{key}` is a table; set one of its keys, e.g. `{key}.<key>=...`"
            )));
        }
        Some(_) => {}
    }
    let raw = raw.trim();
    let value = format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()));
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().expect("non-empty key");
    let mut cur = table;
    for p in parts {
        cur = cur
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or_else(|| ConfigError(format!("`{p}` must be a table")))?;
    }
    cur.insert(last.to_string(), value);
    Ok(())
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
        let c = Config::from_toml_str(text).unwrap();
        assert_eq!(c.data.dir, "data/mnist");
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
}
