//! `swast export`: a SWaST-cut MLP run exported, read back here (the safetensors layout,
//! PyTorch's names and shapes, masked weights at zero, the coreset of the last round) and,
//! with Python's `safetensors` and numpy, its forward pass rebuilt and its test accuracy
//! checked against swast's own (`tests/python/export_check.py`).
//!
//! The Python half runs with `SWAST_PYTHON` (default `python3`) when it imports
//! `safetensors` and `numpy`; `SWAST_REQUIRE_PYTHON=1` (CI) makes a missing package a
//! failure instead of a skip.

use std::path::Path;
use std::process::Command;

fn swast(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_swast"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "swast {args:?}: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// The header of a safetensors file.
fn header(path: &Path) -> serde_json::Value {
    let b = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
    assert_eq!(8 + n + data_len(&b, n), b.len(), "{}", path.display());
    serde_json::from_slice(&b[8..8 + n]).unwrap()
}

fn data_len(b: &[u8], n: usize) -> usize {
    let h: serde_json::Value = serde_json::from_slice(&b[8..8 + n]).unwrap();
    h.as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != "__metadata__")
        .map(|(_, v)| v["data_offsets"][1].as_u64().unwrap() as usize)
        .max()
        .unwrap_or(0)
}

#[test]
fn an_exported_mlp_loads_in_pytorchs_layout_and_keeps_its_accuracy() {
    let tmp = tempfile::tempdir().unwrap();
    let run = "runs/x";
    swast(
        tmp.path(),
        &[
            "train",
            "--quiet",
            "--set",
            "method=swast-cut",
            "--set",
            "model.arch=mlp",
            "--set",
            "model.mlp_hidden=[64, 32]",
            "--set",
            "train.epochs=4",
            "--set",
            "coreset.interval=2",
            "--set",
            "data.max_train=800",
            "--out",
            run,
        ],
    );
    let printed = swast(tmp.path(), &["export", run, "--test-set"]);
    let out = tmp.path().join(run).join("export");
    for f in ["model", "masks", "coreset", "test-set"] {
        assert!(printed.contains(&format!("{f}.safetensors")), "{printed}");
    }
    let model = header(&out.join("model.safetensors"));
    // PyTorch's names and layout: Linear(784, 64).weight is [64, 784]
    assert_eq!(
        model["hidden.0.weight"]["shape"],
        serde_json::json!([64, 784])
    );
    assert_eq!(
        model["hidden.1.weight"]["shape"],
        serde_json::json!([32, 64])
    );
    assert_eq!(model["fc.weight"]["shape"], serde_json::json!([10, 32]));
    assert_eq!(model["fc.bias"]["shape"], serde_json::json!([10]));
    assert_eq!(model["__metadata__"]["arch"], "mlp");
    let masks = header(&out.join("masks.safetensors"));
    assert_eq!(masks["fc.weight"]["dtype"], "U8");
    assert_eq!(masks["fc.weight"]["shape"], serde_json::json!([10, 32]));
    let coreset = header(&out.join("coreset.safetensors"));
    assert_eq!(coreset["indices"]["shape"], serde_json::json!([80]));
    assert_eq!(coreset["__metadata__"]["round"], "2");

    // the Python half: safetensors + numpy, the forward pass rebuilt
    let python = std::env::var("SWAST_PYTHON").unwrap_or_else(|_| "python3".into());
    let has = Command::new(&python)
        .args(["-c", "import safetensors, numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has {
        assert!(
            std::env::var_os("SWAST_REQUIRE_PYTHON").is_none(),
            "{python} cannot import safetensors and numpy"
        );
        eprintln!("skipped the numpy half: {python} lacks safetensors or numpy");
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/export_check.py");
    let o = Command::new(&python)
        .arg(script)
        .arg(&out)
        .arg(tmp.path().join(run).join("summary.json"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(text.contains("numpy forward"), "{text}");
    println!("{text}");
}

#[test]
fn exporting_a_folder_without_a_run_or_in_an_unknown_format_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let fail = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_swast"))
            .current_dir(tmp.path())
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let e = fail(&["export", "."]);
    assert!(e.contains("holds no checkpoint.bin"), "{e}");
    assert!(!e.contains("panicked"), "{e}");
    let e = fail(&["export", ".", "--format", "onnx"]);
    assert!(e.contains("unknown export format `onnx`"), "{e}");
}
