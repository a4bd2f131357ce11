//! The `swast` binary: help, version, data info, training into a run folder, and one-line
//! errors with a non-zero exit for bad input.

use std::process::{Command, Output};

fn swast(args: &[&str], cwd: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_swast"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("swast runs")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn help_and_version() {
    let t = tempfile::tempdir().unwrap();
    let o = swast(&["--version"], t.path());
    assert!(o.status.success());
    assert!(text(&o).0.contains(env!("CARGO_PKG_VERSION")));
    let o = swast(&["--help"], t.path());
    let (out, _) = text(&o);
    for cmd in ["run", "train", "data"] {
        assert!(out.contains(cmd), "{out}");
    }
}

#[test]
fn data_info_embedded() {
    let t = tempfile::tempdir().unwrap();
    let o = swast(
        &[
            "data",
            "info",
            "--dataset",
            "embedded",
            "--label-noise",
            "0.1",
        ],
        t.path(),
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        out.contains("embedded/train: 4000 samples, 10 classes, shape 1x28x28, 400 noisy labels"),
        "{out}"
    );
    assert!(out.contains("embedded/test: 1000 samples"), "{out}");
}

#[test]
fn train_writes_the_run_folder_and_reruns_are_skipped() {
    let t = tempfile::tempdir().unwrap();
    let args = [
        "train",
        "--set",
        "train.epochs=1",
        "--set",
        "data.max_train=300",
        "--set",
        "model.arch=mlp",
        "--out",
        "r",
        "--quiet",
    ];
    let o = swast(&args, t.path());
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("test accuracy"), "{out}");
    for f in ["config.toml", "metrics.jsonl", "summary.json"] {
        assert!(t.path().join("r").join(f).is_file(), "{f} missing");
    }
    let o = swast(&args, t.path());
    assert!(o.status.success());
}

#[test]
fn default_run_folder_is_named_by_config_hash_and_seed() {
    let t = tempfile::tempdir().unwrap();
    let o = swast(
        &[
            "train",
            "--set",
            "train.epochs=1",
            "--set",
            "data.max_train=200",
            "--set",
            "model.arch=mlp",
            "--set",
            "seed=4",
            "--set",
            "name=hashme",
        ],
        t.path(),
    );
    assert!(o.status.success(), "{}", text(&o).1);
    let runs: Vec<_> = std::fs::read_dir(t.path().join("runs")).unwrap().collect();
    assert_eq!(runs.len(), 1);
    let d = runs[0].as_ref().unwrap().path();
    assert!(
        d.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("hashme-")
    );
    assert!(d.join("seed-4").join("summary.json").is_file());
}

fn fails_with(args: &[&str], want: &str) {
    let t = tempfile::tempdir().unwrap();
    let o = swast(args, t.path());
    let (_, err) = text(&o);
    assert!(!o.status.success(), "{args:?} should fail");
    assert!(
        err.contains(want),
        "{args:?}: stderr `{err}` lacks `{want}`"
    );
    assert_eq!(
        err.trim().lines().count(),
        1,
        "one-line error expected: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_input_is_a_one_line_error() {
    fails_with(
        &["train", "--set", "train.lr=-1"],
        "train.lr must be a positive number",
    );
    fails_with(
        &["train", "--set", "coreset.fraction=1.5"],
        "coreset.fraction must be in (0, 1]",
    );
    fails_with(
        &["train", "--set", "train.epoch=3"],
        "did you mean `train.epochs`",
    );
    fails_with(&["train", "--set", "data.dataset=imagenet"], "imagenet");
    fails_with(
        &["train", "--config", "nope.toml"],
        "cannot read config file nope.toml",
    );
    fails_with(
        &[
            "train",
            "--set",
            "data.dataset=mnist",
            "--set",
            "data.dir=missing",
        ],
        "cargo xtask fetch-data",
    );
    fails_with(&["train", "--device", "cuda"], "needs the `cuda` feature");
    fails_with(
        &["train", "--set", "prune.sparsity=1.0"],
        "prune.sparsity must be in [0, 1)",
    );
    fails_with(
        &["train", "--set", "coreset.fraction=0"],
        "coreset.fraction must be in (0, 1]",
    );
    fails_with(
        &[
            "train",
            "--set",
            "method=swast-trim",
            "--set",
            "coreset.interval=2",
            "--set",
            "prune.method=channel-l1",
        ],
        "SWaST-trim",
    );
    // a coreset method whose schedule never selects (the defaults: 10 epochs, R = 20)
    fails_with(
        &["train", "--set", "method=swast-cut"],
        "never selects a coreset: with coreset.interval = 20 and train.epochs = 10",
    );
    // an output folder that cannot be created
    fails_with(
        &["train", "--out", "/proc/swast-cannot-write-here"],
        "/proc/swast-cannot-write-here",
    );
    fails_with(&["train", "--device", "tpu"], "unknown device `tpu`");
    fails_with(
        &["data", "info", "--dataset", "cifar10", "--dir", "nowhere"],
        "does not exist",
    );
    fails_with(
        &["train", "--set", "prune.temperature_end=0"],
        "prune.temperature_end must be a positive number",
    );
}

#[test]
fn run_compares_the_methods_and_report_aggregates_them() {
    let t = tempfile::tempdir().unwrap();
    let o = swast(
        &[
            "run",
            "--quiet",
            "--out",
            "demo",
            "--set",
            "train.epochs=4",
            "--set",
            "data.max_train=600",
            "--set",
            "coreset.interval=2",
            "--set",
            "train.batch_size=32",
        ],
        t.path(),
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    for m in [
        "dense",
        "coreset-only",
        "pruning-only",
        "swast-trim",
        "swast-cut",
    ] {
        assert!(out.contains(m), "{out}");
        assert!(t.path().join("demo").join(m).join("summary.json").is_file());
    }
    let csv = std::fs::read_to_string(t.path().join("demo/table.csv")).unwrap();
    assert_eq!(csv.lines().count(), 6, "{csv}");
    let svg = std::fs::read_to_string(t.path().join("demo/accuracy_vs_flops.svg")).unwrap();
    assert_eq!(svg.matches("<circle").count(), 5);
    let o = swast(&["report", "demo", "--out", "rep"], t.path());
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("| swast-cut |"), "{out}");
    for f in [
        "report.md",
        "report.csv",
        "accuracy_vs_flops.svg",
        "accuracy_vs_sparsity.svg",
        "accuracy_vs_coreset.svg",
        "accuracy_vs_flops.png",
        "learning_curves.svg",
        "learning_curves.png",
    ] {
        assert!(t.path().join("rep").join(f).is_file(), "{f}");
    }
    let o = swast(&["report", "nowhere"], t.path());
    assert!(!o.status.success());
}

#[test]
fn analyze_runge_prints_the_papers_pattern() {
    let t = tempfile::tempdir().unwrap();
    let o = swast(&["analyze", "runge", "--seeds", "2"], t.path());
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        out.contains("| 10 points (5 noisy) | 0.00 | 31.21 |"),
        "{out}"
    );
    assert!(out.contains("| 5 clean points | 0.47 | 0.60 |"), "{out}");
    assert!(out.contains("| 20 |"), "{out}");
    let o = swast(&["analyze", "cubic"], t.path());
    assert!(!o.status.success());
}

/// A 10-class PNG tree of real digits (the embedded MNIST-5k): 60 training and 15 test
/// images per class, the class folders named after the digits' words.
fn digit_png_tree(root: &std::path::Path) {
    const WORDS: [&str; 10] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    let s = swast_data::load(swast_data::DatasetName::Embedded, root).unwrap();
    for (split, ds, per_class) in [("train", &s.train, 60), ("test", &s.test, 15)] {
        let swast_data::Pixels::U8 { values, .. } = ds.pixels() else {
            panic!("bytes")
        };
        let mut count = [0usize; 10];
        for (i, &l) in ds.labels().iter().enumerate() {
            let l = usize::from(l);
            if count[l] == per_class {
                continue;
            }
            count[l] += 1;
            let dir = root.join(split).join(WORDS[l]);
            std::fs::create_dir_all(&dir).unwrap();
            image::GrayImage::from_raw(28, 28, values[i * 784..(i + 1) * 784].to_vec())
                .unwrap()
                .save(dir.join(format!("{i:05}.png")))
                .unwrap();
        }
    }
}

#[test]
fn train_on_an_image_folder_reports_its_classes() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("digits-png");
    digit_png_tree(&data);
    let data_dir = data.display().to_string();
    let o = swast(
        &["data", "info", "--dataset", "folder", "--dir", &data_dir],
        t.path(),
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        out.contains("folder/train: 600 samples, 10 classes, shape 1x28x28"),
        "{out}"
    );
    assert!(out.contains("folder/test: 150 samples"), "{out}");
    let o = swast(
        &[
            "train",
            "--quiet",
            "--set",
            "data.dataset=folder",
            "--set",
            &format!("data.dir={data_dir}"),
            "--set",
            "data.image_size=20",
            "--set",
            "model.arch=mlp",
            "--set",
            "train.epochs=4",
            "--set",
            "train.batch_size=32",
            "--set",
            "method=swast-cut",
            "--set",
            "coreset.fraction=0.5",
            "--set",
            "coreset.interval=2",
            "--out",
            "run",
        ],
        t.path(),
    );
    let (_, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(t.path().join("run/summary.json")).unwrap())
            .unwrap();
    assert_eq!(s["dataset"], "folder");
    assert_eq!(s["train_samples"], 600);
    assert_eq!(s["test_samples"], 150);
    let names: Vec<&str> = s["class_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "eight", "five", "four", "nine", "one", "seven", "six", "three", "two", "zero"
        ]
    );
    // real digits at 20×20: far above the 10% of chance after 4 epochs
    let acc = s["test_accuracy"].as_f64().unwrap();
    assert!(acc > 0.5, "test accuracy {acc}");
    assert!(data.join(".swast-cache/folder-20.bin").is_file());
    let cfg = std::fs::read_to_string(t.path().join("run/config.toml")).unwrap();
    assert!(cfg.contains("image_size = 20"), "{cfg}");
}

/// flex runs its ops on rayon's pool (with the patched burn-flex, `patches/`): a run gives the
/// same weights, coreset, masks and stored outputs bit for bit on one thread and on two.
#[test]
fn a_run_is_bit_identical_on_one_and_two_threads() {
    let t = tempfile::tempdir().unwrap();
    let mut prints = Vec::new();
    for threads in ["1", "2"] {
        let dir = t.path().join(format!("threads-{threads}"));
        let o = Command::new(env!("CARGO_BIN_EXE_swast"))
            .args([
                "train",
                "--set",
                "method=swast-cut",
                "--set",
                "coreset.selector=gradmatch",
                "--set",
                "coreset.fraction=0.2",
                "--set",
                "coreset.interval=1",
                "--set",
                "train.epochs=3",
                "--out",
            ])
            .arg(&dir)
            .env("RAYON_NUM_THREADS", threads)
            .current_dir(t.path())
            .output()
            .expect("swast runs");
        assert!(o.status.success(), "{:?}", text(&o));
        prints.push(swast_core::testing::RunFingerprint::of(
            &dir,
            &burn::tensor::Device::flex(),
            &swast_cli::Parts,
        ));
    }
    assert_eq!(prints[0].difference(&prints[1]), None);
}

#[test]
fn every_command_that_loads_data_refuses_an_oversized_image_side_with_one_message() {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(t.path().join("imgs/train/a")).unwrap();
    // data info: the loader's own bound (it used to abort on a 10 GB allocation)
    let o = swast(
        &[
            "data",
            "info",
            "--dataset",
            "folder",
            "--dir",
            "imgs",
            "--image-size",
            "100000",
        ],
        t.path(),
    );
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("100000") && err.contains("4096"), "{err}");
    // train and run: the config's check, with the same bound
    for cmd in ["train", "run"] {
        let o = swast(
            &[
                cmd,
                "--set",
                "data.dataset=folder",
                "--set",
                "data.dir=imgs",
                "--set",
                "data.image_size=100000",
            ],
            t.path(),
        );
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(1), "{cmd}: {err}");
        assert!(
            err.contains("data.image_size") && err.contains("4096"),
            "{cmd}: {err}"
        );
    }
}

#[test]
fn out_naming_a_file_and_a_lock_that_is_not_one_get_their_own_messages() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("afile"), "keep me").unwrap();
    for out in ["afile", "afile/below"] {
        let o = swast(
            &["train", "--set", "train.epochs=1", "--out", out],
            t.path(),
        );
        let (_, err) = text(&o);
        assert!(!o.status.success());
        assert!(
            err.contains("afile is a file, not a folder")
                && err.contains(&format!("run folder {out}:"))
                && err.contains("--out"),
            "{out}: {err}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(t.path().join("afile")).unwrap(),
        "keep me"
    );
    // a run.lock holding garbage, and one that is a folder
    std::fs::create_dir_all(t.path().join("r1")).unwrap();
    std::fs::write(t.path().join("r1/run.lock"), "garbage").unwrap();
    std::fs::create_dir_all(t.path().join("r2/run.lock")).unwrap();
    for (dir, what) in [("r1", "no `host=`"), ("r2", "it is a folder")] {
        let o = swast(
            &["train", "--set", "train.epochs=1", "--out", dir],
            t.path(),
        );
        let (_, err) = text(&o);
        assert!(!o.status.success());
        assert!(
            err.contains("is not a run lock") && err.contains(what) && !err.contains("in use"),
            "{dir}: {err}"
        );
    }
}

#[test]
fn every_session_of_a_run_is_recorded_in_run_json() {
    let t = tempfile::tempdir().unwrap();
    let args = [
        "train",
        "--quiet",
        "--set",
        "train.epochs=1",
        "--set",
        "data.max_train=200",
        "--out",
        "r",
    ];
    assert!(swast(&args, t.path()).status.success());
    // the same command again: the finished run returns at once, and says so
    assert!(swast(&args, t.path()).status.success());
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(t.path().join("r/run.json")).unwrap())
            .unwrap();
    let s = doc["sessions"].as_array().unwrap();
    assert_eq!(s.len(), 2);
    for x in s {
        assert_eq!(x["outcome"], "finished");
        assert_eq!(x["backend"], "flex");
        assert!(
            x["command_line"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == "train")
        );
        assert!(!x["commit"].as_str().unwrap().is_empty());
        assert!(x["started"].as_str().unwrap().ends_with('Z'));
        assert!(x["threads"].as_u64().unwrap() >= 1);
        // the machine's vector extensions, the record of which arithmetic made the run
        let cpu = x["cpu"].as_str().unwrap();
        assert_eq!(cpu.split(' ').next(), Some(std::env::consts::ARCH), "{cpu}");
    }
    // a refused session (another config in the folder) leaves no line
    let o = swast(
        &["train", "--quiet", "--set", "train.epochs=2", "--out", "r"],
        t.path(),
    );
    assert!(!o.status.success());
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(t.path().join("r/run.json")).unwrap())
            .unwrap();
    assert_eq!(doc["sessions"].as_array().unwrap().len(), 2);
}
