//! Scale-out on two CPU devices: the sharded probe equals the one-device probe (for models
//! that probe through burn's ops; LeNet-5's fused probe kernels use every core already), and the
//! data-parallel gradient equals the full batch's gradient (LeNet-5 has no BatchNorm), so an
//! SGD step from either gives the same weights.

use burn::optim::GradientsParams;
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use swast_core::model::{Arch, ModelConfig, SwastModel, param_values};
use swast_core::optim::{MaskedSgd, SgdSettings};
use swast_core::parallel::data_parallel_grads;
use swast_core::probe::{probe, probe_sharded};
use swast_data::{Batcher, DatasetName, load};

fn lenet() -> swast_core::Network {
    net(Arch::Lenet5)
}

fn net(arch: Arch) -> swast_core::Network {
    let dev = Device::flex();
    swast_core::model::reinit(
        ModelConfig {
            arch,
            ..ModelConfig::default()
        }
        .build([1, 28, 28], 10, &dev.clone().autodiff())
        .unwrap(),
        3,
    )
}

#[test]
fn the_sharded_probe_equals_the_one_device_probe() {
    let splits = load(DatasetName::Embedded, std::path::Path::new("data")).unwrap();
    let ds = splits.test;
    let idx: Vec<usize> = (0..301).map(|i| (i * 7) % ds.len()).collect();
    let b = Batcher::new(ds.channel_stats(), false);
    let m = net(Arch::Mlp);
    let one = probe(&m, &ds, &idx, &b, &Device::flex(), 64);
    let two = probe_sharded(&m, &ds, &idx, &b, &[Device::flex(), Device::flex()], 64);
    let three = probe_sharded(
        &m,
        &ds,
        &idx,
        &b,
        &[Device::flex(), Device::flex(), Device::flex()],
        50,
    );
    assert_eq!(one.indices, two.indices);
    assert_eq!(one.correct, two.correct);
    assert_eq!(one.correct, three.correct);
    for (a, b) in one.probs.iter().zip(&two.probs) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
    for (a, b) in one.features.iter().zip(&three.features) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
    assert_eq!(one.flops, two.flops);
}

#[test]
fn a_data_parallel_step_equals_the_full_batch_step() {
    let ad = Device::flex().autodiff();
    let x = Tensor::<4>::random([48, 1, 28, 28], Distribution::Default, &ad);
    let y = Tensor::<1, Int>::from_data(
        TensorData::new((0..48i64).map(|i| i % 10).collect::<Vec<_>>(), [48]),
        &ad,
    );
    let settings = SgdSettings {
        momentum: 0.9,
        nesterov: true,
        weight_decay: 5e-4,
    };
    // one device, the whole batch
    let m1 = lenet();
    let ce = burn::nn::loss::CrossEntropyLossConfig::new().init(&ad);
    let loss = ce.forward(m1.forward_output(x.clone()).logits, y.clone());
    let full_loss = f64::from(loss.clone().into_scalar::<f32>());
    let g1 = GradientsParams::from_grads(loss.backward(), &m1);
    let w1 = param_values(&MaskedSgd::new(settings).step(0.05, m1, g1, None));
    // two CPU devices, 24 samples each (and three, with uneven shards)
    for devices in [vec![Device::flex(); 2], vec![Device::flex(); 3]] {
        let m2 = lenet();
        let (g2, dp_loss) = data_parallel_grads(&m2, x.clone(), y.clone(), &devices);
        assert!(
            (dp_loss - full_loss).abs() < 1e-5,
            "{dp_loss} vs {full_loss}"
        );
        let w2 = param_values(&MaskedSgd::new(settings).step(0.05, m2, g2, None));
        for ((n, a), (_, b)) in w1.iter().zip(&w2) {
            for (u, v) in a.iter().zip(b) {
                assert!(
                    (u - v).abs() < 1e-6,
                    "{n}: {u} vs {v} with {} devices",
                    devices.len()
                );
            }
        }
    }
}
