//! The bad-input corpus (`tests/bad-input/cases.toml` at the repository root): every case
//! runs the `swast` binary and must end with a non-zero exit and a one-line error naming the
//! problem and the fix, with no panic, no temporary file left behind and every file already
//! in the folder unchanged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[derive(serde::Deserialize)]
struct Corpus {
    case: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    name: String,
    args: Vec<String>,
    expect: Vec<String>,
    #[serde(default)]
    fsize_kib: Option<u64>,
    #[serde(default)]
    blocker: Option<String>,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/bad-input")
}

/// Every file under `dir` with its bytes.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn swast(args: &[String], cwd: &Path, fsize_kib: Option<u64>) -> Output {
    let bin = env!("CARGO_BIN_EXE_swast");
    match fsize_kib {
        // a full disk: writes past the limit fail with EFBIG (SIGXFSZ ignored, as an
        // ignored signal stays ignored across exec)
        Some(kib) => Command::new("bash")
            .arg("-c")
            .arg(format!("trap '' XFSZ; ulimit -f {kib}; exec \"$0\" \"$@\""))
            .arg(bin)
            .args(args)
            .current_dir(cwd)
            .output()
            .unwrap(),
        None => Command::new(bin)
            .args(args)
            .current_dir(cwd)
            .output()
            .unwrap(),
    }
}

#[test]
fn every_bad_input_is_a_one_line_error_and_nothing_is_lost() {
    let dir = corpus_dir();
    let text = std::fs::read_to_string(dir.join("cases.toml")).unwrap();
    let corpus: Corpus = toml::from_str(&text).unwrap();
    assert!(corpus.case.len() >= 20, "{} cases", corpus.case.len());
    let dir = dir.canonicalize().unwrap();
    let t = tempfile::tempdir().unwrap();
    // an earlier, finished run whose files must survive every case
    let earlier: Vec<String> = [
        "train",
        "--quiet",
        "--set",
        "data.max_train=100",
        "--set",
        "train.epochs=1",
        "--out",
        "earlier",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let o = swast(&earlier, t.path(), None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(t.path().join("earlier/summary.json").is_file());
    let mut failures = Vec::new();
    for case in &corpus.case {
        if let Some(b) = &case.blocker {
            std::fs::write(t.path().join(b), b"a plain file").unwrap();
        }
        let before = files(t.path());
        let args: Vec<String> = case
            .args
            .iter()
            .map(|a| {
                a.replace("{corpus}", &dir.to_string_lossy())
                    .replace("{tmp}", &t.path().to_string_lossy())
            })
            .collect();
        let o = swast(&args, t.path(), case.fsize_kib);
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        let mut why = Vec::new();
        if o.status.success() {
            why.push("exited with success".to_string());
        }
        if err.trim().lines().count() != 1 {
            why.push("error is not one line".into());
        }
        if err.contains("panicked") {
            why.push("panicked".into());
        }
        for e in &case.expect {
            if !err.contains(e.as_str()) {
                why.push(format!("lacks `{e}`"));
            }
        }
        let after = files(t.path());
        for (p, bytes) in &before {
            if after.get(p) != Some(bytes) {
                why.push(format!("{} changed or vanished", p.display()));
            }
        }
        for p in after.keys() {
            if p.to_string_lossy().ends_with(".tmp") {
                why.push(format!("{} left behind", p.display()));
            }
        }
        if !why.is_empty() {
            failures.push(format!(
                "{}: {} (stderr: {})",
                case.name,
                why.join("; "),
                err.trim()
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn a_full_disk_on_resume_keeps_the_last_checkpoint_and_the_run_resumes_after() {
    use burn::tensor::Device;
    use swast_core::config::Config;
    use swast_core::events::VecSink;
    use swast_core::run::{RunOptions, run};
    let sets = [
        "data.max_train=300",
        "train.epochs=3",
        "coreset.interval=1",
        "method=swast-cut",
    ];
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("r");
    // one epoch done and checkpointed
    let cfg = Config::from_toml_with_overrides(
        "",
        &sets.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
    )
    .unwrap();
    let stop = RunOptions {
        stop_after_epoch: Some(1),
        ..RunOptions::default()
    };
    assert!(
        run(
            &cfg,
            &Device::flex(),
            &dir,
            &stop,
            &mut VecSink::default(),
            &swast_cli::Parts
        )
        .is_err()
    );
    let before = files(&dir);
    assert!(before.contains_key(&dir.join("checkpoint.bin")));
    let mut args: Vec<String> = vec!["train".into(), "--quiet".into()];
    for s in sets {
        args.extend(["--set".to_string(), s.to_string()]);
    }
    args.extend(["--out".to_string(), "r".to_string()]);
    // the disk fills up: the next checkpoint cannot be written
    let o = swast(&args, t.path(), Some(64));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("the disk is full"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let after = files(&dir);
    assert_eq!(
        after.get(&dir.join("checkpoint.bin")),
        before.get(&dir.join("checkpoint.bin")),
        "the last checkpoint changed"
    );
    assert!(after.keys().all(|p| !p.to_string_lossy().ends_with(".tmp")));
    // space again: the same command resumes and finishes
    let o = swast(&args, t.path(), None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let metrics = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    let ends = metrics
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("whole JSON lines"))
        .filter(|v| v["event"] == "epoch_end")
        .map(|v| v["epoch"].as_u64().unwrap())
        .collect::<Vec<_>>();
    assert_eq!(ends, vec![1, 2, 3]);
}
