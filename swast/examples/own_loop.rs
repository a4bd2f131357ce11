//! swast's selectors in a training loop of your own: a plain burn loop (burn's model,
//! optimizer and loss; none of swast's trainer or run loop) that re-selects a GradMatch
//! coreset every few epochs from the current model's outputs.
//!
//! ```text
//! cargo run --release -p swast --example own_loop
//! ```
//!
//! What swast contributes is three calls: the probe from the model's outputs
//! ([`Probe::from_tensors`]), checked settings ([`CoresetSettings::params`]) and the
//! selection ([`select`]).

// burn's derive macros name `burn::…`: swast re-exports the burn it is built on
use swast::burn;
use swast::burn::module::Module;
use swast::burn::nn::loss::CrossEntropyLossConfig;
use swast::burn::nn::{Linear, LinearConfig, Relu};
use swast::burn::optim::{GradientsParams, SgdConfig};
use swast::data::{Batcher, DatasetName, epoch_batches, load};
use swast::prelude::*;

/// A small MLP of the user's own: 784 → 128 → 10.
#[derive(Module, Debug)]
pub struct Net {
    hidden: Linear,
    out: Linear,
    act: Relu,
}

impl Net {
    fn new(device: &Device) -> Self {
        Self {
            hidden: LinearConfig::new(784, 128).init(device),
            out: LinearConfig::new(128, 10).init(device),
            act: Relu::new(),
        }
    }

    /// Features (the classifier's input) and logits.
    fn forward(&self, x: Tensor<4>) -> (Tensor<2>, Tensor<2>) {
        let [b, ..] = x.dims();
        let h = self
            .act
            .forward(self.hidden.forward(x.reshape([b as i32, -1])));
        let logits = self.out.forward(h.clone());
        (h, logits)
    }
}

/// What one run of the loop did.
#[derive(Debug)]
pub struct Report {
    /// Final test accuracy (fraction).
    pub test_accuracy: f64,
    /// The size of each selected coreset, in order.
    pub coresets: Vec<usize>,
    /// Samples trained on.
    pub samples: usize,
}

/// Trains `epochs` epochs on the embedded MNIST-5k, full data for the first `interval`
/// epochs, then on a GradMatch coreset of `fraction` re-selected every `interval` epochs.
pub fn train(
    epochs: usize,
    interval: usize,
    fraction: f64,
    seed: u64,
) -> Result<Report, Box<dyn std::error::Error>> {
    let device = Device::flex();
    device.seed(seed);
    let ad = device.clone().autodiff();
    let data = load(DatasetName::Embedded, std::path::Path::new("unused"))?;
    let batcher = Batcher::new(data.train.channel_stats(), false);
    let mut model = Net::new(&ad);
    let mut optim = SgdConfig::new().init();
    let ce = CrossEntropyLossConfig::new().init(&ad);
    let settings = CoresetSettings::params().check()?;
    let all: Vec<usize> = (0..data.train.len()).collect();
    let budget = swast::core::config::fraction_budget(fraction, all.len());
    let mut view = all.clone();
    let mut rng = SeededRng::new(seed);
    let mut report = Report {
        test_accuracy: 0.0,
        coresets: Vec::new(),
        samples: 0,
    };
    for epoch in 0..epochs {
        if epoch >= interval && epoch % interval == 0 {
            // --- swast: probe the current model, select, train on the selection ---
            let (mut labels, mut logits, mut features) = (Vec::new(), Vec::new(), Vec::new());
            let valid = model.valid();
            for chunk in all.chunks(512) {
                let b = batcher.batch(&data.train, chunk, None, &device);
                let (h, z) = valid.forward(b.images);
                labels.push(b.labels);
                logits.push(z);
                features.push(h);
            }
            let probe = Probe::from_tensors(
                Tensor::cat(labels, 0),
                Tensor::cat(logits, 0),
                Tensor::cat(features, 0),
            )?;
            let c = select(
                "gradmatch",
                &probe,
                None,
                budget,
                (epoch, epochs),
                seed + epoch as u64,
                &settings,
            )?;
            report.coresets.push(c.indices.len());
            view = c.indices;
        }
        for idx in epoch_batches(&view, 64, Some(&mut rng)) {
            let b = batcher.batch(&data.train, &idx, None, &ad);
            let (_, logits) = model.forward(b.images);
            let loss = ce.forward(logits, b.labels);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(0.05, model, grads);
            report.samples += idx.len();
        }
    }
    let valid = model.valid();
    let test: Vec<usize> = (0..data.test.len()).collect();
    let mut correct = 0usize;
    for chunk in test.chunks(512) {
        let b = batcher.batch(&data.test, chunk, None, &device);
        let (_, z) = valid.forward(b.images);
        let pred = z.argmax(1).reshape([chunk.len() as i32]);
        correct += pred.equal(b.labels).int().sum().into_scalar::<i64>() as usize;
    }
    report.test_accuracy = correct as f64 / test.len() as f64;
    Ok(report)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let r = train(12, 3, 0.2, 0)?;
    println!(
        "own loop: test accuracy {:.2}%, coresets {:?}, {} samples trained on",
        100.0 * r.test_accuracy,
        r.coresets,
        r.samples
    );
    Ok(())
}
