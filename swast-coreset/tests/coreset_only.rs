//! `method = "coreset-only"` end to end for every selector: the literal schedule, the
//! coreset size, the per-round files, selection costs charged to the run, and exact resume
//! with selector state (forgetting counters).

use burn::tensor::Device;
use swast_core::config::Config;
use swast_core::coreset::{SelectError, Selector};
use swast_core::events::{Event, VecSink};
use swast_core::prune::{PruneError, PruneScheme, Scope};
use swast_core::run::{
    Components, DenseOnly, RoundRecord, RunError, RunOptions, Summary, files, run,
};

struct Parts;
impl Components for Parts {
    fn pruner(&self, cfg: &Config, scope: Scope) -> Result<PruneScheme, PruneError> {
        DenseOnly.pruner(cfg, scope)
    }
    fn selector(&self, cfg: &Config) -> Result<Box<dyn Selector>, SelectError> {
        swast_coreset::build(&cfg.coreset)
    }
    fn plugins(&self) -> Vec<swast_core::config::PluginSchema> {
        vec![swast_coreset::SCHEMA]
    }
}

fn cfg(sets: &[String]) -> Config {
    Config::parse("", sets, &[swast_coreset::SCHEMA]).unwrap()
}

/// Runs `c` into `dir` on flex with swast-coreset's selectors, its events into `ev`.
fn train(c: &Config, dir: &std::path::Path, ev: &mut VecSink) -> Result<Summary, RunError> {
    run(c, &Device::flex(), dir, &RunOptions::default(), ev, &Parts)
}

/// The record of selection round `r` of the run in `dir` (`coresets/round-NNN.json`).
fn round(dir: &std::path::Path, r: usize) -> RoundRecord {
    let p = dir.join(files::CORESETS).join(format!("round-{r:03}.json"));
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn base(selector: &str) -> Vec<String> {
    [
        "method=coreset-only".to_string(),
        format!("coreset.selector={selector}"),
        "coreset.fraction=0.2".into(),
        "coreset.interval=2".into(),
        "coreset.warmup=1".into(),
        "train.epochs=4".into(),
        "data.max_train=2000".into(),
        "train.batch_size=32".into(),
        "data.val_fraction=0.1".into(),
        "seed=1".into(),
    ]
    .to_vec()
}

#[test]
fn coreset_only_runs_for_every_selector() {
    let _serial = swast_core::testing::serial();
    let tmp_dir = tempfile::tempdir().unwrap();
    let tmp = tmp_dir.path().to_path_buf();
    for sel in swast_coreset::selector_names() {
        let c = cfg(&base(sel));
        let dir = tmp.join(sel);
        let mut ev = VecSink::default();
        let s = train(&c, &dir, &mut ev).unwrap_or_else(|e| panic!("{sel}: {e}"));
        eprintln!(
            "{sel}: accuracy {:.3}, coreset {:.3}, selection {:.3}s, relative FLOPs {:.3}",
            s.test_accuracy, s.coreset_fraction, s.selection_seconds, s.relative_flops
        );
        // 1,800 training samples after the validation hold-out; budget round(0.2·1800) = 360
        assert_eq!(s.train_samples, 1800);
        assert!(
            (s.coreset_fraction - 0.2).abs() < 1e-9,
            "{sel}: {}",
            s.coreset_fraction
        );
        // warm-up 1, interval 2 → selections at the start of epochs 2 and 4
        assert_eq!(s.rounds, 2, "{sel}");
        let sel_epochs: Vec<usize> =
            ev.0.iter()
                .filter_map(|e| match e {
                    Event::Selection { epoch, .. } => Some(*epoch),
                    _ => None,
                })
                .collect();
        assert_eq!(sel_epochs, [2, 4], "{sel}");
        // epoch 1 full (1,800), epochs 2–4 on the coreset (360 each)
        assert_eq!(s.samples_seen, 1800 + 3 * 360, "{sel}");
        assert!(s.selection_flops > 0.0 && s.selection_seconds > 0.0);
        assert!(s.train_flops > s.selection_flops);
        assert!(s.relative_flops < 0.6, "{sel}: {}", s.relative_flops);
        assert!(s.test_accuracy > 0.3, "{sel}: accuracy {}", s.test_accuracy);
        for r in [1, 2] {
            let r = round(&dir, r);
            assert_eq!(r.indices.len(), 360);
            assert_eq!(r.ids.len(), 360);
            assert!(r.weights.iter().all(|w| *w >= 0.0));
        }
    }
}

#[test]
fn coreset_only_resume_is_exact_with_forgetting_state() {
    let _serial = swast_core::testing::serial();
    let mut sets = base("forgetting");
    sets.push("data.label_noise=0.2".into());
    let c = cfg(&sets);
    let r = swast_core::testing::resume_check(&c, &Device::flex(), &Parts, &[1, 3]);
    let full = &r.full;
    let r = round(full, 2);
    let share = r.noisy_share.expect("label noise is on");
    assert!((0.0..=1.0).contains(&share));
}

/// `coreset.pool`: a round scores a stratified random share of the training set (each round
/// its own draw) and selects from it; the probe's FLOPs follow the pool; a pool of 1 is the
/// default run, bit for bit.
#[test]
fn a_pool_scores_a_share_of_the_training_set_each_round() {
    let _serial = swast_core::testing::serial();
    let tmp = tempfile::tempdir().unwrap();
    let go = |extra: &[&str], name: &str| {
        let mut sets = base("gradmatch");
        sets.extend(extra.iter().map(|s| s.to_string()));
        let c = cfg(&sets);
        let dir = tmp.path().join(name);
        let mut ev = VecSink::default();
        let s = train(&c, &dir, &mut ev).unwrap();
        let rounds: Vec<RoundRecord> = (1..=2).map(|r| round(&dir, r)).collect();
        (s, rounds)
    };
    let (all, all_rounds) = go(&[], "all");
    let (one, one_rounds) = go(&["coreset.pool=1"], "one");
    assert_eq!(all.test_accuracy, one.test_accuracy);
    assert_eq!(all_rounds[0].indices, one_rounds[0].indices);
    assert_eq!(all_rounds[1].indices, one_rounds[1].indices);
    let (quarter, rounds) = go(&["coreset.pool=0.25"], "quarter");
    // 1,800 samples, a quarter of each class (rounded up): about 450 scored per round,
    // 360 (the budget) selected from them
    for (a, q) in all_rounds.iter().zip(&rounds) {
        assert_eq!(a.scored, 1800);
        // each class's quarter rounded up: 450 and a few
        assert!((450..460).contains(&q.scored), "scored {}", q.scored);
        assert_eq!(q.indices.len(), 360);
        let share = q.flops / a.flops;
        assert!(share > 0.2 && share < 0.3, "probe share {share}");
    }
    assert_ne!(rounds[0].indices, rounds[1].indices);
    assert!(quarter.selection_flops < 0.3 * all.selection_flops);
    assert_eq!(quarter.samples_seen, all.samples_seen);
}
