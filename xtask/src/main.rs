//! Project tasks: `cargo xtask <task>`.
//!
//! - `fetch-data [DIR]`: fetch MNIST, Fashion-MNIST, MNIST-5k and digits with
//!   `../shared/data/fetch.sh` (default DIR: `data`).
//! - `ci`: run `.ci/run` (formatting, clippy, the test suite).
//! - `repro <target> --scale <tiny|cpu|paper> [--seeds N] [--out DIR] [--dry-run]`: the
//!   paper's tables through the swast library, beside the paper's numbers.

mod bench;
mod repro;

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
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

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = root();
    match args.first().map(String::as_str) {
        Some("fetch-data") => {
            let script = root.join("../shared/data/fetch.sh");
            if !script.exists() {
                bail!(
                    "{} not found: the data fetch script ships beside the repository in shared/data/",
                    script.display()
                );
            }
            let dir = args.get(1).cloned().unwrap_or_else(|| "data".into());
            run(Command::new("bash")
                .arg(script)
                .arg(dir)
                .args(&args[2.min(args.len())..])
                .current_dir(&root))
        }
        Some("ci") => run(Command::new("bash")
            .arg(root.join(".ci/run"))
            .current_dir(&root)),
        Some("repro") => repro::main(&args[1..]),
        Some("bench") => bench::main(&args[1..]),
        Some(other) => {
            bail!("unknown task `{other}`; tasks: fetch-data [DIR] [NAMES...], ci, repro, bench")
        }
        None => {
            println!(
                "cargo xtask <task>\n  fetch-data [DIR] [NAMES...]  fetch datasets (default DIR: data)\n  ci                           run .ci/run\n  repro <target> --scale <tiny|cpu|paper> [--seeds N] [--out DIR] [--dry-run]\n  bench [--out FILE] [--seconds S]   throughput of every compiled backend (+ PyTorch)"
            );
            Ok(())
        }
    }
}
