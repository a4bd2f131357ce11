//! What the benchmarks share: the backends compiled in, their PyTorch references (the
//! Python scripts in `xtask/python/`, compiled in), and the report they write.

use anyhow::{Context, Result, bail};
use burn::tensor::Device;

/// The backends compiled in, by `--device` name.
pub(crate) fn backends() -> Vec<(&'static str, Device)> {
    #[allow(unused_mut)]
    let mut v = vec![("flex", Device::flex())];
    #[cfg(feature = "tch")]
    #[allow(deprecated)]
    v.push(("tch-cpu", Device::libtorch()));
    #[cfg(feature = "wgpu")]
    v.push((
        "wgpu",
        Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
    ));
    v
}

/// swast's LeNet-5 in PyTorch (max-pool, ReLU), for the references that train it.
pub(crate) const TORCH_LENET5: &str = include_str!("../python/lenet5.py");

/// Whether `python3` imports `modules` (`"torch"`, `"cords, apricot"`, …).
pub(crate) fn python_imports(modules: &str) -> bool {
    std::process::Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The report's line on its PyTorch reference: `what` it ran, or why there is none.
pub(crate) fn torch_line(version: Option<&str>, what: &str) -> String {
    match version {
        Some(v) => format!(
            "\nPyTorch {v}, eager, CPU, as many threads as cores, {what}.\n"
        ),
        None => "\nNo PyTorch comparison: `python3 -c \"import torch\"` fails on this machine (install torch to add it).\n".into(),
    }
}

/// Writes a Markdown report to `out` (its folder created) and prints it with the path.
pub(crate) fn write_report(out: &std::path::Path, md: &str) -> Result<()> {
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    std::fs::write(out, md).with_context(|| format!("write {}", out.display()))?;
    println!("{md}\nwritten: {}", out.display());
    Ok(())
}

/// Runs `script` with `python3 -c` and `args` (and `env` set), and parses the JSON it
/// prints; `what` names it in errors.
pub(crate) fn python_json(
    what: &str,
    script: &str,
    args: &[String],
    env: &[(&str, &str)],
) -> Result<serde_json::Value> {
    let o = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .context("run python3")?;
    if !o.status.success() {
        bail!("{what} failed: {}", String::from_utf8_lossy(&o.stderr));
    }
    serde_json::from_slice(&o.stdout).with_context(|| format!("the output of {what}"))
}
