//! `swast train --tensorboard`: the event file holds every epoch's and selection's scalars,
//! read back through a reader that checks the CRC framing of every record, equal to the
//! values in `metrics.jsonl`. With `SWAST_PYTHON` pointing at a Python that has
//! `tensorboard`, TensorBoard's own `EventAccumulator` reads it too.

use std::path::Path;
use std::process::Command;
use swast_core::tensorboard::read_scalars;

#[test]
fn the_event_file_holds_the_runs_scalars() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("r");
    let out = Command::new(env!("CARGO_BIN_EXE_swast"))
        .args([
            "train",
            "--quiet",
            "--tensorboard",
            "--set",
            "method=swast-cut",
            "--set",
            "model.arch=mlp",
            "--set",
            "model.mlp_hidden=[32]",
            "--set",
            "train.epochs=4",
            "--set",
            "coreset.interval=2",
            "--set",
            "data.max_train=600",
            "--set",
            "train.eval_every=1",
            "--out",
        ])
        .arg(&run)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let board = run.join("tensorboard");
    let files: Vec<_> = std::fs::read_dir(&board)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        files[0]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("events.out.tfevents.")
    );
    let scalars = read_scalars(&files[0]).unwrap();
    let get = |tag: &str, step: i64| {
        scalars
            .iter()
            .find(|s| s.tag == tag && s.step == step)
            .map(|s| s.value)
    };
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let mut epochs = 0;
    let mut rounds = 0;
    for line in metrics.lines() {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        match e["event"].as_str() {
            Some("epoch_end") => {
                epochs += 1;
                let step = e["epoch"].as_i64().unwrap();
                for (tag, key) in [
                    ("train/loss", "train_loss"),
                    ("train/accuracy", "train_accuracy"),
                    ("test/accuracy", "test_accuracy"),
                    ("test/loss", "test_loss"),
                    ("train/lr", "lr"),
                    ("cost/sparsity", "sparsity"),
                ] {
                    let want = e[key].as_f64().unwrap() as f32;
                    assert_eq!(get(tag, step), Some(want), "{tag} at epoch {step}");
                }
            }
            Some("selection") => {
                rounds += 1;
                let step = e["epoch"].as_i64().unwrap();
                let want = e["size"].as_f64().unwrap() as f32;
                assert_eq!(get("selection/size", step), Some(want));
            }
            _ => {}
        }
    }
    assert_eq!(epochs, 4);
    assert!(rounds >= 1);

    // TensorBoard's own reader, when there is one
    let Ok(python) = std::env::var("SWAST_PYTHON") else {
        return;
    };
    let script = "import sys\nfrom tensorboard.backend.event_processing.event_accumulator import EventAccumulator\nea = EventAccumulator(sys.argv[1]); ea.Reload()\nprint(len(ea.Scalars('train/loss')), ea.Scalars('test/accuracy')[-1].value)";
    let has = Command::new(&python)
        .args(["-c", "import tensorboard"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has {
        return;
    }
    let o = Command::new(&python)
        .args(["-c", script])
        .arg(Path::new(&board))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.starts_with("4 "), "{text}");
}
