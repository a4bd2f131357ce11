//! Structured channel pruning with physical removal: every architecture shrinks and still
//! runs, removing nothing changes nothing, removing channels that carry no signal changes
//! nothing, and `prune.method = "channel-l1"` runs and resumes end to end.

use burn::module::Module;
use burn::tensor::{Device, Distribution, Tensor};
use swast_core::config::Config;
use swast_core::coreset::{SelectError, Selector};
use swast_core::model::{Arch, ModelConfig, SwastModel, trainable_params};
use swast_core::prune::{PruneError, PruneScheme, Scope};
use swast_core::run::{Components, DenseOnly, files};

fn dev() -> Device {
    Device::flex()
}

fn build(arch: Arch, input: [usize; 3], width: f64) -> swast_core::Network {
    dev().seed(1);
    ModelConfig {
        arch,
        width,
        ..ModelConfig::default()
    }
    .build(input, 10, &dev())
    .unwrap()
}

fn logits(m: &swast_core::Network, x: &Tensor<4>) -> Vec<f32> {
    m.valid()
        .forward_output(x.clone())
        .logits
        .into_data()
        .iter::<f32>()
        .collect()
}

#[test]
fn every_arch_shrinks_at_half_the_channels_and_still_runs() {
    for (arch, input, width) in [
        (Arch::Mlp, [1, 8, 8], 1.0),
        (Arch::Lenet5, [1, 28, 28], 1.0),
        (Arch::Resnet20, [3, 32, 32], 1.0),
        (Arch::Resnet50, [3, 16, 16], 0.125),
        (Arch::Vgg11, [3, 32, 32], 0.25),
    ] {
        let mut m = build(arch, input, width);
        let (p0, f0) = (trainable_params(&m), m.forward_flops());
        let keeps = m.l1_channel_keeps(0.5);
        m.keep_channels(&keeps);
        let x = Tensor::<4>::random(
            [2, input[0], input[1], input[2]],
            Distribution::Default,
            &dev(),
        );
        assert_eq!(logits(&m, &x).len(), 20, "{arch:?}");
        let (p1, f1) = (trainable_params(&m), m.forward_flops());
        assert!(
            p1 < p0 && f1 < f0,
            "{arch:?}: params {p0}→{p1}, flops {f0}→{f1}"
        );
        for (k, s) in keeps.iter().zip(m.channel_scores()) {
            assert_eq!(k.len(), s.len(), "{arch:?}: group widths follow the keeps");
        }
    }
}

#[test]
fn keeping_every_channel_changes_nothing() {
    for (arch, input) in [
        (Arch::Lenet5, [1, 28, 28]),
        (Arch::Resnet20, [3, 32, 32]),
        (Arch::Vgg11, [3, 32, 32]),
    ] {
        let mut m = build(arch, input, 0.5);
        let x = Tensor::<4>::random(
            [3, input[0], input[1], input[2]],
            Distribution::Default,
            &dev(),
        );
        let before = logits(&m, &x);
        let keeps = m.l1_channel_keeps(0.0);
        m.keep_channels(&keeps);
        assert_eq!(before, logits(&m, &x), "{arch:?}");
    }
}

#[test]
fn removing_dead_units_changes_nothing() {
    // LeNet-5: zero fc2's row of an fc1 unit, so that unit carries no signal, then remove it
    // (and only it) from the fc1 group: the logits must stay the same.
    let m = build(Arch::Lenet5, [1, 28, 28], 1.0);
    let x = Tensor::<4>::random([4, 1, 28, 28], Distribution::Default, &dev());
    let dead = 7usize;
    struct ZeroRow(burn::module::ParamId, usize);
    impl burn::module::ModuleMapper for ZeroRow {
        fn map_float<const D: usize>(
            &mut self,
            p: burn::module::Param<Tensor<D>>,
        ) -> burn::module::Param<Tensor<D>> {
            if p.id != self.0 || D != 2 {
                return p;
            }
            let (id, t, mapper) = p.consume();
            let dims = t.dims();
            let mut mask = vec![1f32; dims.iter().product()];
            for c in 0..dims[1] {
                mask[self.1 * dims[1] + c] = 0.0;
            }
            let m = Tensor::<D>::from_data(burn::tensor::TensorData::new(mask, dims), &t.device());
            burn::module::Param::from_mapped_value(id, t * m, mapper)
        }
    }
    let fc2 = m.layers()[3].param_id;
    let mut m = m.map(&mut ZeroRow(fc2, dead));
    let before = logits(&m, &x);
    let mut keeps: Vec<Vec<usize>> = m
        .channel_scores()
        .iter()
        .map(|s| (0..s.len()).collect())
        .collect();
    keeps[2].retain(|&u| u != dead);
    m.keep_channels(&keeps);
    let after = logits(&m, &x);
    for (a, b) in before.iter().zip(&after) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
}

#[test]
fn removing_a_dead_residual_channel_changes_nothing() {
    // ResNet-20: a residual channel of the first stage that every writer leaves at zero
    // (stem and each block's conv2 output filters zeroed; BatchNorm β and running mean are 0)
    let m = build(Arch::Resnet20, [3, 16, 16], 1.0);
    let x = Tensor::<4>::random([2, 3, 16, 16], Distribution::Default, &dev());
    let dead = 5usize;
    let writers: Vec<burn::module::ParamId> = m
        .layers()
        .iter()
        .filter(|l| {
            ["stem", "blocks.0.conv2", "blocks.1.conv2", "blocks.2.conv2"]
                .contains(&l.name.as_str())
        })
        .map(|l| l.param_id)
        .collect();
    assert_eq!(writers.len(), 4);
    struct ZeroOut(Vec<burn::module::ParamId>, usize);
    impl burn::module::ModuleMapper for ZeroOut {
        fn map_float<const D: usize>(
            &mut self,
            p: burn::module::Param<Tensor<D>>,
        ) -> burn::module::Param<Tensor<D>> {
            if !self.0.contains(&p.id) || D != 4 {
                return p;
            }
            let (id, t, mapper) = p.consume();
            let dims = t.dims();
            let per: usize = dims[1..].iter().product();
            let mut mask = vec![1f32; dims.iter().product()];
            mask[self.1 * per..(self.1 + 1) * per].fill(0.0);
            let m = Tensor::<D>::from_data(burn::tensor::TensorData::new(mask, dims), &t.device());
            burn::module::Param::from_mapped_value(id, t * m, mapper)
        }
    }
    let mut m = m.map(&mut ZeroOut(writers, dead));
    let before = logits(&m, &x);
    let scores = m.channel_scores();
    // 9 inner groups (one per BasicBlock), then the 3 residual streams (16, 32, 64 wide)
    assert_eq!(scores.len(), 12);
    assert_eq!(scores[9].len(), 16);
    assert_eq!(scores[9][dead], 0.0, "a dead channel scores 0");
    let mut keeps: Vec<Vec<usize>> = scores.iter().map(|s| (0..s.len()).collect()).collect();
    keeps[9].retain(|&c| c != dead);
    let f0 = m.forward_flops();
    m.keep_channels(&keeps);
    assert!(m.forward_flops() < f0);
    let after = logits(&m, &x);
    for (a, b) in before.iter().zip(&after) {
        assert!((a - b).abs() < 1e-4, "{a} vs {b}");
    }
}

fn cfg(sets: &[&str]) -> Config {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    Config::parse("", &sets, &[swast_prune::SCHEMA]).unwrap()
}

/// swast-prune's pruners, no selectors.
struct Prunes;

impl Components for Prunes {
    fn pruner(&self, cfg: &Config, scope: Scope) -> Result<PruneScheme, PruneError> {
        swast_prune::build(&cfg.prune, scope, cfg.seed)
    }
    fn selector(&self, cfg: &Config) -> Result<Box<dyn Selector>, SelectError> {
        DenseOnly.selector(cfg)
    }
    fn plugins(&self) -> Vec<swast_core::config::PluginSchema> {
        vec![swast_prune::SCHEMA]
    }
}

#[test]
fn channel_l1_runs_end_to_end_and_resumes_exactly() {
    let c = cfg(&[
        "method=pruning-only",
        "prune.method=channel-l1",
        "prune.sparsity=0.5",
        "prune.begin=0.3",
        "train.epochs=3",
        "data.max_train=1200",
        "train.batch_size=32",
        "seed=5",
    ]);
    let r = swast_core::testing::resume_check(&c, &dev(), &Prunes, &[2]);
    assert!(r.fingerprint.channel_keeps.is_some());
    let s: swast_core::run::Summary =
        serde_json::from_slice(&std::fs::read(r.full.join(files::SUMMARY)).unwrap()).unwrap();
    // half the channels of every group gone: well over half the weights of the inner layers
    assert!(s.final_sparsity > 0.5, "sparsity {}", s.final_sparsity);
    assert!(
        s.relative_flops < 0.9,
        "relative FLOPs {}",
        s.relative_flops
    );
    assert!(s.test_accuracy > 0.5, "accuracy {}", s.test_accuracy);
}
