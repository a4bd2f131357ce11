//! Parameter and FLOP counts against hand counts, and forward shapes of every architecture.

use burn::module::Module;
use burn::tensor::{Device, Distribution, Tensor};
use swast_core::model::{Arch, LayerKind, ModelConfig, Role, SwastModel, trainable_params};

fn dev() -> Device {
    Device::flex()
}

fn build(arch: Arch, width: f64, input: [usize; 3], classes: usize) -> swast_core::Network {
    ModelConfig {
        arch,
        width,
        ..ModelConfig::default()
    }
    .build(input, classes, &dev())
    .unwrap()
}

#[test]
fn lenet5_hand_counts() {
    let m = build(Arch::Lenet5, 1.0, [1, 28, 28], 10);
    // conv1 6·1·25+6 = 156; conv2 16·6·25+16 = 2,416; fc1 400·120+120 = 48,120;
    // fc2 120·84+84 = 10,164; fc3 84·10+10 = 850  → 61,706
    assert_eq!(trainable_params(&m), 61_706);
    let l = m.layers();
    let names: Vec<&str> = l.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(names, ["conv1", "conv2", "fc1", "fc2", "fc3"]);
    // conv1: 2·6·1·25·28·28 = 235,200; conv2: 2·16·6·25·10·10 = 480,000;
    // fc1 2·400·120 = 96,000; fc2 2·120·84 = 20,160; fc3 2·84·10 = 1,680
    let flops: Vec<u64> = l.iter().map(|x| x.flops).collect();
    assert_eq!(flops, [235_200, 480_000, 96_000, 20_160, 1_680]);
    assert_eq!(m.forward_flops(), 833_040);
    assert_eq!(l[4].role, Role::Classifier);
    assert!(l[..4].iter().all(|x| x.role == Role::Backbone));
    assert_eq!(l[0].kind, LayerKind::Conv);
    assert_eq!(l[2].shape, [400, 120]); // burn stores Linear weights [in, out]
}

#[test]
fn resnet18_hand_counts() {
    let m = build(Arch::Resnet18, 1.0, [3, 32, 32], 10);
    // Independent count (python):
    //   conv=lambda ci,co,k: ci*co*k*k; bn=lambda c: 2*c
    //   stem conv(3,64,3)+bn(64); per BasicBlock conv(cin,w,3)+bn(w)+conv(w,w,3)+bn(w)
    //   (+ conv(cin,w,1)+bn(w) when cin != w); fc 512*10+10  → 11,173,962
    assert_eq!(trainable_params(&m), 11_173_962);
    // MACs: stem 64·3·9·1024 = 1,769,472; stage1 4·64·64·9·1024 = 150,994,944;
    // stages 2–4 each 18,874,368 + 3·37,748,736 + 2,097,152 = 134,217,728; fc 5,120
    // total 555,422,720 MACs = 1,110,845,440 FLOPs
    assert_eq!(m.forward_flops(), 1_110_845_440);
    let l = m.layers();
    assert_eq!(l.len(), 1 + 16 + 3 + 1);
    assert_eq!(l.iter().filter(|x| x.role == Role::Classifier).count(), 1);
    assert_eq!(l.last().unwrap().name, "fc");
}

#[test]
fn resnet20_counts_with_projection_shortcuts() {
    let m = build(Arch::Resnet20, 1.0, [3, 32, 32], 10);
    // He et al.'s 269,722 (option A) + two 1×1 projection shortcuts with BN:
    // 16·32+64 = 576 and 32·64+128 = 2,176  → 272,474
    assert_eq!(trainable_params(&m), 272_474);
}

#[test]
fn every_arch_returns_features_and_logits() {
    let cases = [
        (Arch::Mlp, [1, 8, 8], 1.0),
        (Arch::Lenet5, [1, 28, 28], 1.0),
        (Arch::Lenet5, [3, 32, 32], 1.0),
        (Arch::Resnet20, [3, 32, 32], 0.5),
        (Arch::Resnet18, [1, 28, 28], 0.125),
        (Arch::Resnet34, [3, 16, 16], 0.125),
        (Arch::Resnet50, [3, 32, 32], 0.125),
        (Arch::Resnet101, [3, 8, 8], 0.0625),
        (Arch::Vgg11, [1, 28, 28], 0.125),
        (Arch::Vgg16, [3, 32, 32], 0.125),
        (Arch::Vgg11, [1, 8, 8], 0.125),
    ];
    for (arch, input, width) in cases {
        let m = build(arch, width, input, 7);
        let x = Tensor::<4>::random(
            [2, input[0], input[1], input[2]],
            Distribution::Default,
            &dev(),
        );
        let out = m.valid().forward_output(x);
        let [b, k] = out.logits.dims();
        assert_eq!((b, k), (2, 7), "{arch:?}");
        let [b2, f] = out.features.dims();
        let fc = m.layers().last().unwrap().clone();
        assert_eq!(
            (b2, f),
            (2, fc.shape[0]),
            "{arch:?} features feed the classifier"
        );
        assert!(m.forward_flops() > 0);
        let ids: std::collections::HashSet<_> = m.layers().iter().map(|l| l.param_id).collect();
        assert_eq!(ids.len(), m.layers().len(), "{arch:?} param ids are unique");
    }
}

#[test]
fn bottleneck_and_width_multiplier() {
    let full = build(Arch::Resnet50, 1.0, [3, 32, 32], 100);
    // CIFAR ResNet-50 with a 100-class head: 23.5M backbone + 2048·100+100 head
    let fc = full.layers().last().unwrap().clone();
    assert_eq!(fc.shape, [2048, 100]);
    let half = build(Arch::Resnet50, 0.5, [3, 32, 32], 100);
    assert!(trainable_params(&half) * 3 < trainable_params(&full));
}

#[test]
fn bad_model_configs_are_errors() {
    let e = ModelConfig::default()
        .build([1, 8, 8], 10, &dev())
        .unwrap_err();
    assert!(e.to_string().contains("at least 10x10"), "{e}");
    let cfg = ModelConfig {
        width: 0.0,
        ..ModelConfig::default()
    };
    assert!(cfg.build([1, 28, 28], 10, &dev()).is_err());
    assert!(
        ModelConfig::default()
            .build([1, 28, 28], 1, &dev())
            .is_err()
    );
}

#[test]
fn reinit_depends_on_the_seed_alone() {
    use swast_core::model::{param_values, reinit};
    let a = reinit(build(Arch::Lenet5, 1.0, [1, 28, 28], 10), 3);
    // another thread hammering burn's global generator does not matter
    let noise = std::thread::spawn(|| {
        for s in 0..200 {
            let d = dev();
            d.seed(s);
            let _ = Tensor::<2>::random([16, 16], Distribution::Default, &d);
        }
    });
    let b = reinit(build(Arch::Lenet5, 1.0, [1, 28, 28], 10), 3);
    noise.join().unwrap();
    assert!(param_values(&a) == param_values(&b));
    let c = reinit(build(Arch::Lenet5, 1.0, [1, 28, 28], 10), 4);
    assert!(param_values(&a) != param_values(&c));
    // conv1: fan_in = 1·5·5 → |w| ≤ 1/5; fc1: fan_in = 400 → |w| ≤ 1/20
    for (path, v) in param_values(&a) {
        let bound = match path.as_str() {
            "conv1.weight" | "conv1.bias" => 0.2,
            "fc1.weight" | "fc1.bias" => 0.05,
            _ => continue,
        };
        assert!(v.iter().all(|x| x.abs() <= bound), "{path}");
        assert!(
            v.iter().any(|x| x.abs() > bound / 2.0),
            "{path} uses its range"
        );
    }
}
