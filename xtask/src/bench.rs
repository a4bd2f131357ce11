//! `cargo xtask bench [--out FILE] [--seconds S]`: training-step, probe and selection
//! throughput of LeNet-5 (1×28×28) and ResNet-20 (3×32×32) on every backend compiled into
//! xtask (`flex` always; `--features tch` / `wgpu` add theirs), as a Markdown table; when
//! `python3 -c "import torch"` works, the same model and step in PyTorch eager on the same
//! machine in the same run, and the ratio swast / PyTorch.

use crate::python::{
    TORCH_LENET5, backends, python_imports, python_json, torch_line, write_report,
};
use anyhow::Result;
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;
use swast_core::config::CoresetConfig;
use swast_core::coreset::SelectContext;
use swast_core::model::{Arch, ModelConfig};
use swast_core::probe::{Kernels, has_fused_kernels, probe_with};
use swast_core::train::{TrainConfig, Trainer};
use swast_data::{Batcher, Dataset, Normalization, Pixels, SeededRng};

const BATCH: usize = 128;

fn synthetic(n: usize, shape: [usize; 3]) -> Dataset {
    let mut r = SeededRng::new(1);
    let len = shape.iter().product::<usize>();
    Dataset::new(
        "synthetic",
        shape,
        Pixels::U8 {
            values: (0..n * len).map(|_| r.below(256) as u8).collect(),
            max: 255,
        },
        (0..n).map(|i| (i % 10) as u16).collect(),
        None,
        (0..10).map(|c| c.to_string()).collect(),
    )
    .expect("a valid synthetic set")
}

/// Calls `f` until `seconds` have passed (at least `min` times, after `warm` warm-up calls);
/// returns calls per second.
fn rate(warm: usize, min: usize, seconds: f64, mut f: impl FnMut()) -> f64 {
    for _ in 0..warm {
        f();
    }
    let t0 = Instant::now();
    let mut n = 0;
    while n < min || t0.elapsed().as_secs_f64() < seconds {
        f();
        n += 1;
    }
    n as f64 / t0.elapsed().as_secs_f64()
}

struct Row {
    backend: &'static str,
    model: &'static str,
    train: f64,
    probe: f64,
    /// The probe through burn's ops, where [`Row::probe`] ran fused kernels.
    probe_ops: Option<f64>,
    select: Vec<(&'static str, f64)>,
}

fn measure(
    backend: &'static str,
    device: &Device,
    arch: Arch,
    shape: [usize; 3],
    probe_n: usize,
    seconds: f64,
) -> Result<Row> {
    let norm = Normalization {
        mean: vec![0.5; shape[0]],
        std: vec![0.25; shape[0]],
    };
    let eval_batcher = Batcher::new(norm.clone(), false);
    let mut trainer = Trainer::builder(TrainConfig::default())
        .network(&ModelConfig {
            arch,
            // the cpu scale's MLP (issue 24): 784-1024-512-10
            mlp_hidden: vec![1024, 512],
            ..ModelConfig::default()
        })
        .input(shape, 10)
        .batchers(Batcher::new(norm.clone(), false), Batcher::new(norm, false))
        .steps_per_epoch(1_000_000)
        .seed(0)
        .build(device)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let ad = device.clone().autodiff();
    let x = Tensor::<4>::random(
        [BATCH, shape[0], shape[1], shape[2]],
        Distribution::Default,
        &ad,
    );
    let y = Tensor::<1, Int>::from_data(
        TensorData::new(
            (0..BATCH as i64).map(|i| i % 10).collect::<Vec<_>>(),
            [BATCH],
        ),
        &ad,
    );
    let steps = rate(2, 3, seconds, || {
        trainer
            .train_step(x.clone(), y.clone())
            .expect("a finite loss");
    });
    let data = synthetic(probe_n, shape);
    let all: Vec<usize> = (0..probe_n).collect();
    let mut probe = None;
    let probes = rate(1, 1, seconds, || {
        probe = Some(trainer.probe(&data, &all, 512))
    });
    let probe = probe.expect("probed");
    let probe_ops = has_fused_kernels(trainer.model(), device).then(|| {
        let model = trainer.model();
        let rate_ops = rate(1, 1, seconds, || {
            probe_with(model, &data, &all, &eval_batcher, device, 512, Kernels::Ops);
        });
        rate_ops * probe_n as f64
    });
    let mut select = Vec::new();
    for (label, name) in [
        ("EL2N", "el2n"),
        ("GradMatch", "gradmatch"),
        ("CRAIG", "craig"),
    ] {
        let mut s = swast_coreset::build(&CoresetConfig {
            selector: name.into(),
            ..CoresetConfig::default()
        })
        .unwrap();
        let ctx = SelectContext {
            probe: &probe,
            val: None,
            budget: probe_n / 10,
            epoch: 1,
            total_epochs: 10,
        };
        let per_s = rate(0, 1, seconds / 3.0, || {
            s.select(&ctx, &mut SeededRng::new(0)).expect("selects");
        });
        select.push((label, per_s * probe_n as f64));
    }
    Ok(Row {
        backend,
        model: arch.as_str(),
        train: steps * BATCH as f64,
        probe: probes * probe_n as f64,
        probe_ops,
        select,
    })
}

/// The PyTorch eager reference: the same models, batch and optimizer step (after
/// [`TORCH_LENET5`]).
const TORCH: &str = include_str!("../python/bench_step.py");

/// PyTorch's version and its train-step throughput (samples/s) per model name.
type TorchRates = (String, std::collections::HashMap<String, f64>);

fn torch_reference(seconds: f64) -> Result<Option<TorchRates>> {
    if !python_imports("torch") {
        return Ok(None);
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let v = python_json(
        "the PyTorch reference",
        &format!("{TORCH_LENET5}{TORCH}"),
        &[threads.to_string(), seconds.to_string()],
        &[],
    )?;
    let rates = ["mlp", "lenet5", "resnet20"]
        .iter()
        .map(|m| (m.to_string(), v[*m].as_f64().unwrap_or(f64::NAN)))
        .collect();
    Ok(Some((
        v["version"].as_str().unwrap_or("?").to_string(),
        rates,
    )))
}

/// `cargo xtask bench`: throughput of every compiled backend; `--tta`: time to accuracy;
/// `--vs-cords`: GradMatch and CRAIG beside CORDS' solvers.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Time to a target accuracy instead of throughput.
    #[arg(long, conflicts_with = "vs_cords")]
    pub tta: bool,
    /// GradMatch and CRAIG beside CORDS 0.0.4 on one real probe.
    #[arg(long)]
    pub vs_cords: bool,
    /// Where to write the Markdown table (default: results/bench.md, bench-tta.md or
    /// bench-vs-cords.md).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Throughput: seconds per measurement.
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// Time to accuracy: epochs per run.
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
}

impl BenchArgs {
    /// `--out`, or `default`.
    pub fn out_or(&self, default: &str) -> PathBuf {
        self.out.clone().unwrap_or_else(|| PathBuf::from(default))
    }
}

/// Entry point: `bench [--out FILE] [--seconds S]`.
pub fn main(args: &BenchArgs) -> Result<()> {
    let (out, seconds) = (args.out_or("results/bench.md"), args.seconds);
    let t0 = Instant::now();
    let mut rows = Vec::new();
    for (name, device) in backends() {
        for (arch, shape, probe_n) in [
            (Arch::Mlp, [1, 28, 28], 8192),
            (Arch::Lenet5, [1, 28, 28], 8192),
            (Arch::Resnet20, [3, 32, 32], 1024),
        ] {
            eprintln!("bench: {name} {}", arch.as_str());
            rows.push(measure(name, &device, arch, shape, probe_n, seconds)?);
        }
    }
    eprintln!("bench: PyTorch reference (if importable)");
    let torch = torch_reference(seconds)?;
    let mut md = String::from(
        "# `cargo xtask bench`\n\nThroughput in samples per second (higher is better). Train step: forward, backward and SGD (Nesterov momentum, weight decay) at batch 128 on random inputs. Probe: the inference pass selection uses (no autodiff, batch 512, per-sample losses, logits and features brought to the host); \"burn ops\": the same pass op by op through burn, where the probe column ran swast's fused kernels (LeNet-5 on flex). Selection: choosing 10% of the probed samples from the probe (host-side; samples scored per second).\n\n| backend | model | train step | probe | probe, burn ops | EL2N | GradMatch | CRAIG | PyTorch eager train step | swast / PyTorch |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in &rows {
        let reference = torch
            .as_ref()
            .and_then(|(_, rates)| rates.get(r.model).copied());
        let sel: Vec<String> = r.select.iter().map(|(_, v)| format!("{v:.0}")).collect();
        let _ = writeln!(
            md,
            "| {} | {} | {:.0} | {:.0} | {} | {} | {} | {} | {} | {} |",
            r.backend,
            r.model,
            r.train,
            r.probe,
            r.probe_ops.map_or("—".into(), |v| format!("{v:.0}")),
            sel[0],
            sel[1],
            sel[2],
            reference.map_or("—".into(), |v| format!("{v:.0}")),
            reference.map_or("—".into(), |v| format!("{:.2}", r.train / v)),
        );
    }
    md.push_str(&torch_line(
        torch.as_ref().map(|t| t.0.as_str()),
        "same models (the MLP 784-1024-512-10; LeNet-5 with max-pool; ResNet-20 with 1×1 projection shortcuts) and step",
    ));
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let _ = writeln!(
        md,
        "\n---\nCommand: `{} bench --seconds {seconds}` · {cores} cores · backends compiled in: {} · wall time {:.0} s",
        if cfg!(debug_assertions) {
            "cargo xtask"
        } else {
            "cargo run --release -p xtask --"
        },
        backends()
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", "),
        t0.elapsed().as_secs_f64()
    );
    write_report(&out, &md)
}
