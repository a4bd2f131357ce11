//! `cargo xtask py-example`: builds the swast wheel, installs it into a Python that has
//! PyTorch (and CORDS, when installed, for the side-by-side arm) and runs
//! `swast-py/examples/torch_mnist_loop.py` on full MNIST. Not in CI: torch is gigabytes.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// `cargo xtask py-example`: the PyTorch MNIST loop with swast's GradMatch selection.
#[derive(clap::Args, Debug, Clone)]
pub struct PyExampleArgs {
    /// Python with torch (default: SWAST_TORCH_PYTHON, else python3).
    #[arg(long)]
    pub python: Option<String>,
    /// MNIST folder.
    #[arg(long, default_value = "data/mnist")]
    pub data: String,
    /// Epochs.
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Where to write the Markdown report.
    #[arg(long, default_value = "results/python-example.md")]
    pub out: PathBuf,
}

/// Entry point: `py-example [--python PY] [--data DIR] [--epochs E] [--out FILE]`.
pub fn main(root: &Path, args: &PyExampleArgs) -> Result<()> {
    let python = args.python.clone().unwrap_or_else(|| {
        std::env::var("SWAST_TORCH_PYTHON").unwrap_or_else(|_| "python3".into())
    });
    let (data, epochs, out) = (args.data.clone(), args.epochs.to_string(), args.out.clone());
    let ok = |args: &[&str]| {
        Command::new(&python)
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !ok(&["-c", "import torch"]) {
        bail!(
            "{python} cannot import torch: pass --python (or set SWAST_TORCH_PYTHON) to a Python with PyTorch installed"
        );
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let wheels = target.join("wheels");
    let _ = std::fs::remove_dir_all(&wheels);
    // maturin from that Python, else from PATH
    let mut build = if ok(&["-m", "maturin", "--version"]) {
        let mut c = Command::new(&python);
        c.args(["-m", "maturin"]);
        c
    } else {
        Command::new("maturin")
    };
    crate::run(
        build
            .args(["build", "--release", "-m", "swast-py/Cargo.toml", "-o"])
            .arg(&wheels)
            .current_dir(root),
    )
    .context("building the wheel needs maturin (pip install maturin)")?;
    let wheel = std::fs::read_dir(&wheels)?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .context("maturin wrote no wheel")?;
    crate::run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "-q",
                "--force-reinstall",
                "--no-deps",
            ])
            .arg(&wheel),
    )?;
    if let Some(d) = out.parent() {
        std::fs::create_dir_all(d)?;
    }
    crate::run(
        Command::new(&python)
            .arg("swast-py/examples/torch_mnist_loop.py")
            .args(["--data", &data, "--epochs", &epochs, "--out"])
            .arg(&out)
            .current_dir(root),
    )?;
    eprintln!("written: {}", out.display());
    Ok(())
}
