//! Pruners inside the real trainer: masks stay exact through SGD with momentum, Nesterov and
//! weight decay; RigL keeps per-layer sparsity while it rewires; checkpoints restore masks
//! bit-exactly; `pruning-only` runs end to end for every pruner.

use burn::tensor::Device;
use proptest::prelude::*;
use std::collections::HashMap;
use swast_core::config::{Config, PluginSchema, PruneConfig};
use swast_core::coreset::{SelectError, Selector};
use swast_core::events::VecSink;
use swast_core::model::{Arch, ModelConfig, SwastModel};
use swast_core::prune::{Density, PruneError, PruneScheme, Scope, weight_values};
use swast_core::run::{Components, DenseOnly, RunOptions, files, load_run, run};
use swast_core::train::{TrainConfig, Trainer};
use swast_data::{Batcher, Dataset, Normalization, Pixels, SeededRng};
use swast_prune::Distribution;
use swast_prune::distribution::densities;

fn dev() -> Device {
    Device::flex()
}

struct Parts;
impl Components for Parts {
    fn pruner(&self, cfg: &Config, scope: Scope) -> Result<PruneScheme, PruneError> {
        swast_prune::build(&cfg.prune, scope, cfg.seed)
    }
    fn selector(&self, cfg: &Config) -> Result<Box<dyn Selector>, SelectError> {
        DenseOnly.selector(cfg)
    }
    fn plugins(&self) -> Vec<PluginSchema> {
        vec![swast_prune::SCHEMA]
    }
}

/// 64 random 1×6×6 images in 3 classes.
fn toy_data(seed: u64) -> Dataset {
    let mut r = SeededRng::new(seed);
    let n = 64;
    let values: Vec<u8> = (0..n * 36).map(|_| r.below(256) as u8).collect();
    Dataset::new(
        "toy",
        [1, 6, 6],
        Pixels::U8 { values, max: 255 },
        (0..n).map(|i| (i % 3) as u16).collect(),
        None,
        vec!["a".into(), "b".into(), "c".into()],
    )
    .unwrap()
}

fn trainer(pcfg: &PruneConfig, seed: u64, wd: f64) -> Trainer {
    let norm = Normalization {
        mean: vec![0.5],
        std: vec![0.25],
    };
    let mut t = Trainer::builder(TrainConfig {
        epochs: 50,
        batch_size: 16,
        lr: 0.1,
        weight_decay: wd,
        ..TrainConfig::default()
    })
    .network(&ModelConfig {
        arch: Arch::Mlp,
        mlp_hidden: vec![24, 16],
        ..ModelConfig::default()
    })
    .input([1, 6, 6], 3)
    .batchers(Batcher::new(norm.clone(), false), Batcher::new(norm, false))
    .steps_per_epoch(4)
    .seed(seed)
    .build(&dev())
    .unwrap();
    let PruneScheme::Masks(p) = swast_prune::build(pcfg, Scope::All, seed).unwrap() else {
        panic!("{:?} is a mask pruner", pcfg.method);
    };
    t.set_pruner(p).unwrap();
    t
}

fn zeros_match_masks(t: &Trainer) -> Result<(), TestCaseError> {
    let masks = t.masks().unwrap();
    let infos: Vec<_> = masks.layers().iter().map(|l| l.info.clone()).collect();
    let w = weight_values(t.model(), &infos);
    for l in masks.layers() {
        for (k, v) in l.keep().iter().zip(&w[&l.info.param_id]) {
            if !*k {
                prop_assert_eq!(*v, 0.0, "pruned weight of {} is {}", l.info.name, v);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn masked_weights_stay_exactly_zero_under_momentum_nesterov_and_decay(
        seed in any::<u64>(), sparsity in 0.2f64..0.95, wd in 0.0f64..0.01
    ) {
        let cfg = PruneConfig { method: "random".into(), sparsity, classifier_sparsity: sparsity, ..PruneConfig::default() };
        let mut t = trainer(&cfg, seed, wd);
        let data = toy_data(seed);
        let view: Vec<usize> = (0..data.len()).collect();
        for _ in 0..5 {
            t.train_epoch(&data, &view, Default::default()).unwrap();
            zeros_match_masks(&t)?;
        }
    }

    #[test]
    fn rigl_keeps_every_layer_sparsity_while_rewiring(seed in any::<u64>(), sparsity in 0.3f64..0.9) {
        let cfg = PruneConfig { method: "rigl".into(), sparsity, classifier_sparsity: 0.5, clock: swast_core::schedule::Clock::Step, interval: 2, end: 1.0, ..PruneConfig::default() };
        let mut t = trainer(&cfg, seed, 5e-4);
        let kept0: Vec<usize> = t.masks().unwrap().layers().iter().map(|l| l.kept()).collect();
        let first: Vec<Vec<bool>> = t.masks().unwrap().keep_flags();
        let data = toy_data(seed);
        let view: Vec<usize> = (0..data.len()).collect();
        for _ in 0..6 {
            t.train_epoch(&data, &view, Default::default()).unwrap();
            let kept: Vec<usize> = t.masks().unwrap().layers().iter().map(|l| l.kept()).collect();
            prop_assert_eq!(&kept, &kept0);
            zeros_match_masks(&t)?;
        }
        let last: Vec<Vec<bool>> = t.masks().unwrap().keep_flags();
        prop_assert_ne!(first, last, "RigL never changed a mask");
    }

    #[test]
    fn erk_and_er_average_to_the_target_and_stay_at_most_one(
        shapes in proptest::collection::vec((1usize..64, 1usize..64, 1usize..4), 1..12),
        target in 0.01f64..1.0, er in any::<bool>()
    ) {
        let layers: Vec<swast_core::model::LayerInfo> = shapes.iter().map(|&(o, i, k)| swast_core::model::LayerInfo {
            name: String::new(), kind: swast_core::model::LayerKind::Conv, role: swast_core::model::Role::Backbone,
            param_id: burn::module::ParamId::new(), shape: vec![o, i, k, k], params: o * i * k * k, flops: 0,
        }).collect();
        let refs: Vec<_> = layers.iter().collect();
        let dist = if er { Distribution::Er } else { Distribution::Erk };
        let d = densities(&refs, Density::new(target).unwrap(), dist);
        let total: f64 = layers.iter().map(|l| l.params as f64).sum();
        let kept: f64 = layers.iter().zip(&d).map(|(l, d)| l.params as f64 * d.get()).sum();
        prop_assert!((kept / total - target).abs() < 1e-9, "mean density {} vs {target}", kept / total);
        prop_assert!(d.iter().all(|x| x.get() <= 1.0 && x.get() > 0.0));
    }
}

#[test]
fn pruner_state_round_trips_masks_bit_exactly() {
    let cfg = PruneConfig {
        method: "rigl".into(),
        clock: swast_core::schedule::Clock::Step,
        interval: 1,
        end: 1.0,
        ..PruneConfig::default()
    };
    let mut t = trainer(&cfg, 9, 5e-4);
    let data = toy_data(9);
    let view: Vec<usize> = (0..data.len()).collect();
    t.train_epoch(&data, &view, Default::default()).unwrap();
    let tmp_dir = tempfile::tempdir().unwrap();
    let tmp = tmp_dir.path().join("checkpoint.bin");
    t.save_checkpoint(&tmp, &[]).unwrap();
    let mut fresh = trainer(&cfg, 9, 5e-4);
    let before: Vec<Vec<bool>> = fresh.masks().unwrap().keep_flags();
    fresh.load_checkpoint(&tmp).unwrap();
    let a: Vec<Vec<bool>> = t.masks().unwrap().keep_flags();
    let b: Vec<Vec<bool>> = fresh.masks().unwrap().keep_flags();
    assert_eq!(a, b);
    assert_ne!(before, b, "the rewired masks differ from the initial ones");
}

fn cfg(sets: &[&str]) -> Config {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    Config::parse("", &sets, &[swast_prune::SCHEMA]).unwrap()
}

#[test]
fn pruning_only_runs_for_every_pruner() {
    let tmp_dir = tempfile::tempdir().unwrap();
    let tmp = tmp_dir.path().to_path_buf();
    for method in ["rigl", "random", "magnitude", "gmp", "snip", "probmask"] {
        let c = cfg(&[
            "method=pruning-only",
            &format!("prune.method={method}"),
            "prune.sparsity=0.8",
            "prune.classifier_sparsity=0.9",
            "prune.interval_epochs=0.25",
            "prune.begin=0.2",
            "train.epochs=4",
            "data.max_train=2000",
            "seed=2",
        ]);
        let dir = tmp.join(method);
        let s = run(
            &c,
            &dev(),
            &dir,
            &RunOptions::default(),
            &mut VecSink::default(),
            &Parts,
        )
        .unwrap();
        eprintln!(
            "{method}: accuracy {:.3}, sparsity {:.4}, relative FLOPs {:.3}",
            s.test_accuracy, s.final_sparsity, s.relative_flops
        );
        // LeNet-5 on 28×28: backbone 60,856 weights at 80% (ERK), classifier 840 at 90%
        let want = (0.8 * 60_856.0 + 0.9 * 840.0) / 61_696.0;
        assert!(
            (s.final_sparsity - want).abs() < 1e-3,
            "{method}: sparsity {} vs {want}",
            s.final_sparsity
        );
        assert!(
            s.relative_flops < 0.9,
            "{method}: relative FLOPs {}",
            s.relative_flops
        );
        assert!(
            s.test_accuracy > 0.25,
            "{method}: accuracy {}",
            s.test_accuracy
        );
        assert!(dir.join(files::MASKS).is_file());
        let (_, t, _) = load_run(&dir, &dev(), &Parts).unwrap();
        let layers = t.model().layers();
        let masks = t.masks().unwrap();
        let w = weight_values(t.model(), &layers);
        let zeros: HashMap<_, usize> = layers
            .iter()
            .map(|l| {
                (
                    l.param_id,
                    w[&l.param_id].iter().filter(|v| **v == 0.0).count(),
                )
            })
            .collect();
        for l in masks.layers() {
            let masked = l.keep().iter().filter(|k| !**k).count();
            assert!(
                zeros[&l.info.param_id] >= masked,
                "{method}: {} has unmasked zeros",
                l.info.name
            );
        }
    }
}

#[test]
fn pruning_only_resume_is_exact() {
    for method in ["rigl", "probmask"] {
        resume_is_exact(method);
    }
}

fn resume_is_exact(method: &str) {
    let c = cfg(&[
        "method=pruning-only",
        &format!("prune.method={method}"),
        "prune.interval_epochs=0.5",
        "train.epochs=3",
        "data.max_train=400",
        "seed=4",
    ]);
    let r = swast_core::testing::resume_check(&c, &dev(), &Parts, &[1]);
    assert!(r.fingerprint.masks.is_some(), "{method} keeps masks");
}
