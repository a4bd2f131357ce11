//! Crash safety of the `swast` binary: SIGKILL at several points of a run, then a relaunch,
//! ends in the same weights and metrics as an uninterrupted run; SIGINT stops cleanly with a
//! checkpoint written.

use burn::tensor::Device;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use swast_cli::Parts;
use swast_core::model::param_values;
use swast_core::run::load_run;

const ARGS: [&str; 14] = [
    "train",
    "--quiet",
    "--set",
    "method=swast-cut",
    "--set",
    "train.epochs=6",
    "--set",
    "data.max_train=1500",
    "--set",
    "coreset.interval=2",
    "--set",
    "train.batch_size=32",
    "--set",
    "coreset.selector=forgetting",
];

fn launch(dir: &Path, out: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_swast"))
        .args(ARGS)
        .args(["--out", out])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("swast starts")
}

fn epoch_lines(dir: &Path) -> Vec<serde_json::Value> {
    swast_core::testing::logged_events(dir, &["epoch_end", "selection"])
}

#[test]
fn sigkill_at_random_points_then_resume_matches_an_uninterrupted_run() {
    let _s = swast_core::testing::serial();
    let t = tempfile::tempdir().unwrap();
    let t0 = Instant::now();
    assert!(launch(t.path(), "ref").wait().unwrap().success());
    let full = t0.elapsed();
    // kill points spread over the run's length (seeded, so the test is repeatable)
    let mut kills = 0;
    for frac in [0.15, 0.35, 0.55, 0.8] {
        let mut child = launch(t.path(), "cut");
        std::thread::sleep(full.mul_f64(frac));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            kills += 1;
        }
        let _ = child.wait();
    }
    let status = launch(t.path(), "cut").wait().unwrap();
    assert!(status.success());
    assert!(kills >= 2, "only {kills} kills landed inside the run");
    let (a, b) = (t.path().join("ref"), t.path().join("cut"));
    assert_eq!(epoch_lines(&a), epoch_lines(&b));
    let (_, ta, _) = load_run(&a, &Device::flex(), &Parts).unwrap();
    let (_, tb, _) = load_run(&b, &Device::flex(), &Parts).unwrap();
    assert!(
        param_values(ta.model()) == param_values(tb.model()),
        "weights differ after {kills} kills"
    );
    // no temporary files are left behind (a killed writer's are removed on resume)
    let leftovers: Vec<_> = [b.clone(), b.join("coresets")]
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn sigint_stops_cleanly_with_a_checkpoint_and_the_run_resumes() {
    let _s = swast_core::testing::serial();
    let t = tempfile::tempdir().unwrap();
    let child = launch(t.path(), "r");
    // wait for the first checkpoint, then interrupt
    let ckpt = t.path().join("r/checkpoint.bin");
    let start = Instant::now();
    while !ckpt.exists() && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        // the run was already in its last epoch: nothing to check
        return;
    }
    assert!(err.contains("interrupted after"), "{err}");
    assert!(ckpt.exists());
    assert!(!t.path().join("r/summary.json").exists());
    assert!(launch(t.path(), "r").wait().unwrap().success());
    assert!(t.path().join("r/summary.json").exists());
}

#[test]
fn a_second_process_on_the_same_folder_is_refused_and_the_first_logs_each_epoch_once() {
    let _s = swast_core::testing::serial();
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("run");
    let first = launch(t.path(), "run");
    let lock = dir.join(swast_core::run::files::LOCK);
    let t0 = Instant::now();
    while !lock.exists() {
        assert!(t0.elapsed() < Duration::from_secs(60), "no lock appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = launch(t.path(), "run").wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "the second process ran");
    assert!(
        err.contains(&format!("in use by process {}", first.id())),
        "{err}"
    );
    let out = first.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!lock.exists(), "the lock is released at the end");
    let epochs: Vec<u64> = epoch_lines(&dir)
        .iter()
        .filter(|v| v["event"] == "epoch_end")
        .map(|v| v["epoch"].as_u64().unwrap())
        .collect();
    assert_eq!(epochs, [1, 2, 3, 4, 5, 6], "each epoch logged once");
}
