//! The behaviours every backend must share, one body each, run on every backend compiled in
//! (`test_device!`): `cargo test -p swast-core --test devices` runs them on flex;
//! `--features tch` adds LibTorch on the CPU, `--features wgpu` adds wgpu (lavapipe on a
//! machine without a GPU: `cargo xtask test-wgpu`).

use burn::module::Module;
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use swast_core::model::{Arch, ModelConfig, SwastModel, param_values};
use swast_core::test_device;
use swast_core::testing::Tolerance;
use swast_core::train::{EpochOptions, TrainConfig, Trainer};
use swast_data::{Batcher, DatasetName, Normalization, load};

fn values(t: Tensor<2>) -> Vec<f32> {
    t.into_data().iter::<f32>().collect()
}

fn assert_close(what: &str, got: &[f32], want: &[f32], tol: Tolerance) {
    if let Some(i) = tol.first_mismatch(got, want) {
        panic!(
            "{what}: element {i} is {:?}, the flex reference {:?} (tolerance {tol:?})",
            got.get(i),
            want.get(i)
        );
    }
}

fn trainer(arch: Arch, input: [usize; 3], device: &Device) -> Trainer {
    let norm = Normalization {
        mean: vec![0.5; input[0]],
        std: vec![0.25; input[0]],
    };
    Trainer::builder(TrainConfig {
        epochs: 3,
        batch_size: 32,
        ..TrainConfig::default()
    })
    .network(&ModelConfig {
        arch,
        width: if arch == Arch::Resnet20 { 0.5 } else { 1.0 },
        ..ModelConfig::default()
    })
    .input(input, 10)
    .batchers(Batcher::new(norm.clone(), false), Batcher::new(norm, false))
    .steps_per_epoch(100)
    .seed(7)
    .build(device)
    .unwrap()
}

test_device!(
    /// The same weights give the same logits and features as on flex.
    fn forward_matches_the_flex_reference(device, tol) {
        for (arch, input) in [(Arch::Lenet5, [1, 28, 28]), (Arch::Resnet20, [3, 16, 16])] {
            let reference = trainer(arch, input, &Device::flex());
            let x = Tensor::<4>::random([4, input[0], input[1], input[2]], Distribution::Default, &Device::flex());
            let want = reference.model().valid().forward_output(x.clone());
            let moved = reference.model().valid().to_device(device);
            let got = moved.forward_output(Tensor::from_data(x.into_data(), device));
            assert_close("logits", &values(got.logits), &values(want.logits), tol);
            assert_close("features", &values(got.features), &values(want.features), tol);
        }
    }
);

test_device!(
    /// Initial weights depend on the seed alone, not on the backend.
    fn initial_weights_are_the_same_on_every_backend(device, tol) {
        let a = param_values(trainer(Arch::Lenet5, [1, 28, 28], device).model());
        let b = param_values(trainer(Arch::Lenet5, [1, 28, 28], &Device::flex()).model());
        assert_eq!(a.len(), b.len());
        for ((na, va), (nb, vb)) in a.iter().zip(&b) {
            assert_eq!(na, nb);
            assert_close(na, va, vb, tol);
        }
    }
);

test_device!(
    /// Training steps lower the loss, stay finite, and a checkpoint round trip restores the
    /// trainer exactly.
    fn steps_learn_and_checkpoints_round_trip(device, _tol) {
        let mut t = trainer(Arch::Lenet5, [1, 28, 28], device);
        let ad = device.clone().autodiff();
        let x = Tensor::<4>::random([32, 1, 28, 28], Distribution::Default, &ad);
        let y = Tensor::<1, Int>::from_data(
            TensorData::new((0..32i64).map(|i| i % 10).collect::<Vec<_>>(), [32]),
            &ad,
        );
        let first = t.train_step(x.clone(), y.clone()).unwrap().0;
        let mut last = first;
        for _ in 0..30 {
            last = t.train_step(x.clone(), y.clone()).unwrap().0;
        }
        assert!(last.is_finite() && last < first, "loss {first} → {last}");
        let bytes = t.checkpoint_bytes(&[]).unwrap();
        let before = param_values(t.model());
        t.train_step(x, y).unwrap();
        assert!(param_values(t.model()) != before);
        t.restore_checkpoint_bytes(&bytes).unwrap();
        assert!(param_values(t.model()) == before, "restored weights differ");
    }
);

test_device!(
    /// A short run on real digits learns, and the probe pass agrees with the evaluation.
    fn trains_on_real_digits_and_probes_consistently(device, _tol) {
        let splits = load(DatasetName::Embedded, std::path::Path::new("data")).unwrap();
        // every 4th sample: 1,000 across all classes
        let every4: Vec<usize> = (0..splits.train.len()).step_by(4).collect();
        let train = splits.train.subset(&every4).unwrap();
        let mut t = trainer(Arch::Lenet5, train.shape(), device);
        let view: Vec<usize> = (0..train.len()).collect();
        for _ in 0..3 {
            t.train_epoch(&train, &view, EpochOptions::default()).unwrap();
        }
        let ev = t.evaluate(&splits.test, 256);
        assert!(ev.accuracy > 0.6, "accuracy {}", ev.accuracy);
        let probe = t.probe(&splits.test, &(0..splits.test.len()).collect::<Vec<_>>(), 256);
        let acc = probe.correct.iter().filter(|c| **c).count() as f64 / probe.len() as f64;
        assert!((acc - ev.accuracy).abs() < 1e-9, "probe {acc} vs evaluate {}", ev.accuracy);
    }
);
