//! A pruner written outside swast-prune and plugged into a pruning-only run: the pruner and
//! the wiring, nothing in swast's crates changes.
//!
//! `init-magnitude`: at step 0 each masked layer keeps its largest initial weights at the
//! run's target density (uniform per layer; `prune.sparsity` for the backbone,
//! `prune.classifier_sparsity` for the classifier), and the mask never changes — a static
//! sparse network chosen by magnitude instead of at random.
//!
//! ```text
//! cargo run --release -p swast-cli --example custom_pruner
//! ```

use swast_core::burn::tensor::Device;
use swast_core::config::{Config, PluginSchema, PluginTable};
use swast_core::coreset::{SelectError, Selector};
use swast_core::events::NullSink;
use swast_core::model::{LayerInfo, Role};
use swast_core::prune::{
    MaskSet, PruneError, PruneInit, PruneScheme, Pruner, Scope, Sparsity, WeightSource,
};
use swast_core::run::{Components, RunOptions, run};

#[derive(Debug)]
struct InitMagnitude {
    scope: Scope,
    backbone: Sparsity,
    classifier: Sparsity,
    masks: Option<MaskSet>,
}

impl Pruner for InitMagnitude {
    fn name(&self) -> &'static str {
        "init-magnitude"
    }

    fn init(&mut self, model: &dyn WeightSource, init: &PruneInit<'_>) -> Result<(), PruneError> {
        let mut masks = MaskSet::dense(init.layers, self.scope, init.device);
        let weights = model.weight_values(init.layers);
        for i in 0..masks.layers().len() {
            let info = &masks.layers()[i].info;
            let sparsity = match info.role {
                Role::Classifier => self.classifier,
                _ => self.backbone,
            };
            let w = &weights[&info.param_id];
            let kept = ((1.0 - sparsity.get()) * w.len() as f64).round() as usize;
            // the `kept` largest |w| (ties by position): higher magnitude means "keep"
            let mut order: Vec<usize> = (0..w.len()).collect();
            order.sort_by(|&a, &b| w[b].abs().total_cmp(&w[a].abs()).then(a.cmp(&b)));
            let mut keep = vec![false; w.len()];
            for &j in &order[..kept.max(1)] {
                keep[j] = true;
            }
            masks.set(i, keep);
        }
        self.masks = Some(masks);
        Ok(())
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
        let err = |message: String| PruneError {
            pruner: "init-magnitude",
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

/// swast's own parts, plus the new pruner under `prune.method = "init-magnitude"`.
struct WithInitMagnitude;

impl Components for WithInitMagnitude {
    fn pruner(&self, cfg: &Config, scope: Scope) -> Result<PruneScheme, PruneError> {
        if cfg.prune.method != "init-magnitude" {
            return swast_cli::Parts.pruner(cfg, scope);
        }
        let target = |key: &str, v: f64| {
            Sparsity::new(v).map_err(|e| PruneError {
                pruner: "init-magnitude",
                message: format!("{key}: {e}"),
            })
        };
        Ok(PruneScheme::Masks(Box::new(InitMagnitude {
            scope,
            backbone: target("prune.sparsity", cfg.prune.sparsity)?,
            classifier: target("prune.classifier_sparsity", cfg.prune.classifier_sparsity)?,
            masks: None,
        })))
    }

    fn selector(&self, cfg: &Config) -> Result<Box<dyn Selector>, SelectError> {
        swast_cli::Parts.selector(cfg)
    }

    fn plugins(&self) -> Vec<PluginSchema> {
        let mut p = swast_cli::Parts.plugins();
        // a name, no keys of its own
        p.push(PluginSchema {
            table: PluginTable::Prune,
            methods: || vec!["init-magnitude"],
            defaults: toml::Table::new,
            check: |_| Ok(()),
        });
        p
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sets: Vec<String> = [
        "name=custom-pruner",
        "method=pruning-only",
        "prune.method=init-magnitude",
        "prune.sparsity=0.5",
        "train.epochs=6",
    ]
    .map(String::from)
    .to_vec();
    let cfg = Config::parse("", &sets, &WithInitMagnitude.plugins())?;
    let dir = tempfile::tempdir()?;
    let summary = run(
        &cfg,
        &Device::flex(),
        dir.path(),
        &RunOptions::default(),
        &mut NullSink,
        &WithInitMagnitude,
    )?;
    println!(
        "pruning-only with `init-magnitude`: test accuracy {:.2}%, final sparsity {:.1}%, relative FLOPs {:.3}",
        100.0 * summary.test_accuracy,
        100.0 * summary.final_sparsity,
        summary.relative_flops
    );
    Ok(())
}
