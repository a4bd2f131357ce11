//! One training step (forward, backward, SGD with Nesterov momentum and weight decay),
//! batch 128, on the default CPU backend (`flex`): the cpu scale's MLP 784-1024-512-10 and
//! LeNet-5 on 1×28×28, ResNet-20 on 3×32×32. Throughput is reported in samples per second.
//! `cargo bench -p swast-core --bench train_step -- mlp` runs one of them (e.g. under
//! `perf record`).
//!
//! Run: `cargo bench -p swast-core --bench train_step`

use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use swast_core::model::{Arch, ModelConfig};
use swast_core::train::{TrainConfig, Trainer};
use swast_data::{Batcher, Normalization};

const BATCH: usize = 128;

fn bench_model(c: &mut Criterion, model: ModelConfig, input: [usize; 3]) {
    let device = Device::flex();
    let arch = model.arch;
    let norm = Normalization {
        mean: vec![0.0; input[0]],
        std: vec![1.0; input[0]],
    };
    let mut trainer = Trainer::builder(TrainConfig::default())
        .network(&model)
        .input(input, 10)
        .batchers(Batcher::new(norm.clone(), false), Batcher::new(norm, false))
        .steps_per_epoch(1_000_000)
        .seed(0)
        .build(&device)
        .expect("model builds");
    let ad = device.autodiff();
    let x = Tensor::<4>::random(
        [BATCH, input[0], input[1], input[2]],
        Distribution::Default,
        &ad,
    );
    let labels: Vec<i64> = (0..BATCH as i64).map(|i| i % 10).collect();
    let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [BATCH]), &ad);
    let mut g = c.benchmark_group("train_step");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.sample_size(10);
    g.bench_function(
        format!(
            "{}_{}x{}x{}_b{BATCH}",
            arch.as_str(),
            input[0],
            input[1],
            input[2]
        ),
        |b| {
            b.iter(|| {
                trainer
                    .train_step(x.clone(), y.clone())
                    .expect("finite loss")
            })
        },
    );
    g.finish();
}

fn benches(c: &mut Criterion) {
    let of = |arch| ModelConfig {
        arch,
        ..ModelConfig::default()
    };
    let mlp = ModelConfig {
        mlp_hidden: vec![1024, 512],
        ..of(Arch::Mlp)
    };
    bench_model(c, mlp, [1, 28, 28]);
    bench_model(c, of(Arch::Lenet5), [1, 28, 28]);
    bench_model(c, of(Arch::Resnet20), [3, 32, 32]);
}

criterion_group!(train_step, benches);
criterion_main!(train_step);
