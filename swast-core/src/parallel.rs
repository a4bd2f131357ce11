//! Data parallelism over several devices, done on the host side so that it works on every
//! backend: burn 0.22.1's collectives (`burn::tensor::distributed::all_reduce`, the
//! autodiff gradient sync) are implemented only by its CUDA and remote backends, and panic
//! (`unimplemented!`) on flex, ndarray and LibTorch. See `docs/scaling.md`.
//!
//! [`data_parallel_grads`] cuts a batch into one shard per device, runs forward and backward
//! of each shard on its own model replica and thread, moves the gradients to the first
//! device and averages them weighted by shard size, which is the gradient of the full
//! batch's mean loss. For models without BatchNorm it equals the one-device gradient (up to
//! summation order); with BatchNorm each shard normalises with its own statistics, as
//! PyTorch's DistributedDataParallel does without SyncBatchNorm.

use crate::model::SwastModel;
use burn::module::{ModuleVisitor, Param, ParamId};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Int, Tensor};

/// Adds `weight ×` each parameter's gradient of `from` into `into` (registering it when
/// `into` has none yet).
struct Accumulate<'a> {
    into: &'a mut GradientsParams,
    from: &'a mut GradientsParams,
    weight: f32,
}

impl ModuleVisitor for Accumulate<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let id: ParamId = param.id;
        let Some(g) = self.from.remove::<D>(id) else {
            return;
        };
        let g = g.mul_scalar(self.weight);
        let sum = match self.into.remove::<D>(id) {
            Some(acc) => acc + g,
            None => g,
        };
        self.into.register::<D>(id, sum);
    }
}

/// An independent copy of `model` on `device`: every parameter copied through the host and (when
/// it was trainable) tracked again, keeping its id so that gradients line up.
pub fn replicate<M: SwastModel>(model: &M, device: &Device) -> M {
    struct Replicate<'a>(&'a Device);
    impl burn::module::ModuleMapper for Replicate<'_> {
        fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let trainable = p.is_require_grad();
            let (id, t, mapper) = p.consume();
            let t = Tensor::<D>::from_data(t.into_data(), self.0);
            Param::from_mapped_value(id, if trainable { t.require_grad() } else { t }, mapper)
        }
    }
    model.clone().map(&mut Replicate(device))
}

/// The mean cross-entropy gradient of the batch (`images` `[n, C, H, W]`, `labels` `[n]`,
/// on any device) computed data-parallel over `devices` (autodiff is enabled on each), the
/// gradients on `devices[0]`, and the batch's mean loss. `model` is the replica on
/// `devices[0]`'s autodiff device; the others are copies of it.
pub fn data_parallel_grads<M: SwastModel>(
    model: &M,
    images: Tensor<4>,
    labels: Tensor<1, Int>,
    devices: &[Device],
) -> (GradientsParams, f64) {
    assert!(!devices.is_empty(), "data_parallel_grads needs a device");
    let [n, _, _, _] = images.dims();
    let per = n.div_ceil(devices.len()).max(1);
    let shards: Vec<(usize, usize)> = (0..n).step_by(per).map(|s| (s, (s + per).min(n))).collect();
    let main = devices[0].clone().autodiff();
    let results: Vec<(GradientsParams, f64, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = shards
            .iter()
            .zip(devices)
            .enumerate()
            .map(|(k, (&(a, b), d))| {
                let dev = d.clone().autodiff();
                // shard 0 trains the model itself; the others get independent copies (their
                // own autodiff leaves, even when two devices are the same one)
                let replica = if k == 0 {
                    model.clone()
                } else {
                    replicate(model, &dev)
                };
                let x = images.clone().narrow(0, a, b - a).to_device(&dev);
                let y = labels.clone().narrow(0, a, b - a).to_device(&dev);
                let main = main.clone();
                s.spawn(move || {
                    let logits = replica.forward_output(x).logits;
                    let loss = CrossEntropyLossConfig::new().init(&dev).forward(logits, y);
                    let value = f64::from(loss.clone().into_scalar::<f32>());
                    let grads = GradientsParams::from_grads(loss.backward(), &replica)
                        .to_device(&main, &replica);
                    (grads, value, b - a)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a data-parallel shard panicked"))
            .collect()
    });
    let mut total = GradientsParams::new();
    let mut loss = 0.0;
    for (mut g, l, k) in results {
        let w = k as f32 / n as f32;
        loss += l * k as f64 / n as f64;
        model.visit(&mut Accumulate {
            into: &mut total,
            from: &mut g,
            weight: w,
        });
    }
    (total, loss)
}
