//! Writing to a closed pipe (`swast data info --json | head -1`) ends every subcommand
//! quietly, with the status a Unix tool gets from SIGPIPE, never with a panic.

use std::process::{Command, Stdio};

/// Runs `swast args` with its stdout a pipe whose reading end is closed at once, and
/// returns (exit code, killed by a signal, stderr).
fn closed_stdout(args: &[&str], cwd: &std::path::Path) -> (Option<i32>, Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_swast"))
        .args(args)
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("swast starts");
    // the reader goes away before the first line is written
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("swast ends");
    #[cfg(unix)]
    let signal = std::os::unix::process::ExitStatusExt::signal(&out.status);
    #[cfg(not(unix))]
    let signal = None;
    (
        out.status.code(),
        signal,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_subcommand_ends_quietly_when_stdout_is_closed() {
    let t = tempfile::tempdir().unwrap();
    let small = [
        "--set",
        "train.epochs=2",
        "--set",
        "data.max_train=300",
        "--set",
        "coreset.interval=1",
        "--set",
        "train.batch_size=64",
    ];
    let mut train = vec!["train", "--out", "t"];
    train.extend(small);
    // a finished run for `report` and for a rerun that only prints its summary
    let done = Command::new(env!("CARGO_BIN_EXE_swast"))
        .args(["train", "--quiet", "--out", "done"])
        .args(small)
        .current_dir(t.path())
        .output()
        .unwrap();
    assert!(done.status.success());
    let mut rerun = vec!["train", "--out", "done"];
    rerun.extend(small);
    let mut run = vec!["run", "--out", "demo"];
    run.extend(small);
    let cases: Vec<Vec<&str>> = vec![
        vec!["data", "info"],
        vec!["data", "info", "--json"],
        train,
        // a finished run again: it prints its summary and returns
        rerun,
        run,
        vec!["report", "done", "--out", "rep"],
        vec!["analyze", "runge", "--seeds", "1"],
        vec!["--help"],
        vec!["--version"],
        vec!["data", "info", "--help"],
    ];
    for args in cases {
        let (code, signal, err) = closed_stdout(&args, t.path());
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "{args:?}: {err}"
        );
        // killed by SIGPIPE (13), as `cat file | head` is, or done before the first write
        assert!(
            signal == Some(13) || code == Some(0),
            "{args:?}: code {code:?}, signal {signal:?}: {err}"
        );
    }
}
