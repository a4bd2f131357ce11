//! A coreset selector written outside swast-coreset and plugged into a SWaST-cut run: the
//! selector, its own config key, and the wiring — nothing in swast's crates changes.
//!
//! `hardest`: per class, the samples the current model finds hardest (highest loss), with a
//! share of the budget (`coreset.hardest_explore`) drawn at random from the rest so the
//! coreset does not collapse onto mislabeled samples.
//!
//! ```text
//! cargo run --release -p swast-cli --example custom_selector
//! ```

use serde::{Deserialize, Serialize};
use swast_core::burn::tensor::Device;
use swast_core::config::{
    Config, ConfigError, PluginSchema, PluginTable, fraction_in, plugin_settings,
};
use swast_core::coreset::{Coreset, SelectContext, SelectError, Selector};
use swast_core::events::NullSink;
use swast_core::prune::{PruneError, PruneScheme, Scope};
use swast_core::run::{Components, RunOptions, run};
use swast_data::SeededRng;

/// The selector's settings: its own key of the `[coreset]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct HardestSettings {
    /// Share of each class's budget drawn at random instead of by loss.
    hardest_explore: f64,
}

impl Default for HardestSettings {
    fn default() -> Self {
        Self {
            hardest_explore: 0.2,
        }
    }
}

impl HardestSettings {
    /// Reads and checks the key (the one place it is validated).
    fn from_options(options: &toml::Table) -> Result<Self, ConfigError> {
        let s: Self = plugin_settings(PluginTable::Coreset, options)?;
        fraction_in(
            "coreset.hardest_explore",
            s.hardest_explore,
            false,
            0.0,
            1.0,
            false,
        )?;
        Ok(s)
    }
}

/// Declares the selector's name and key to the config, so `--set coreset.hardest_explore=…`
/// and typos of it get the same errors as swast's own keys.
const HARDEST: PluginSchema = PluginSchema {
    table: PluginTable::Coreset,
    methods: || vec!["hardest"],
    defaults: || toml::Table::try_from(HardestSettings::default()).expect("serializes"),
    check: |cfg| HardestSettings::from_options(&cfg.coreset.options).map(|_| ()),
};

/// The selector. A higher score means "keep": here the score is the probe's loss.
#[derive(Debug)]
struct Hardest(HardestSettings);

impl Selector for Hardest {
    fn name(&self) -> &'static str {
        "hardest"
    }

    fn select(
        &mut self,
        ctx: &SelectContext<'_>,
        rng: &mut SeededRng,
    ) -> Result<Coreset, SelectError> {
        let p = ctx.probe;
        if ctx.budget == 0 || ctx.budget > p.len() {
            return Err(SelectError {
                selector: self.name(),
                message: format!("budget {} for {} samples", ctx.budget, p.len()),
            });
        }
        let mut chosen = Vec::with_capacity(ctx.budget);
        let sizes: Vec<usize> = (0..p.classes).map(|c| p.rows_of_class(c).len()).collect();
        let quotas = swast_coreset::quota::class_quotas(&sizes, ctx.budget);
        for (c, quota) in quotas.into_iter().enumerate() {
            let mut rows = p.rows_of_class(c);
            // hardest first (ties by row, so the selection is deterministic)
            rows.sort_by(|&a, &b| p.loss[b].total_cmp(&p.loss[a]).then(a.cmp(&b)));
            let explore = (quota as f64 * self.0.hardest_explore).round() as usize;
            let hard = quota - explore.min(quota);
            chosen.extend_from_slice(&rows[..hard]);
            let rest = &rows[hard..];
            chosen.extend(swast_coreset::quota::sample(rest, quota - hard, rng));
        }
        // probe rows are dataset indices here (the probe covers the whole training set)
        let indices = chosen.iter().map(|&r| p.indices[r]).collect();
        Ok(Coreset::unweighted(indices))
    }
}

/// swast's own parts, plus the new selector and its key.
struct WithHardest;

impl Components for WithHardest {
    fn pruner(&self, cfg: &Config, scope: Scope) -> Result<PruneScheme, PruneError> {
        swast_cli::Parts.pruner(cfg, scope)
    }

    fn selector(&self, cfg: &Config) -> Result<Box<dyn Selector>, SelectError> {
        if cfg.coreset.selector != "hardest" {
            return swast_cli::Parts.selector(cfg);
        }
        let s = HardestSettings::from_options(&cfg.coreset.options).map_err(|e| SelectError {
            selector: "hardest",
            message: e.0,
        })?;
        Ok(Box::new(Hardest(s)))
    }

    fn plugins(&self) -> Vec<PluginSchema> {
        let mut p = swast_cli::Parts.plugins();
        p.push(HARDEST);
        p
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // SWaST-cut on the embedded MNIST subset, with the new selector and its key
    let sets: Vec<String> = [
        "name=custom-selector",
        "method=swast-cut",
        "coreset.selector=hardest",
        "coreset.hardest_explore=0.3",
        "coreset.fraction=0.2",
        "coreset.interval=2",
        "train.epochs=6",
    ]
    .map(String::from)
    .to_vec();
    let cfg = Config::parse("", &sets, &WithHardest.plugins())?;
    // the key is checked at load like swast's own: a typo names the closest key
    let typo = Config::parse(
        "",
        &["coreset.hardest_explor=0.3".into()],
        &WithHardest.plugins(),
    );
    println!("a typo: {}", typo.expect_err("unknown key"));

    let dir = tempfile::tempdir()?;
    let summary = run(
        &cfg,
        &Device::flex(),
        dir.path(),
        &RunOptions::default(),
        &mut NullSink,
        &WithHardest,
    )?;
    println!(
        "swast-cut with `hardest`: test accuracy {:.2}%, {} rounds, relative FLOPs {:.3}",
        100.0 * summary.test_accuracy,
        summary.rounds,
        summary.relative_flops
    );
    Ok(())
}
