//! The SWaST methods end to end: SWaST-trim and SWaST-cut through the one loop, state
//! preservation, exact resume at any epoch, and the double-loss guard rolling back an
//! injected collapse.

use burn::tensor::Device;
use swast_cli::Parts;
use swast_core::config::Config;
use swast_core::events::{Event, VecSink};
use swast_core::model::param_values;
use swast_core::run::{RunOptions, Summary, load_run, run};
use swast_core::testing::serial;

fn cfg(extra: &[&str]) -> Config {
    let mut sets: Vec<String> = [
        "coreset.selector=el2n",
        "coreset.fraction=0.2",
        "coreset.interval=2",
        "coreset.warmup=1",
        "train.epochs=4",
        "train.batch_size=32",
        "data.max_train=1500",
        "prune.sparsity=0.5",
        "prune.interval_epochs=0.5",
        "seed=3",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    sets.extend(extra.iter().map(|s| s.to_string()));
    swast_cli::load_config("", &sets).unwrap()
}

fn go(c: &Config, dir: &std::path::Path, opts: &RunOptions, ev: &mut VecSink) -> Summary {
    run(c, &Device::flex(), dir, opts, ev, &Parts).unwrap()
}

/// The `Rollback` events a run emitted.
fn rollbacks(ev: &VecSink) -> Vec<&Event> {
    ev.0.iter()
        .filter(|e| matches!(e, Event::Rollback { .. }))
        .collect()
}

#[test]
fn trim_and_cut_prune_and_select_in_one_loop() {
    let _s = serial();
    let t_dir = tempfile::tempdir().unwrap();
    let t = t_dir.path().to_path_buf();
    let trim = go(
        &cfg(&["method=swast-trim"]),
        &t.join("trim"),
        &RunOptions::default(),
        &mut VecSink::default(),
    );
    let cut = go(
        &cfg(&["method=swast-cut"]),
        &t.join("cut"),
        &RunOptions::default(),
        &mut VecSink::default(),
    );
    let core = go(
        &cfg(&["method=coreset-only"]),
        &t.join("core"),
        &RunOptions::default(),
        &mut VecSink::default(),
    );
    // LeNet-5: classifier 840 weights at 90%, backbone 60,856 at 50% (cut only)
    let trim_want = 0.9 * 840.0 / 61_696.0;
    let cut_want = (0.5 * 60_856.0 + 0.9 * 840.0) / 61_696.0;
    assert!(
        (trim.final_sparsity - trim_want).abs() < 1e-3,
        "{}",
        trim.final_sparsity
    );
    assert!(
        (cut.final_sparsity - cut_want).abs() < 1e-3,
        "{}",
        cut.final_sparsity
    );
    for s in [&trim, &cut, &core] {
        assert_eq!(s.rounds, 2);
        assert!((s.coreset_fraction - 0.2).abs() < 1e-9);
        // well above chance (10%): four epochs whose coresets are EL2N's hardest 20% (before
        // its switch at half of training) at the epoch clock's learning rate are a rough ride
        // (swast-trim 41.5% here; 57.8% with the mask on the step clock)
        assert!(s.test_accuracy > 0.3, "{}: {}", s.method, s.test_accuracy);
    }
    // each round's file keeps the indices and, for pruned methods, the mask summary
    let r: swast_core::run::RoundRecord =
        serde_json::from_slice(&std::fs::read(t.join("cut/coresets/round-002.json")).unwrap())
            .unwrap();
    let masks = r.masks.expect("swast-cut rounds carry the mask summary");
    assert_eq!(masks.len(), 5);
    assert!(
        (masks[4].density - 0.1).abs() < 0.01,
        "classifier density {}",
        masks[4].density
    );
    // sparsity makes the same schedule cheaper
    assert!(cut.relative_flops < trim.relative_flops && trim.relative_flops < core.relative_flops);
}

#[test]
fn swast_cut_resumes_exactly_after_an_interruption_at_any_epoch() {
    let _s = serial();
    let c = cfg(&[
        "method=swast-cut",
        "coreset.selector=forgetting",
        "train.epochs=4",
    ]);
    let r = swast_core::testing::resume_check(&c, &Device::flex(), &Parts, &[1, 2, 3]);
    assert!(r.fingerprint.preserved.is_some() && r.fingerprint.coreset.is_some());
}

#[test]
fn guard_rolls_back_an_injected_collapse() {
    let _s = serial();
    // a class-uniform coreset, so its recorded accuracy is the model's (a hard EL2N coreset
    // is mostly misclassified to begin with)
    let c = cfg(&[
        "method=swast-cut",
        "coreset.selector=uniform",
        "guard.enabled=true",
        "train.epochs=6",
    ]);
    let t_dir = tempfile::tempdir().unwrap();
    let t = t_dir.path().to_path_buf();
    let mut ev = VecSink::default();
    let o = RunOptions {
        collapse_after_epoch: Some(3),
        ..RunOptions::default()
    };
    let s = go(&c, &t.join("g"), &o, &mut ev);
    let rollbacks = rollbacks(&ev);
    assert_eq!(rollbacks.len(), 1, "{rollbacks:?}");
    if let Event::Rollback {
        to_epoch,
        accuracy_before,
        accuracy_after,
        new_fraction,
        reason,
    } = rollbacks[0]
    {
        assert_eq!(*reason, swast_core::events::RollbackReason::AccuracyDrop);
        // selections at epochs 2, 4, 6: the round started at epoch 2 (snapshot after 1 epoch)
        assert_eq!(*to_epoch, 1);
        assert!(accuracy_before - accuracy_after > 0.2);
        assert!((new_fraction - 0.3).abs() < 1e-9);
    }
    assert_eq!(s.rollbacks, 1);
    assert!(s.test_accuracy > 0.5, "recovered run: {}", s.test_accuracy);
    // without the guard the collapse stays
    let mut c2 = c.clone();
    c2.guard.enabled = false;
    let s2 = go(&c2, &t.join("n"), &o, &mut VecSink::default());
    assert_eq!(s2.rollbacks, 0);
}

#[test]
fn a_divergence_stops_with_the_last_good_checkpoint_or_is_rolled_back_by_the_guard() {
    let _s = serial();
    let c = cfg(&[
        "method=swast-cut",
        "coreset.selector=uniform",
        "train.epochs=6",
    ]);
    let t_dir = tempfile::tempdir().unwrap();
    let t = t_dir.path().to_path_buf();
    let d = t.join("stop");
    // two good epochs, checkpointed
    let two = RunOptions {
        stop_after_epoch: Some(2),
        ..RunOptions::default()
    };
    assert!(
        run(
            &c,
            &Device::flex(),
            &d,
            &two,
            &mut VecSink::default(),
            &Parts
        )
        .is_err()
    );
    let ckpt = std::fs::read(d.join("checkpoint.bin")).unwrap();
    let metrics = std::fs::read(d.join("metrics.jsonl")).unwrap();
    // the third epoch ends with NaN weights: the run stops with a clear error
    let nan = RunOptions {
        nan_after_epoch: Some(3),
        ..RunOptions::default()
    };
    let err = run(
        &c,
        &Device::flex(),
        &d,
        &nan,
        &mut VecSink::default(),
        &Parts,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("training diverged at epoch 3"), "{err}");
    assert!(err.contains("the last good checkpoint is kept"), "{err}");
    assert_eq!(std::fs::read(d.join("checkpoint.bin")).unwrap(), ckpt);
    let after = std::fs::read(d.join("metrics.jsonl")).unwrap();
    assert!(after.starts_with(&metrics));
    assert!(!String::from_utf8_lossy(&after).contains("\"epoch\":3,"));
    assert!(!d.join("summary.json").exists());
    // the last good checkpoint resumes to the end
    let s = go(&c, &d, &RunOptions::default(), &mut VecSink::default());
    assert!(s.test_accuracy.is_finite() && s.test_accuracy > 0.5);

    // with the guard on, the same divergence is rolled back to the snapshot before the round
    let mut g = c.clone();
    g.guard.enabled = true;
    let mut ev = VecSink::default();
    let s = go(&g, &t.join("guard"), &nan, &mut ev);
    let rollbacks = rollbacks(&ev);
    assert_eq!(rollbacks.len(), 1, "{rollbacks:?}");
    if let Event::Rollback {
        to_epoch, reason, ..
    } = rollbacks[0]
    {
        assert_eq!(*reason, swast_core::events::RollbackReason::Diverged);
        assert_eq!(*to_epoch, 1, "the round that started at epoch 2");
    }
    assert_eq!(s.rollbacks, 1);
    assert!(s.test_accuracy > 0.5, "recovered run: {}", s.test_accuracy);
}

#[test]
fn probes_sharded_over_two_devices_leave_the_run_unchanged() {
    let _s = serial();
    let c = cfg(&["method=swast-cut", "coreset.selector=gradmatch"]);
    let t_dir = tempfile::tempdir().unwrap();
    let t = t_dir.path().to_path_buf();
    let one = go(
        &c,
        &t.join("one"),
        &RunOptions::default(),
        &mut VecSink::default(),
    );
    let two_opts = RunOptions {
        probe_devices: vec![Device::flex(), Device::flex()],
        ..RunOptions::default()
    };
    let two = go(&c, &t.join("two"), &two_opts, &mut VecSink::default());
    assert_eq!(one.test_accuracy, two.test_accuracy);
    assert_eq!(one.train_flops, two.train_flops);
    let (_, a, _) = load_run(&t.join("one"), &Device::flex(), &Parts).unwrap();
    let (_, b, _) = load_run(&t.join("two"), &Device::flex(), &Parts).unwrap();
    assert!(param_values(a.model()) == param_values(b.model()));
    let record = |d: &str| swast_core::run::RunRecord::of_run(&t.join(d)).unwrap();
    assert_eq!(record("one").coreset, record("two").coreset);
}

/// `(epoch, lr, mask_updates, phase)` of every `EpochEnd` a run emitted.
fn epoch_rows(ev: &VecSink) -> Vec<(usize, f64, u64, String)> {
    ev.0.iter()
        .filter_map(|e| match e {
            Event::EpochEnd {
                epoch,
                lr,
                mask_updates,
                phase,
                ..
            } => Some((*epoch, *lr, *mask_updates, phase.to_string())),
            _ => None,
        })
        .collect()
}

#[test]
fn the_first_coreset_epoch_gets_the_learning_rate_of_its_epoch_progress() {
    let _s = serial();
    let t = tempfile::tempdir().unwrap();
    // T = 4, warm-up 1, R = 2: epoch 1 on all 1,500 samples (47 steps), epoch 2 is the first
    // on a 300-sample coreset (10 steps)
    let mut ev = VecSink::default();
    go(
        &cfg(&["method=coreset-only"]),
        &t.path().join("epoch"),
        &RunOptions::default(),
        &mut ev,
    );
    let rows = epoch_rows(&ev);
    let (epoch, lr, _, phase) = &rows[1];
    assert_eq!((*epoch, phase.as_str()), (2, "coreset"));
    // its first step starts at epoch progress (2 − 1 + 0/10)/4 = 0.25
    let want = swast_core::train::cosine_lr_at(0.05, 0.25);
    assert!((lr - want).abs() < 1e-12, "lr {lr}, want {want}");
    // on the step clock the warm-up's 47 of 77 steps have already spent most of the schedule
    let mut ev = VecSink::default();
    go(
        &cfg(&["method=coreset-only", "train.clock=step"]),
        &t.path().join("step"),
        &RunOptions::default(),
        &mut ev,
    );
    let step_lr = epoch_rows(&ev)[1].1;
    let want_step = swast_core::train::cosine_lr(0.05, 47, 77);
    assert!(
        (step_lr - want_step).abs() < 1e-12,
        "{step_lr} vs {want_step}"
    );
    assert!(step_lr < 0.8 * want, "{step_lr} vs {want}");
}

#[test]
fn rigl_updates_the_mask_in_every_selection_round_before_t_end() {
    let _s = serial();
    let t = tempfile::tempdir().unwrap();
    // T = 6, R = 2, warm-up 1: rounds start at epochs 2, 4, 6; T_end = 0.75·6 = 4.5 epochs;
    // ΔT = 0.5 epochs
    let mut ev = VecSink::default();
    let s = go(
        &cfg(&["method=swast-cut", "train.epochs=6"]),
        &t.path().join("epoch"),
        &RunOptions::default(),
        &mut ev,
    );
    let rows = epoch_rows(&ev);
    let updates_at = |e: usize| if e == 0 { 0 } else { rows[e - 1].2 };
    for start in [2usize, 4] {
        let during = updates_at(start + 1) - updates_at(start - 1);
        assert!(
            during >= 2,
            "round starting at epoch {start}: {during} mask updates ({rows:?})"
        );
    }
    // none after T_end (the round starting at epoch 6 begins at progress 5 > 4.5)
    assert_eq!(updates_at(6), updates_at(5));
    assert_eq!(s.mask_updates, updates_at(6));
    assert!(s.regrown_share > 0.0, "{}", s.regrown_share);
    // on the step clock with ΔT = 100 steps, a run of 47 + 5·10 = 97 steps never updates
    let mut ev = VecSink::default();
    let s = go(
        &cfg(&[
            "method=swast-cut",
            "train.epochs=6",
            "prune.clock=step",
            "prune.interval=100",
        ]),
        &t.path().join("step"),
        &RunOptions::default(),
        &mut ev,
    );
    assert_eq!(s.mask_updates, 0);
    assert_eq!(s.regrown_share, 0.0);
}

/// The test accuracy of every `EpochEnd` a run emitted (`None`: not evaluated).
fn tested(ev: &VecSink) -> Vec<Option<f64>> {
    ev.0.iter()
        .filter_map(|e| match e {
            Event::EpochEnd { test_accuracy, .. } => Some(*test_accuracy),
            _ => None,
        })
        .collect()
}

#[test]
fn evaluation_is_skipped_on_cheap_coreset_epochs_and_changes_no_weight() {
    let _s = serial();
    let t_dir = tempfile::tempdir().unwrap();
    let t = t_dir.path();
    // 1,500 training and 1,000 test samples, 20% coresets of 300: the automatic setting
    // tests once 3,000 samples were trained since the last test, and after the last epoch
    let c = cfg(&["method=swast-cut", "train.epochs=8"]);
    let mut auto = VecSink::default();
    let a = go(&c, &t.join("auto"), &RunOptions::default(), &mut auto);
    let every = cfg(&["method=swast-cut", "train.epochs=8", "train.eval_every=1"]);
    let mut all = VecSink::default();
    let b = go(&every, &t.join("every"), &RunOptions::default(), &mut all);
    assert!(
        tested(&all).iter().all(Option::is_some),
        "{:?}",
        tested(&all)
    );
    let auto_tests = tested(&auto);
    // one full-data warm-up epoch (1,500 samples), then coresets of 300 from epoch 2: the
    // counter reaches 3,000 at epoch 6 (1,500 + 5·300); epoch 8 is the last
    let want: Vec<bool> = (1..=8).map(|t| t == 6 || t == 8).collect();
    assert_eq!(
        auto_tests.iter().map(Option::is_some).collect::<Vec<_>>(),
        want,
        "{auto_tests:?}"
    );
    // the same training: same final accuracy, and the tested epochs agree
    assert_eq!(a.test_accuracy, b.test_accuracy);
    assert_eq!(auto_tests[5], tested(&all)[5]);
    let (_, x, _) = load_run(&t.join("auto"), &Device::flex(), &Parts).unwrap();
    let (_, y, _) = load_run(&t.join("every"), &Device::flex(), &Parts).unwrap();
    assert!(param_values(x.model()) == param_values(y.model()));
    // a fixed cadence
    let k3 = cfg(&["method=swast-cut", "train.epochs=8", "train.eval_every=3"]);
    let mut ev = VecSink::default();
    go(&k3, &t.join("k3"), &RunOptions::default(), &mut ev);
    let got: Vec<bool> = tested(&ev).iter().map(Option::is_some).collect();
    assert_eq!(
        got,
        (1..=8).map(|t| t % 3 == 0 || t == 8).collect::<Vec<_>>()
    );
}

#[test]
fn with_a_checkpoint_every_three_epochs_a_killed_run_replays_to_the_same_weights() {
    let _s = serial();
    let c = cfg(&[
        "method=swast-cut",
        "coreset.selector=uniform",
        "train.epochs=6",
        "train.checkpoint_every=3",
    ]);
    let t_dir = tempfile::tempdir().unwrap();
    let (full, cut) = (t_dir.path().join("full"), t_dir.path().join("cut"));
    let mut ev = VecSink::default();
    go(&c, &full, &RunOptions::default(), &mut ev);
    // checkpoints at epochs 3 and 6 only
    let written: Vec<usize> =
        ev.0.iter()
            .filter_map(|e| match e {
                Event::Checkpoint { epoch, .. } => Some(*epoch),
                _ => None,
            })
            .collect();
    assert_eq!(written, [3, 6]);
    // a run stopped after epoch 5 writes a checkpoint there; the one before it is epoch 3's
    let o = RunOptions {
        stop_after_epoch: Some(5),
        ..RunOptions::default()
    };
    assert!(
        run(
            &c,
            &Device::flex(),
            &cut,
            &o,
            &mut VecSink::default(),
            &Parts
        )
        .is_err()
    );
    // a kill between checkpoints: epoch 5's checkpoint never made it, epoch 3's is newest
    std::fs::rename(cut.join("checkpoint.prev.bin"), cut.join("checkpoint.bin")).unwrap();
    let mut ev2 = VecSink::default();
    go(&c, &cut, &RunOptions::default(), &mut ev2);
    // epochs 4 to 6 were replayed
    let replayed: Vec<usize> = ev2
        .0
        .iter()
        .filter_map(|e| match e {
            Event::EpochEnd { epoch, .. } => Some(*epoch),
            _ => None,
        })
        .collect();
    assert_eq!(replayed, [4, 5, 6]);
    let (a, b) = (
        swast_core::testing::RunFingerprint::of(&full, &Device::flex(), &Parts),
        swast_core::testing::RunFingerprint::of(&cut, &Device::flex(), &Parts),
    );
    assert!(a.difference(&b).is_none(), "{:?}", a.difference(&b));
    // the metrics log holds each epoch once
    let log = std::fs::read_to_string(cut.join("metrics.jsonl")).unwrap();
    let epochs = log.lines().filter(|l| l.contains("\"epoch_end\"")).count();
    assert_eq!(epochs, 6, "{log}");
}
