//! The dense trainer end to end: accuracy on the embedded data, bit-exact reproducibility,
//! exact resume after an interruption, and the run folder contract.

use burn::tensor::Device;
use std::path::Path;
use swast_core::config::Config;
use swast_core::events::VecSink;
use swast_core::model::param_values;
use swast_core::run::{DenseOnly, RunError, RunOptions, Summary, files, load_run, run};

fn dev() -> Device {
    Device::flex()
}

fn cfg(sets: &[&str]) -> Config {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    Config::from_toml_with_overrides("", &sets).unwrap()
}

fn go(c: &Config, dir: &Path) -> Summary {
    run(
        c,
        &dev(),
        dir,
        &RunOptions::default(),
        &mut VecSink::default(),
        &DenseOnly,
    )
    .unwrap()
}

#[test]
fn lenet5_reaches_95_percent_on_embedded() {
    let t = tempfile::tempdir().unwrap();
    let c = cfg(&["train.epochs=8", "seed=1"]);
    let s = go(&c, t.path());
    eprintln!(
        "lenet5 embedded: test accuracy {:.4} in {:.1}s",
        s.test_accuracy, s.wall_seconds
    );
    assert!(s.test_accuracy >= 0.95, "test accuracy {}", s.test_accuracy);
    assert_eq!(s.test_samples, 1000);
    assert_eq!(s.train_samples, 4000);
    assert_eq!(s.samples_seen, 8 * 4000);
    assert_eq!(s.forward_flops, 833_040);
    assert_eq!(s.train_flops, 3.0 * 833_040.0 * 32_000.0);
    assert!((s.relative_flops - 1.0).abs() < 1e-12);
}

/// Every weight and running statistic of a run's last checkpoint, with its step count.
fn weights(dir: &Path) -> (u64, Vec<(String, Vec<f32>)>) {
    let (_, trainer, _) = load_run(dir, &dev(), &DenseOnly).unwrap();
    (trainer.state().step, param_values(trainer.model()))
}

fn same(a: &Path, b: &Path) -> bool {
    // assert_eq! on megabytes of floats would print them all
    weights(a) == weights(b)
}

fn epoch_lines(dir: &Path) -> Vec<serde_json::Value> {
    swast_core::testing::logged_events(dir, &["epoch_end"])
}

#[test]
fn same_seed_is_bit_identical_and_another_seed_is_not() {
    let t = tempfile::tempdir().unwrap();
    let base = ["train.epochs=1", "data.max_train=400", "model.arch=mlp"];
    let a = cfg(&base);
    go(&a, &t.path().join("a"));
    go(&a, &t.path().join("b"));
    assert!(same(&t.path().join("a"), &t.path().join("b")));
    let mut c = a.clone();
    c.seed = 5;
    go(&c, &t.path().join("c"));
    assert!(!same(&t.path().join("a"), &t.path().join("c")));
}

#[test]
fn resume_after_interruption_ends_in_the_same_weights() {
    // ResNet-20 (BatchNorm running statistics, momentum) on 1×28×28 at quarter width
    let c = cfg(&[
        "train.epochs=3",
        "data.max_train=300",
        "model.arch=resnet20",
        "model.width=0.25",
        "train.batch_size=64",
        "data.augment=on",
        "seed=3",
    ]);
    let t = tempfile::tempdir().unwrap();
    let full = t.path().join("full");
    let cut = t.path().join("cut");
    let s_full = go(&c, &full);
    for stop in [1, 2] {
        let e = run(
            &c,
            &dev(),
            &cut,
            &RunOptions {
                stop_after_epoch: Some(stop),
                ..RunOptions::default()
            },
            &mut VecSink::default(),
            &DenseOnly,
        )
        .unwrap_err();
        assert!(matches!(e, RunError::Io { .. }), "{e}");
    }
    // a torn line appended after the last checkpoint is dropped on resume
    let mut m = std::fs::read(cut.join(files::METRICS)).unwrap();
    m.extend_from_slice(b"{\"event\":\"epoch_end\",\"epo");
    std::fs::write(cut.join(files::METRICS), m).unwrap();
    let mut events = VecSink::default();
    let s_cut = run(
        &c,
        &dev(),
        &cut,
        &RunOptions::default(),
        &mut events,
        &DenseOnly,
    )
    .unwrap();
    assert!(matches!(
        events.0[0],
        swast_core::events::Event::RunStart { start_epoch: 2, .. }
    ));
    assert!(
        same(&full, &cut),
        "resumed weights differ from the uninterrupted run's"
    );
    assert_eq!(s_full.test_accuracy, s_cut.test_accuracy);
    assert_eq!(s_full.samples_seen, s_cut.samples_seen);
    assert_eq!(epoch_lines(&full), epoch_lines(&cut));
}

#[test]
fn run_folder_contract() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("run");
    let c = cfg(&["train.epochs=1", "data.max_train=200", "model.arch=mlp"]);
    let s = go(&c, &dir);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "checkpoint.bin",
            "config.toml",
            "metrics.jsonl",
            "summary.json"
        ]
    );
    // the saved config is the resolved one and loads back to the same config
    let saved = std::fs::read_to_string(dir.join(files::CONFIG)).unwrap();
    assert_eq!(Config::from_toml_str(&saved).unwrap(), c);
    // summary.json holds the documented keys
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(files::SUMMARY)).unwrap()).unwrap();
    for k in [
        "method",
        "dataset",
        "model",
        "seed",
        "epochs",
        "test_accuracy",
        "wall_seconds",
        "samples_seen",
        "train_flops",
        "dense_train_flops",
    ] {
        assert!(v.get(k).is_some(), "summary.json lacks {k}");
    }
    // a finished run is skipped: same summary, files untouched
    let before = std::fs::read(dir.join(files::METRICS)).unwrap();
    assert_eq!(go(&c, &dir), s);
    assert_eq!(std::fs::read(dir.join(files::METRICS)).unwrap(), before);
    // another config in the same folder is refused and nothing is changed
    let other = cfg(&["train.epochs=2", "data.max_train=200", "model.arch=mlp"]);
    let e = run(
        &other,
        &dev(),
        &dir,
        &RunOptions::default(),
        &mut VecSink::default(),
        &DenseOnly,
    )
    .unwrap_err();
    assert!(matches!(e, RunError::DifferentRun { .. }), "{e}");
    assert_eq!(
        std::fs::read_to_string(dir.join(files::CONFIG)).unwrap(),
        saved
    );
}

#[test]
fn corrupt_checkpoint_is_reported_and_kept() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("run");
    let c = cfg(&["train.epochs=2", "data.max_train=200", "model.arch=mlp"]);
    let _ = run(
        &c,
        &dev(),
        &dir,
        &RunOptions {
            stop_after_epoch: Some(1),
            ..RunOptions::default()
        },
        &mut VecSink::default(),
        &DenseOnly,
    );
    let p = dir.join(files::CHECKPOINT);
    let mut b = std::fs::read(&p).unwrap();
    let n = b.len();
    b.truncate(n - 100);
    std::fs::write(&p, &b).unwrap();
    let e = run(
        &c,
        &dev(),
        &dir,
        &RunOptions::default(),
        &mut VecSink::default(),
        &DenseOnly,
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("corrupt") && e.to_string().contains("checkpoint.bin"),
        "{e}"
    );
    assert_eq!(
        std::fs::read(&p).unwrap(),
        b,
        "the damaged file is left for inspection"
    );
}

#[test]
fn unavailable_method_is_a_clear_error() {
    let t = tempfile::tempdir().unwrap();
    let c = cfg(&["method=swast-cut", "coreset.interval=2"]);
    let e = run(
        &c,
        &dev(),
        t.path(),
        &RunOptions::default(),
        &mut VecSink::default(),
        &DenseOnly,
    )
    .unwrap_err();
    assert!(e.to_string().contains("swast-cut"), "{e}");
}

fn synthetic(
    name: &str,
    shape: [usize; 3],
    labels: Vec<u16>,
    classes: usize,
) -> swast_data::Dataset {
    let n = labels.len();
    swast_data::Dataset::new(
        name,
        shape,
        swast_data::Pixels::U8 {
            values: vec![7; n * shape.iter().product::<usize>()],
            max: 255,
        },
        labels,
        None,
        (0..classes).map(|c| c.to_string()).collect(),
    )
    .unwrap()
}

#[test]
fn a_dataset_that_does_not_fit_the_model_is_an_error_not_a_panic() {
    let t = tempfile::tempdir().unwrap();
    let c = cfg(&["train.epochs=1", "data.max_train=200"]);
    go(&c, t.path());
    let (_, mut trainer, _) = load_run(t.path(), &dev(), &DenseOnly).unwrap();
    // a 3-channel CIFAR-shaped set on the 1-channel LeNet-5 built for MNIST
    let rgb = synthetic("rgb", [3, 32, 32], vec![1, 2, 3], 10);
    let e = trainer
        .train_epoch(&rgb, &[0, 1, 2], swast_core::train::EpochOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("3×32×32 images"), "{e}");
    assert!(e.contains("1×28×28 inputs"), "{e}");
    assert!(e.contains("build the model from this dataset"), "{e}");
    assert!(trainer.check_data(&rgb).is_err());
    // labels beyond the model's 10 classes
    let wide = synthetic("wide", [1, 28, 28], vec![1, 15], 20);
    let e = trainer.check_data(&wide).unwrap_err().to_string();
    assert!(e.contains("label 15") && e.contains("10 classes"), "{e}");
    // the trainer is unharmed
    let ok = synthetic("ok", [1, 28, 28], vec![1, 2], 10);
    assert!(trainer.check_data(&ok).is_ok());
    assert!(
        trainer
            .train_epoch(&ok, &[0, 1], swast_core::train::EpochOptions::default())
            .is_ok()
    );
}

#[test]
fn a_corrupted_newest_checkpoint_resumes_from_the_previous_one() {
    let t = tempfile::tempdir().unwrap();
    let c = cfg(&["train.epochs=3", "data.max_train=200", "model.arch=mlp"]);
    let (full, dir) = (t.path().join("full"), t.path().join("run"));
    go(&c, &full);
    let stop = RunOptions {
        stop_after_epoch: Some(2),
        ..RunOptions::default()
    };
    let _ = run(&c, &dev(), &dir, &stop, &mut VecSink::default(), &DenseOnly);
    // epochs 1 and 2 are on disk: the newest (2) and the previous (1)
    assert!(dir.join(files::PREVIOUS).exists());
    let p = dir.join(files::CHECKPOINT);
    let mut b = std::fs::read(&p).unwrap();
    b.truncate(b.len() - 100);
    std::fs::write(&p, &b).unwrap();
    let mut events = VecSink::default();
    run(
        &c,
        &dev(),
        &dir,
        &RunOptions::default(),
        &mut events,
        &DenseOnly,
    )
    .unwrap();
    assert!(matches!(
        events.0[0],
        swast_core::events::Event::RunStart { start_epoch: 1, .. }
    ));
    let (a, b) = (
        swast_core::testing::RunFingerprint::of(&full, &dev(), &DenseOnly),
        swast_core::testing::RunFingerprint::of(&dir, &dev(), &DenseOnly),
    );
    assert_eq!(a.difference(&b), None);
}
