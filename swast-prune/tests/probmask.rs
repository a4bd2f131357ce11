//! ProbMask: the loss's gradient reaches the keep probabilities through the relaxed mask and
//! the weights through the reparameterized forward; the budget follows the cubic schedule;
//! the mask ends at the exact budget with the pruned weights zeroed.

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Distribution as Dist, Int, Tensor, TensorData};
use swast_core::config::PruneConfig;
use swast_core::model::{Arch, ModelConfig, SwastModel};
use swast_core::prune::{PruneInit, Pruner, Scope, Sparsity};
use swast_core::schedule::{Clock, Tick};
use swast_prune::{ProbMask, ProbMaskSettings};

fn settings(total_end: f64) -> ProbMaskSettings {
    let cfg = PruneConfig {
        method: "probmask".into(),
        sparsity: 0.8,
        classifier_sparsity: 0.9,
        clock: Clock::Step,
        interval: 2,
        begin: 0.0,
        end: total_end,
        ..PruneConfig::default()
    };
    ProbMaskSettings::from_config(&cfg, Scope::All, 7).unwrap()
}

#[test]
fn gradients_reach_the_scores_and_the_weights_and_the_mask_ends_at_the_budget() {
    let dev = Device::flex();
    let ad = dev.clone().autodiff();
    let model = ModelConfig {
        arch: Arch::Mlp,
        mlp_hidden: vec![32],
        ..ModelConfig::default()
    }
    .build([1, 6, 6], 3, &ad)
    .unwrap();
    let layers = model.layers();
    let mut p = ProbMask::new(settings(1.0));
    p.init(
        &model,
        &PruneInit {
            layers: &layers,
            total_steps: 10,
            epochs: 1,
            device: &dev,
        },
    )
    .unwrap();
    assert!(
        !p.enforces_masks(),
        "the mask is probabilistic until the end"
    );
    assert!(p.scores().iter().flatten().all(|s| *s == 1.0));
    let x = Tensor::<4>::random([16, 1, 6, 6], Dist::Normal(0.0, 1.0), &ad);
    let y = Tensor::<1, Int>::from_data(
        TensorData::new((0..16).map(|i| (i % 3) as i64).collect::<Vec<_>>(), [16]),
        &ad,
    );
    let ce = CrossEntropyLossConfig::new().init(&ad);
    for step in 0..10u64 {
        let tick = Tick::at_step(step, 10);
        let factors = p
            .train_factors(tick)
            .expect("relaxed factors while learning");
        let view = swast_core::prune::attach_masks(model.clone(), &factors);
        let loss = ce.forward(view.forward_output(x.clone()).logits, y.clone());
        let raw = loss.backward();
        p.after_backward_raw(tick, &raw);
        drop(view);
        let grads = GradientsParams::from_grads(raw, &model);
        // every masked weight got its gradient through the reparameterization
        for l in &layers {
            let g = swast_core::prune::grad_values(&grads, l)
                .unwrap_or_else(|| panic!("{} has no gradient", l.name));
            assert!(g.iter().any(|v| *v != 0.0), "{}: zero gradient", l.name);
        }
        let changed = p.after_step(tick, &model);
        if step == 9 {
            assert!(changed && p.enforces_masks(), "fixed at the end");
        }
    }
    // the scores moved and were projected onto the final budget
    let flat: Vec<f32> = p.scores().iter().flatten().copied().collect();
    assert!(flat.iter().all(|s| (0.0..=1.0).contains(s)));
    assert!(flat.iter().any(|s| *s < 1.0) && flat.iter().any(|s| *s > 0.0));
    // exact budgets: backbone 36·32 = 1152 weights at 80%, classifier 32·3 = 96 at 90%
    let masks = p.masks().unwrap();
    let kept = |role: swast_core::model::Role| -> usize {
        masks
            .layers()
            .iter()
            .filter(|l| l.info.role == role)
            .map(|l| l.kept())
            .sum()
    };
    assert_eq!(kept(swast_core::model::Role::Backbone), 230);
    assert_eq!(kept(swast_core::model::Role::Classifier), 10);
    // and the sum of the projected backbone scores respects K
    let bb: f32 = p.scores()[0].iter().sum();
    assert!(bb <= 230.0 + 1e-2, "{bb}");
    assert!(p.eval_masks().is_none() && p.train_factors(Tick::at_step(10, 10)).is_none());
}

#[test]
fn the_budget_follows_the_cubic_schedule() {
    let mut p = ProbMask::new(settings(1.0));
    let dev = Device::flex();
    let model = ModelConfig {
        arch: Arch::Mlp,
        mlp_hidden: vec![8],
        ..ModelConfig::default()
    }
    .build([1, 2, 2], 2, &dev.clone().autodiff())
    .unwrap();
    p.init(
        &model,
        &PruneInit {
            layers: &model.layers(),
            total_steps: 100,
            epochs: 1,
            device: &dev,
        },
    )
    .unwrap();
    let s = Sparsity::new(0.9).unwrap();
    // kept = n·(1 − 0.9·(1 − (1 − t/100)³)): t = 0 → 1000, 25 → 479.69 → 480,
    // 50 → 212.5 → 213 (round half away from zero), 100 → 100
    assert_eq!(p.budget(1000, s, 0.0), 1000);
    assert_eq!(p.budget(1000, s, 25.0), 480);
    assert_eq!(p.budget(1000, s, 50.0), 213);
    assert_eq!(p.budget(1000, s, 100.0), 100);
    assert_eq!(p.budget(1000, s, 150.0), 100);
}
