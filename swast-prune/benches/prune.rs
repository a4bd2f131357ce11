//! Pruning overheads on the default CPU backend (`flex`), batch 128:
//!
//! - one training step of LeNet-5 (1×28×28) and ResNet-20 (3×32×32) without masks, with
//!   masks fused into the SGD step (what swast uses), and with an unmasked step followed by a
//!   separate mask-multiply pass over the model (the "post-step mapper" alternative);
//! - one RigL mask update (drop by |w|, grow by |∇|) on each model, at 50% sparsity;
//! - one training step before and after structured pruning of 50% of every channel group
//!   (physical removal: the goal is ≥ 1.6× faster).
//!
//! Run: `cargo bench -p swast-prune --bench prune`

use burn::module::{Module, ParamId};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Distribution as Dist, Int, Tensor, TensorData};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use swast_core::config::PruneConfig;
use swast_core::model::{Arch, ModelConfig, Network, SwastModel};
use swast_core::optim::{MaskedSgd, SgdSettings};
use swast_core::prune::{MaskSet, PruneInit, Pruner, Scope, apply_masks, attach_masks};
use swast_prune::{PruneSettings, Rigl};

const BATCH: usize = 128;

fn settings() -> SgdSettings {
    SgdSettings {
        momentum: 0.9,
        nesterov: true,
        weight_decay: 5e-4,
    }
}

fn grads(model: &Network, x: &Tensor<4>, y: &Tensor<1, Int>) -> GradientsParams {
    let ce = CrossEntropyLossConfig::new().init(&x.device());
    let loss = ce.forward(model.forward_output(x.clone()).logits, y.clone());
    GradientsParams::from_grads(loss.backward(), model)
}

fn pruner(model: &Network, total_steps: u64, device: &Device) -> Rigl {
    let cfg = PruneConfig {
        method: "rigl".into(),
        sparsity: 0.5,
        classifier_sparsity: 0.5,
        clock: swast_core::schedule::Clock::Step,
        interval: 1,
        end: 1.0,
        ..PruneConfig::default()
    };
    let mut p = Rigl::new(PruneSettings::from_config(&cfg, Scope::All, 0).unwrap());
    let layers = model.layers();
    p.init(
        model,
        &PruneInit {
            layers: &layers,
            total_steps,
            epochs: 1,
            device,
        },
    )
    .unwrap();
    p
}

fn bench_model(c: &mut Criterion, arch: Arch, input: [usize; 3]) {
    let device = Device::flex();
    let ad = device.clone().autodiff();
    let name = format!("{}_{}x{}x{}", arch.as_str(), input[0], input[1], input[2]);
    let model = ModelConfig {
        arch,
        ..ModelConfig::default()
    }
    .build(input, 10, &ad)
    .unwrap();
    let x = Tensor::<4>::random([BATCH, input[0], input[1], input[2]], Dist::Default, &ad);
    let labels: Vec<i64> = (0..BATCH as i64).map(|i| i % 10).collect();
    let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [BATCH]), &ad);
    let mut rigl = pruner(&model, 1_000_000, &device);
    let masks: MaskSet = rigl.masks().unwrap().clone();

    // the model moves through each step (no clone), so burn may update tensors in place
    let mut slot = Some(model);
    let mut g = c.benchmark_group(format!("prune_step/{name}"));
    g.throughput(Throughput::Elements(BATCH as u64));
    g.sample_size(10);
    let mut opt = MaskedSgd::new(settings());
    g.bench_function("no_masks", |b| {
        b.iter(|| {
            let m = slot.take().unwrap();
            let gr = grads(&m, &x, &y);
            slot = Some(opt.step(0.01, m, gr, None));
        })
    });
    let mut opt = MaskedSgd::new(settings());
    g.bench_function("masks_fused_in_sgd", |b| {
        b.iter(|| {
            let m = slot.take().unwrap();
            let gr = grads(&m, &x, &y);
            slot = Some(opt.step(0.01, m, gr, Some(&masks)));
        })
    });
    let mut opt = MaskedSgd::new(settings());
    g.bench_function("masks_post_step_mapper", |b| {
        b.iter(|| {
            let m = slot.take().unwrap();
            let gr = grads(&m, &x, &y);
            slot = Some(apply_masks(opt.step(0.01, m, gr, None), &masks));
        })
    });
    // the mask as a reparameterization of the weights, plain SGD
    let pairs: Vec<(ParamId, Tensor<1>)> = masks
        .layers()
        .iter()
        .filter_map(|l| {
            let id = l.info.param_id;
            masks.tensor(id).map(|t| (id, t.clone()))
        })
        .collect();
    let m = slot.take().unwrap();
    slot = Some(attach_masks(m.clone(), &pairs));
    let mut opt = MaskedSgd::new(settings());
    g.bench_function("masks_reparameterization", |b| {
        b.iter(|| {
            let m = slot.take().unwrap();
            let gr = grads(&m, &x, &y);
            slot = Some(opt.step(0.01, m, gr, None));
        })
    });
    slot = Some(m);
    g.finish();

    let model = slot.take().unwrap();
    let mut g = c.benchmark_group(format!("rigl_update/{name}"));
    g.sample_size(10);
    let gr = grads(&model, &x, &y);
    let mut step = 1u64;
    g.bench_function("drop_grow_50pct", |b| {
        b.iter(|| {
            let tick = swast_core::schedule::Tick::at_step(step, 1_000_000);
            rigl.after_backward(tick, &model, &gr);
            let changed = rigl.after_step(tick, &model);
            step += 1;
            changed
        })
    });
    g.finish();
    let _ = model.num_params();

    // structured: the same step on the model with half of every channel group removed
    let mut g = c.benchmark_group(format!("structured_step/{name}"));
    g.throughput(Throughput::Elements(BATCH as u64));
    g.sample_size(10);
    let mut slot = Some(model);
    for label in ["all_channels", "half_channels"] {
        if label == "half_channels" {
            let mut m = slot.take().unwrap();
            let keeps = m.l1_channel_keeps(0.5);
            m.keep_channels(&keeps);
            slot = Some(m);
        }
        let mut opt = MaskedSgd::new(settings());
        g.bench_function(label, |b| {
            b.iter(|| {
                let m = slot.take().unwrap();
                let gr = grads(&m, &x, &y);
                slot = Some(opt.step(0.01, m, gr, None));
            })
        });
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    bench_model(c, Arch::Lenet5, [1, 28, 28]);
    bench_model(c, Arch::Resnet20, [3, 32, 32]);
}

criterion_group!(prune, benches);
criterion_main!(prune);
