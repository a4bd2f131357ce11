//! Project tasks: `cargo xtask <task>`.
//!
//! - `fetch-data [DIR] [NAMES...]`: `swast data fetch` (default DIR: `data`, default names:
//!   mnist, fashion-mnist, digits).
//! - `ci`: run `.ci/run` (formatting, clippy, the test suite).
//! - `setup-tch`: picks an installed PyTorch tch can build against (2.9–2.11), else installs
//!   2.9.0 in a venv; writes `target-tch.env` for `--features tch`.
//! - `test-wgpu`: the device tests on wgpu over lavapipe (installs the driver if missing).
//! - `test-slurm`: the tiny `table1-cut` grid as a Slurm job array on a one-node cluster
//!   started here (root), checked against the in-process table.
//! - `bench`: throughput per compiled backend, PyTorch beside it when importable;
//!   `bench --tta`: time to a target accuracy for dense, coreset-only and SWaST-cut.
//! - `repro <target> --scale <tiny|cpu|paper> [--seeds N] [--out DIR] [--device D]
//!   [--dry-run | --plan FILE [--swast CMD] | --collect]`: the paper's tables through the
//!   swast library, beside the paper's numbers; or the grid as a plan for any job runner.

mod bench;
mod chaos;
mod py_example;
mod python;
mod repro;
mod tta;
mod vs_cords;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Project tasks.
#[derive(Parser, Debug)]
#[command(name = "cargo xtask", about = "swast's project tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand, Debug)]
enum Task {
    /// `swast data fetch` into DIR (default: data; names: mnist fashion-mnist digits).
    FetchData {
        /// The data folder.
        #[arg(default_value = "data")]
        dir: PathBuf,
        /// Datasets (mnist, fashion-mnist, digits, cifar10, cifar100, tinyimagenet).
        names: Vec<String>,
    },
    /// Run .ci/run.
    Ci,
    /// The paper's tables and figures through the library (or their grid as a plan).
    Repro(repro::ReproArgs),
    /// Throughput of every compiled backend (+ PyTorch); --tta: time to accuracy;
    /// --vs-cords: GradMatch and CRAIG beside CORDS.
    Bench(bench::BenchArgs),
    /// Find PyTorch 2.9-2.11 (else install 2.9.0) and write an env file for --features tch.
    SetupTch,
    /// The device tests on wgpu over lavapipe (installs the driver).
    TestWgpu,
    /// The tiny grid as a Slurm job array on a local one-node cluster (root).
    TestSlurm,
    /// The tiny table1-cut plan under random SIGKILLs (not in CI).
    Chaos(chaos::ChaosArgs),
    /// The PyTorch MNIST loop with swast's GradMatch (and CORDS') selection.
    PyExample(py_example::PyExampleArgs),
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// The release build of one of the workspace's binaries, built first (`cargo build
/// --release`), in the target folder cargo uses (`CARGO_TARGET_DIR` or `target/`).
pub(crate) fn release_binary(root: &Path, name: &str) -> Result<PathBuf> {
    let package = if name == "swast" { "swast-cli" } else { name };
    run(Command::new("cargo")
        .args(["build", "--release", "-p", package, "--bin", name])
        .current_dir(root))?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let target = if target.is_absolute() {
        target
    } else {
        root.join(target)
    };
    Ok(target.join("release").join(name))
}

fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

/// The device tests on wgpu through Mesa's software Vulkan driver (lavapipe), installed
/// from Debian's packages when no Vulkan driver is there; its own target folder, since the
/// wgpu build is heavy.
fn test_wgpu(root: &std::path::Path) -> Result<()> {
    let icd = std::path::Path::new("/usr/share/vulkan/icd.d");
    let has_driver = std::fs::read_dir(icd)
        .map(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().contains("lvp"))
        })
        .unwrap_or(false);
    if !has_driver {
        eprintln!("installing Mesa's Vulkan drivers (lavapipe)");
        run(Command::new("apt-get").args(["update", "-qq"]))?;
        run(Command::new("apt-get").args([
            "install",
            "-y",
            "-qq",
            "mesa-vulkan-drivers",
            "libvulkan1",
        ]))?;
    }
    let target = std::env::var("SWAST_WGPU_TARGET").unwrap_or_else(|_| {
        format!(
            "{}/.cache/swast-target-wgpu",
            std::env::var("HOME").unwrap_or_else(|_| ".".into())
        )
    });
    run(Command::new("cargo")
        .args([
            "test",
            "--release",
            "-p",
            "swast-core",
            "--features",
            "wgpu",
            "--test",
            "devices",
        ])
        .env("CARGO_TARGET_DIR", target)
        .current_dir(root))
}

fn main() -> Result<()> {
    // `cargo xtask repro … | head` ends quietly, as Unix tools do
    sigpipe::reset();
    let cli = Cli::parse();
    let root = root();
    match cli.task {
        Task::FetchData { dir, names } => {
            let dir = root.join(dir);
            let names = if names.is_empty() {
                vec!["mnist".into(), "fashion-mnist".into(), "digits".into()]
            } else {
                names
            };
            let opts = swast_data::fetch::FetchOptions::from_env();
            for name in &names {
                let mut report = |p: swast_data::fetch::Progress| {
                    if let swast_data::fetch::Progress::Failed { origin, reason } = p {
                        eprintln!("{name}: {origin} failed: {reason}");
                    }
                };
                let done = swast_data::fetch::fetch(name, &dir, &opts, &mut report)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                println!("{name}: {done:?}");
            }
            Ok(())
        }
        Task::Ci => run(Command::new("bash")
            .arg(root.join(".ci/run"))
            .current_dir(&root)),
        Task::SetupTch => run(Command::new("bash")
            .arg(root.join("scripts/setup-tch.sh"))
            .current_dir(&root)),
        Task::TestWgpu => test_wgpu(&root),
        Task::TestSlurm => run(Command::new("bash")
            .arg(root.join("scripts/test-slurm.sh"))
            .current_dir(&root)),
        Task::Repro(a) => repro::main(&a),
        Task::Chaos(a) => chaos::main(&root, &a),
        Task::PyExample(a) => py_example::main(&root, &a),
        Task::Bench(a) if a.tta => tta::main(&a),
        Task::Bench(a) if a.vs_cords => vs_cords::main(&a),
        Task::Bench(a) => bench::main(&a),
    }
}
