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
use std::path::{Path, PathBuf};
use std::process::Command;

/// What `cargo xtask`, `cargo xtask help` and any `--help` print.
const USAGE: &str = "cargo xtask <task>\n  fetch-data [DIR] [NAMES...]  fetch datasets (default DIR: data)\n  ci                           run .ci/run\n  repro <target> --scale <tiny|cpu|paper> [--seeds N] [--out DIR] [--device D] [--dry-run | --plan FILE [--swast CMD] | --collect]\n  bench [--out FILE] [--seconds S]   throughput of every compiled backend (+ PyTorch)\n  bench --tta [--epochs E] [--out FILE]   time to 98.5% MNIST / 89% Fashion-MNIST (+ PyTorch)\n  bench --vs-cords [--out FILE]   GradMatch and CRAIG beside CORDS 0.0.4 on one real probe\n  setup-tch                    find PyTorch 2.9-2.11 (else install 2.9.0) + env file for --features tch\n  test-wgpu                    the device tests on wgpu over lavapipe (installs the driver)\n  test-slurm                   the tiny grid as a Slurm job array on a local one-node cluster (root)\n  chaos [--kills N] [--seed S] [--work DIR]   the tiny table1-cut plan under random SIGKILLs (not in CI)\n  py-example [--python PY] [--epochs E] [--out FILE]   the PyTorch MNIST loop with swast's GradMatch (and CORDS') selection";

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
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = root();
    if args.iter().any(|a| a == "--help" || a == "-h") || args.first().is_some_and(|a| a == "help")
    {
        println!("{USAGE}");
        return Ok(());
    }
    match args.first().map(String::as_str) {
        Some("fetch-data") => {
            let dir = root.join(args.get(1).map_or("data", String::as_str));
            let mut names: Vec<&str> = args.iter().skip(2).map(String::as_str).collect();
            if names.is_empty() {
                names = vec!["mnist", "fashion-mnist", "digits"];
            }
            let opts = swast_data::fetch::FetchOptions::from_env();
            for name in names {
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
        Some("ci") => run(Command::new("bash")
            .arg(root.join(".ci/run"))
            .current_dir(&root)),
        Some("setup-tch") => run(Command::new("bash")
            .arg(root.join("scripts/setup-tch.sh"))
            .current_dir(&root)),
        Some("test-wgpu") => test_wgpu(&root),
        Some("test-slurm") => run(Command::new("bash")
            .arg(root.join("scripts/test-slurm.sh"))
            .current_dir(&root)),
        Some("repro") => repro::main(&args[1..]),
        Some("chaos") => chaos::main(&root, &args[1..]),
        Some("py-example") => py_example::main(&root, &args[1..]),
        Some("bench") if args.iter().any(|a| a == "--tta") => tta::main(&args[1..]),
        Some("bench") if args.iter().any(|a| a == "--vs-cords") => vs_cords::main(&args[1..]),
        Some("bench") => bench::main(&args[1..]),
        Some(other) => {
            bail!(
                "unknown task `{other}`; tasks: fetch-data [DIR] [NAMES...], ci, repro, bench, chaos, py-example, setup-tch, test-wgpu, test-slurm"
            )
        }
        None => {
            println!("{USAGE}");
            Ok(())
        }
    }
}
