//! Run folders written by an older swast stay resumable.
//!
//! `fixtures/run-3b344e3/` holds a run folder written by swast at commit 3b344e3 with
//! `swast train --set method=coreset-only --set model.arch=mlp --set "model.mlp_hidden=[16]"
//! --set train.epochs=4 --set coreset.interval=2 --set data.max_train=600
//! --set train.batch_size=32` (its `summary.json` removed, so the run is not finished: its
//! checkpoint is after the last epoch). That version named the folder by a hash of every
//! resolved key, and had no `model.head_outputs`; relaunching the same command today must
//! find that folder and resume from its checkpoint, not start over in a new one.

use std::path::Path;
use std::process::Command;

const OLD: &str = "runs/demo-b45d4ae9/seed-0";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

#[test]
fn the_same_command_finds_and_resumes_a_folder_an_older_version_wrote() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run-3b344e3");
    copy_dir(&fixture, &tmp.path().join("runs"));
    let out = Command::new(env!("CARGO_BIN_EXE_swast"))
        .current_dir(tmp.path())
        .args([
            "train",
            "--set",
            "method=coreset-only",
            "--set",
            "model.arch=mlp",
            "--set",
            "model.mlp_hidden=[16]",
            "--set",
            "train.epochs=4",
            "--set",
            "coreset.interval=2",
            "--set",
            "data.max_train=600",
            "--set",
            "train.batch_size=32",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("run folder: {OLD}")),
        "the old folder was not found:\n{stdout}"
    );
    // no other folder was made
    let folders: Vec<_> = std::fs::read_dir(tmp.path().join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(folders, ["demo-b45d4ae9"]);
    // resumed after the last epoch: no epoch trained again, the summary written
    let dir = tmp.path().join(OLD);
    let metrics = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    let epochs = metrics
        .lines()
        .filter(|l| l.contains("\"event\":\"epoch_end\""))
        .count();
    assert_eq!(epochs, 4, "{metrics}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    // the old version's own final evaluation gave 0.807 (80.70%)
    assert_eq!(summary["test_accuracy"].as_f64(), Some(0.807));
    assert_eq!(summary["epochs"].as_u64(), Some(4));
}
