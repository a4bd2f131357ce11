//! SWaST-cut on a model of your own: a small CNN defined here, not one of swast's
//! architectures, trained by swast's run (warm-up, GradMatch coresets every R epochs scored
//! with the current sparse model, RigL over the whole network with the classifier at 90%,
//! state preservation) through the library.
//!
//! ```text
//! cargo run --release -p swast --example custom_model
//! ```
//!
//! What the model needs is one trait, [`SwastModel`]: its features and logits from a batch,
//! and its prunable weights with their roles. The run takes it through a factory: a closure
//! from the input shape, class count, seed and device to the model.

// burn's derive macros name `burn::…`: swast re-exports the burn it is built on
use std::path::Path;
use swast::burn;
use swast::burn::module::Module;
use swast::burn::nn::conv::{Conv2d, Conv2dConfig};
use swast::burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig};
use swast::burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use swast::burn::tensor::activation::relu;
use swast::core::prune::LayerSummary;
use swast::prelude::*;

/// `conv3×3(C→8) → conv3×3/2(8→16) → avg-pool 4×4 → fc 256→128 → fc 128→K`: a layout
/// none of swast's architectures has (a strided convolution, adaptive pooling, two linear
/// layers of which only the last is the classifier).
#[derive(Module, Debug)]
pub struct SmallCnn {
    conv1: Conv2d,
    conv2: Conv2d,
    pool: AdaptiveAvgPool2d,
    hidden: Linear,
    head: Linear,
    /// Output positions (`H·W`) of the two convolutions, for their FLOPs.
    hw: [usize; 2],
}

impl SmallCnn {
    /// The model for inputs `[C, H, W]` and `classes` outputs.
    pub fn new(input: [usize; 3], classes: usize, device: &Device) -> Self {
        let [c, h, w] = input;
        let pad = || PaddingConfig2d::Explicit(1, 1, 1, 1);
        Self {
            conv1: Conv2dConfig::new([c, 8], [3, 3])
                .with_padding(pad())
                .init(device),
            conv2: Conv2dConfig::new([8, 16], [3, 3])
                .with_stride([2, 2])
                .with_padding(pad())
                .init(device),
            pool: AdaptiveAvgPool2dConfig::new([4, 4]).init(),
            hidden: LinearConfig::new(16 * 4 * 4, 128).init(device),
            head: LinearConfig::new(128, classes).init(device),
            hw: [h * w, h.div_ceil(2) * w.div_ceil(2)],
        }
    }
}

impl SwastModel for SmallCnn {
    fn forward_output(&self, x: Tensor<4>) -> ModelOutput {
        let x = relu(self.conv1.forward(x));
        let x = relu(self.conv2.forward(x));
        let x = self.pool.forward(x);
        let [b, ..] = x.dims();
        let features = relu(self.hidden.forward(x.reshape([b as i32, -1])));
        let logits = self.head.forward(features.clone());
        ModelOutput { features, logits }
    }

    fn layers(&self) -> Vec<LayerInfo> {
        vec![
            LayerInfo::conv("conv1", &self.conv1, self.hw[0], Role::Backbone),
            LayerInfo::conv("conv2", &self.conv2, self.hw[1], Role::Backbone),
            LayerInfo::linear("hidden", &self.hidden, Role::Backbone),
            LayerInfo::linear("head", &self.head, Role::Classifier),
        ]
    }
}

/// The run's masks, one line per prunable layer (`masks.json` of the run folder).
pub fn masks(dir: &Path) -> Result<Vec<LayerSummary>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(dir.join(swast::core::run::files::MASKS))?;
    Ok(serde_json::from_str(&text)?)
}

/// SWaST-cut on [`SmallCnn`] over the embedded MNIST subset: `epochs` epochs, a 10%
/// GradMatch coreset every `interval`, state preservation at λ = `lambda` (0: off). Returns
/// the summary and every event of the run.
pub fn train(
    dir: &Path,
    epochs: usize,
    interval: usize,
    lambda: f64,
) -> Result<(Summary, Vec<Event>), Box<dyn std::error::Error>> {
    let mut cfg = load_config(
        "",
        &[
            "method=swast-cut".into(),
            "coreset.selector=gradmatch".into(),
            "coreset.fraction=0.1".into(),
            format!("coreset.interval={interval}"),
            format!("train.epochs={epochs}"),
            "train.batch_size=32".into(),
            "data.max_train=1500".into(),
            "prune.sparsity=0.7".into(),
        ],
    )?;
    if lambda > 0.0 {
        cfg.preserve.lambda = lambda;
    } else {
        cfg.preserve.mode = swast::core::config::PreserveMode::Off;
    }
    // the model factory: any closure from a ModelSpec to the model
    let factory = |spec: &ModelSpec| -> Result<SmallCnn, ModelError> {
        // the seed drives swast's initialisation of every weight
        Ok(reinit(
            SmallCnn::new(spec.input, spec.classes, &spec.device),
            spec.seed,
        ))
    };
    let mut events = VecSink::default();
    let summary = run_with_model(
        &cfg,
        &Device::flex(),
        dir,
        &RunOptions::default(),
        &mut events,
        &Parts,
        &factory,
    )?;
    Ok((summary, events.0))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let (s, events) = train(dir.path(), 6, 2, 0.1)?;
    let rounds = events
        .iter()
        .filter(|e| matches!(e, Event::Selection { .. }))
        .count();
    println!(
        "SmallCnn, SWaST-cut: test accuracy {:.2}%, sparsity {:.1}%, {rounds} selection rounds, relative FLOPs {:.3}",
        100.0 * s.test_accuracy,
        100.0 * s.final_sparsity,
        s.relative_flops,
    );
    for l in masks(dir.path())? {
        println!("  {:<7} {:?} density {:.3}", l.name, l.role, l.density);
    }
    Ok(())
}
