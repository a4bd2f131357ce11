//! Selection cost at scale: the probe pass and every selector on the training set at 10%,
//! with LeNet-5 features after one epoch of training, against the wall time of that one
//! full-data training epoch (the goal: GradMatch and CRAIG cost less than one epoch).
//!
//! Uses full MNIST (60,000 samples) when `data/mnist` exists (fetch it with
//! `swast data fetch mnist`), the embedded 4,000 otherwise. Each step is timed
//! once (they take seconds, so a statistics harness would take too long); the table is
//! printed as Markdown.
//!
//! Run: `cargo bench -p swast-coreset --bench select`

use burn::tensor::Device;
use std::path::Path;
use std::time::Instant;
use swast_core::config::CoresetConfig;
use swast_core::coreset::SelectContext;
use swast_core::model::ModelConfig;
use swast_core::train::{TrainConfig, Trainer};
use swast_data::{Batcher, DatasetName, SeededRng, load};

fn main() {
    // cargo bench passes --bench; a filter argument is not supported here
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data");
    let (name, splits) = match load(DatasetName::Mnist, &root) {
        Ok(s) => ("mnist", s),
        Err(_) => (
            "embedded",
            load(DatasetName::Embedded, &root).expect("embedded data"),
        ),
    };
    let train = splits.train;
    let n = train.len();
    let device = Device::flex();
    let norm = train.channel_stats();
    let cfg = TrainConfig {
        epochs: 1,
        ..TrainConfig::default()
    };
    let steps = n.div_ceil(cfg.batch_size) as u64;
    let mut t = Trainer::builder(cfg)
        .network(&ModelConfig::default())
        .input(train.shape(), train.num_classes())
        .batchers(Batcher::new(norm.clone(), false), Batcher::new(norm, false))
        .steps_per_epoch(steps)
        .seed(0)
        .build(&device)
        .expect("LeNet-5 builds");
    let all: Vec<usize> = (0..n).collect();
    let t0 = Instant::now();
    t.train_epoch(&train, &all, Default::default())
        .expect("trains");
    let epoch_s = t0.elapsed().as_secs_f64();

    let t0 = Instant::now();
    let probe = t.probe(&train, &all, 512);
    let probe_s = t0.elapsed().as_secs_f64();
    let val_idx: Vec<usize> = (0..splits.test.len().min(5000)).collect();
    let val = t.probe(&splits.test, &val_idx, 512);

    println!(
        "selection on {name}: {n} samples, budget 10%, LeNet-5 features (F = {})",
        probe.feature_dim
    );
    println!();
    println!("| step | seconds | × one training epoch |");
    println!("|---|---:|---:|");
    println!("| one full-data training epoch | {epoch_s:.2} | 1.00 |");
    println!(
        "| probe pass (no autodiff) | {probe_s:.2} | {:.2} |",
        probe_s / epoch_s
    );
    for label in swast_coreset::selector_names() {
        let mut s = swast_coreset::build(&CoresetConfig {
            selector: label.into(),
            ..CoresetConfig::default()
        })
        .unwrap();
        let ctx = SelectContext {
            probe: &probe,
            val: Some(&val),
            budget: n / 10,
            epoch: 1,
            total_epochs: 10,
        };
        let t0 = Instant::now();
        let c = s.select(&ctx, &mut SeededRng::new(0)).expect("selects");
        let secs = t0.elapsed().as_secs_f64();
        assert_eq!(c.indices.len(), n / 10);
        println!(
            "| {label} (selection only) | {secs:.2} | {:.2} |",
            secs / epoch_s
        );
    }
}
