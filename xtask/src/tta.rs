//! `cargo xtask bench --tta`: time to accuracy. On full MNIST and Fashion-MNIST, the wall
//! seconds dense, coreset-only and SWaST-cut training (LeNet-5, and the MLP on Fashion-MNIST) take to
//! first reach a target test accuracy, evaluated after every epoch with the evaluation time
//! left out, on every backend compiled in, beside PyTorch eager dense with the same recipe in
//! the same run when `python3 -c "import torch"` works.

use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use swast_cli::Parts;
use swast_core::events::{Event, EventSink};
use swast_core::run::{RunError, RunOptions, run};

/// A dataset and model with its target accuracy and the methods compared.
struct Target {
    name: &'static str,
    accuracy: f64,
    /// The model's config keys and its name for the PyTorch reference.
    model: (&'static [&'static str], &'static str),
    methods: &'static [(&'static str, &'static [&'static str])],
}

const LENET5: &[&str] = &["model.arch=lenet5"];
/// The cpu scale's MLP (issue 24), no augmentation.
const MLP: &[&str] = &[
    "model.arch=mlp",
    "model.mlp_hidden=[1024, 512]",
    "data.augment=off",
];

const TARGETS: [Target; 3] = [
    Target {
        name: "mnist",
        accuracy: 0.985,
        model: (LENET5, "lenet5"),
        methods: &METHODS,
    },
    Target {
        name: "fashion-mnist",
        accuracy: 0.89,
        model: (LENET5, "lenet5"),
        methods: &METHODS,
    },
    Target {
        name: "fashion-mnist",
        accuracy: 0.88,
        model: (MLP, "mlp"),
        methods: &MLP_METHODS,
    },
];

const CORESET_10: &[&str] = &[
    "method=coreset-only",
    "coreset.selector=gradmatch",
    "coreset.fraction=0.1",
    "coreset.interval=2",
];
const CUT_10: &[&str] = &[
    "method=swast-cut",
    "coreset.selector=gradmatch",
    "coreset.fraction=0.1",
    "coreset.interval=2",
    "prune.sparsity=0.5",
    "prune.classifier_sparsity=0.9",
];

/// The methods compared, as config keys on top of the shared recipe.
const METHODS: [(&str, &[&str]); 3] = [
    ("dense", &["method=dense"]),
    ("coreset-only", CORESET_10),
    ("swast-cut", CUT_10),
];

/// The MLP's methods: coreset-only and SWaST-cut at 10% and at 5% (issue 29).
const MLP_METHODS: [(&str, &[&str]); 5] = [
    ("dense", &["method=dense"]),
    ("coreset-only 10%", CORESET_10),
    ("swast-cut 10%", CUT_10),
    (
        "coreset-only 5%",
        &[
            "method=coreset-only",
            "coreset.selector=gradmatch",
            "coreset.fraction=0.05",
            "coreset.interval=2",
        ],
    ),
    (
        "swast-cut 5%",
        &[
            "method=swast-cut",
            "coreset.selector=gradmatch",
            "coreset.fraction=0.05",
            "coreset.interval=2",
            "prune.sparsity=0.5",
            "prune.classifier_sparsity=0.9",
        ],
    ),
];

/// One measured curve: per evaluated epoch, (seconds without evaluation so far, accuracy).
#[derive(Debug, Default)]
struct Curve {
    points: Vec<(f64, f64)>,
    /// Seconds so far, evaluation excluded.
    clock: f64,
    target: f64,
    stop: Option<Arc<AtomicBool>>,
}

impl Curve {
    fn reached(&self) -> Option<(usize, f64, f64)> {
        self.points
            .iter()
            .enumerate()
            .find(|(_, (_, a))| *a >= self.target)
            .map(|(i, (s, a))| (i + 1, *s, *a))
    }
    fn best(&self) -> f64 {
        self.points.iter().map(|p| p.1).fold(0.0, f64::max)
    }
}

impl EventSink for Curve {
    fn emit(&mut self, event: &Event) -> std::io::Result<()> {
        if let Event::EpochEnd {
            seconds,
            eval_seconds,
            test_accuracy,
            ..
        } = event
        {
            self.clock += seconds - eval_seconds;
            let acc = test_accuracy.unwrap_or(f64::NAN);
            self.points.push((self.clock, acc));
            if acc >= self.target
                && let Some(s) = &self.stop
            {
                s.store(true, Ordering::SeqCst);
            }
        }
        Ok(())
    }
}

/// Trains one method until it reaches the target (or `epochs` end).
fn swast_curve(
    device_name: &str,
    (dataset, model): (&str, &[&str]),
    method: &[&str],
    (epochs, target): (usize, f64),
    scratch: &Path,
) -> Result<Curve> {
    let mut sets: Vec<String> = vec![format!("data.dataset={dataset}"), "data.dir=data".into()];
    sets.extend(model.iter().map(|s| s.to_string()));
    sets.extend([
        format!("train.epochs={epochs}"),
        "train.eval_every=1".into(),
        format!("device={device_name}"),
        "name=tta".into(),
    ]);
    sets.extend(method.iter().map(|s| s.to_string()));
    let cfg = swast_cli::load_config("", &sets).map_err(|e| anyhow::anyhow!("{e}"))?;
    let device = swast_cli::parse_device(device_name).map_err(|e| anyhow::anyhow!(e))?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut curve = Curve {
        target,
        stop: Some(stop.clone()),
        ..Curve::default()
    };
    let opts = RunOptions {
        stop: Some(stop),
        ..RunOptions::default()
    };
    let dir = scratch.join(format!(
        "{device_name}-{dataset}-{}-{}",
        model[0],
        method.join("-").replace(['=', '.'], "_")
    ));
    let _ = std::fs::remove_dir_all(&dir);
    match run(&cfg, &device, &dir, &opts, &mut curve, &Parts) {
        Ok(_) | Err(RunError::Interrupted { .. }) => Ok(curve),
        Err(e) => Err(anyhow::anyhow!("{e}")),
    }
}

/// PyTorch eager dense LeNet-5 with the same recipe: SGD (momentum 0.9, Nesterov, weight
/// decay 5e-4), lr 0.05 cosine over the epochs' progress, batch 128, per-channel
/// normalization from the training set, a fresh shuffle every epoch, evaluation after every
/// epoch (timed apart). Prints one JSON line of (seconds, accuracy) points. Runs after
/// [`crate::python::TORCH_LENET5`].
const TORCH_TTA: &str = include_str!("../python/tta.py");

fn torch_curve(
    (dataset, arch): (&str, &str),
    epochs: usize,
    target: f64,
) -> Result<Option<(String, Curve)>> {
    if !crate::python::python_imports("torch") {
        return Ok(None);
    }
    let dir = swast_data::sources::resolve_dir(dataset.parse()?, Path::new("data"))?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let v = crate::python::python_json(
        "the PyTorch reference",
        &format!("{}{TORCH_TTA}", crate::python::TORCH_LENET5),
        &[
            dir.display().to_string(),
            epochs.to_string(),
            target.to_string(),
            threads.to_string(),
            arch.to_string(),
        ],
        &[],
    )?;
    let points = v["points"]
        .as_array()
        .context("points")?
        .iter()
        .filter_map(|p| Some((p[0].as_f64()?, p[1].as_f64()?)))
        .collect();
    Ok(Some((
        v["version"].as_str().unwrap_or("?").to_string(),
        Curve {
            points,
            target,
            ..Curve::default()
        },
    )))
}

fn cell(c: &Curve) -> (String, String) {
    match c.reached() {
        Some((epoch, secs, acc)) => (
            format!("{secs:.1}"),
            format!("epoch {epoch}, {:.2}%", 100.0 * acc),
        ),
        None => (
            "not reached".into(),
            format!(
                "best {:.2}% in {} epochs, {:.1} s",
                100.0 * c.best(),
                c.points.len(),
                c.points.last().map_or(0.0, |p| p.0)
            ),
        ),
    }
}

/// Entry point of `bench --tta [--epochs E] [--out FILE]`.
pub fn main(args: &crate::bench::BenchArgs) -> Result<()> {
    let (out, epochs) = (args.out_or("results/bench-tta.md"), args.epochs);
    let t0 = std::time::Instant::now();
    let scratch = std::env::temp_dir().join(format!("swast-tta-{}", std::process::id()));
    let mut md = format!(
        "# `cargo xtask bench --tta`\n\nWall seconds to first reach the target test accuracy, evaluated after every epoch, evaluation time excluded (selection included). LeNet-5 (and, on Fashion-MNIST, the cpu scale's MLP 784-1024-512-10 without augmentation, with coreset-only and SWaST-cut at 10% and 5%), the README recipe (SGD, Nesterov momentum 0.9, lr 0.05 cosine over {epochs} epochs' progress, weight decay 5e-4, batch 128); coreset-only and SWaST-cut select 10% with GradMatch every 2 epochs after the warm-up; SWaST-cut prunes the backbone at 50% and the classifier at 90% (RigL, ERK) with state preservation. A run stops once it reaches the target.\n\n| dataset (target) | backend | method | seconds to target | reached at |\n|---|---|---|---:|---|\n"
    );
    let mut missing = Vec::new();
    let mut torch_version = None;
    for t in &TARGETS {
        // the IDX training images are there (the runs read and check the files themselves)
        let have =
            swast_data::sources::resolve_dir(t.name.parse()?, Path::new("data")).is_ok_and(|d| {
                swast_data::readers::find_file(
                    &d,
                    &[
                        "train-images-idx3-ubyte".into(),
                        "train-images.idx3-ubyte".into(),
                    ],
                )
                .is_ok()
            });
        if !have {
            missing.push(t.name);
            continue;
        }
        let label = format!("{}, {} ({:.1}%)", t.name, t.model.1, 100.0 * t.accuracy);
        let mut rows = Vec::new();
        for (backend, _) in crate::python::backends() {
            for (method, sets) in t.methods {
                eprintln!("tta: {} {} {backend} {method}", t.name, t.model.1);
                let c = swast_curve(
                    backend,
                    (t.name, t.model.0),
                    sets,
                    (epochs, t.accuracy),
                    &scratch,
                )?;
                rows.push((backend.to_string(), method.to_string(), c));
            }
        }
        eprintln!(
            "tta: {} {} PyTorch dense (if importable)",
            t.name, t.model.1
        );
        if let Some((v, c)) = torch_curve((t.name, t.model.1), epochs, t.accuracy)? {
            torch_version = Some(v);
            rows.push(("PyTorch eager".into(), "dense".into(), c));
        }
        for (backend, method, c) in &rows {
            let (secs, at) = cell(c);
            let _ = writeln!(md, "| {label} | {backend} | {method} | {secs} | {at} |");
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    if !missing.is_empty() {
        let _ = writeln!(
            md,
            "\nSkipped (no data under `data/`): {}; `cargo xtask fetch-data data` fetches them.",
            missing.join(", ")
        );
    }
    md.push_str(&crate::python::torch_line(
        torch_version.as_deref(),
        "the same models (LeNet-5, the MLP) and recipe, tensors held in memory (no DataLoader)",
    ));
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let _ = writeln!(
        md,
        "\n---\nCommand: `cargo xtask bench --tta --epochs {epochs}` · {cores} cores · wall time {:.0} s",
        t0.elapsed().as_secs_f64()
    );
    crate::python::write_report(&out, &md)
}
