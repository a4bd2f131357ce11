//! A SWaST-cut run driven from library code, with its own event sink: the config built in
//! code, every epoch and selection printed as it happens, the summary read back.
//!
//! ```text
//! cargo run --release -p swast-cli --example library_run
//! ```

use swast_core::burn::tensor::Device;
use swast_core::config::{Config, Method};
use swast_core::events::{Event, EventSink};
use swast_core::run::{RunOptions, run};

/// Prints a line per epoch and per selection round, and keeps the test accuracies.
#[derive(Debug, Default)]
struct Progress {
    accuracies: Vec<f64>,
}

impl EventSink for Progress {
    fn emit(&mut self, event: &Event) -> std::io::Result<()> {
        match event {
            Event::Selection {
                round, epoch, size, ..
            } => println!("  round {round}: {size} samples selected for epoch {epoch}"),
            Event::EpochEnd {
                epoch,
                epochs,
                phase,
                test_accuracy,
                sparsity,
                ..
            } => {
                // a test pass every few epochs on a coreset (`train.eval_every`)
                let test = test_accuracy.map_or("not evaluated".into(), |a| {
                    self.accuracies.push(a);
                    format!("test {:.2}%", 100.0 * a)
                });
                println!(
                    "epoch {epoch}/{epochs} ({phase}): {test}, sparsity {:.1}%",
                    100.0 * sparsity
                );
            }
            _ => {}
        }
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // the config in code: SWaST-cut (whole-network RigL, classifier at 90%, state
    // preservation) on the embedded MNIST subset, 10% EL2N coresets every 2 epochs
    let mut cfg = Config {
        name: "library-run".into(),
        method: Method::SwastCut,
        ..Config::default()
    };
    cfg.train.epochs = 6;
    cfg.coreset.selector = "el2n".into();
    cfg.coreset.fraction = 0.1;
    cfg.coreset.interval = 2;
    cfg.prune.sparsity = 0.7;
    // a key of swast-coreset's own, set in code; `run` checks it like one from a file
    cfg.coreset
        .options
        .insert("el2n_switch".into(), toml::Value::Float(0.6));

    let dir = tempfile::tempdir()?;
    let mut sink = Progress::default();
    let summary = run(
        &cfg,
        &Device::flex(),
        dir.path(),
        &RunOptions::default(),
        &mut sink,
        &swast_cli::Parts,
    )?;
    let best = sink.accuracies.iter().copied().fold(0.0, f64::max);
    println!(
        "final {:.2}% (best epoch {:.2}%), sparsity {:.1}%, relative FLOPs {:.3}, {:.1}s",
        100.0 * summary.test_accuracy,
        100.0 * best,
        100.0 * summary.final_sparsity,
        summary.relative_flops,
        summary.wall_seconds
    );
    // the run folder holds the resolved config (every key, swast-coreset's included)
    let resolved = std::fs::read_to_string(dir.path().join("config.toml"))?;
    assert!(resolved.contains("el2n_switch = 0.6"));
    Ok(())
}
