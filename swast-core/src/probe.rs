//! The probe pass: one inference pass (no autodiff, BatchNorm running statistics, no
//! augmentation) over a dataset or a subset, yielding per sample the logits, the
//! penultimate features, the loss and whether it is classified correctly.
//!
//! The analytic last-layer gradient of sample `i` is `g_i = e_i ⊗ [h_i; 1]` with
//! `e_i = softmax(z_i) − onehot(y_i)` and `h_i` its features. It is never materialized for
//! the whole set: [`Probe::error`] and [`Probe::features`] are kept (`n·(K + F)` floats, e.g.
//! 22 MB for 60,000 MNIST samples with LeNet-5) and gradient inner products are formed on
//! demand (`⟨g_i, g_j⟩ = ⟨e_i, e_j⟩·(⟨h_i, h_j⟩ + 1)`), so memory stays bounded.

#[cfg(feature = "flex")]
use crate::model::Network;
use crate::model::{LeNet5, SwastModel};
use burn::tensor::Device;
use swast_data::{Batcher, Dataset};

/// Per-sample outputs of one inference pass, row `r` being sample `indices[r]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// Dataset indices of the rows.
    pub indices: Vec<usize>,
    /// Labels of the rows (as the training set holds them, noisy or not).
    pub labels: Vec<u16>,
    /// Number of classes `K`: the width of the logits (a head wider than the dataset's
    /// class count, `model.head_outputs`, has classes no sample carries).
    pub classes: usize,
    /// Feature width `F`.
    pub feature_dim: usize,
    /// `[n, K]` softmax probabilities.
    pub probs: Vec<f32>,
    /// `[n, F]` penultimate features.
    pub features: Vec<f32>,
    /// `[n]` cross-entropy.
    pub loss: Vec<f32>,
    /// `[n]` arg-max equals the label.
    pub correct: Vec<bool>,
    /// Forward FLOPs the pass cost.
    pub flops: f64,
}

impl Probe {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.indices.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }
    /// Row `r` of the probabilities.
    pub fn prob(&self, r: usize) -> &[f32] {
        &self.probs[r * self.classes..(r + 1) * self.classes]
    }
    /// Row `r` of the features.
    pub fn feature(&self, r: usize) -> &[f32] {
        &self.features[r * self.feature_dim..(r + 1) * self.feature_dim]
    }
    /// `e_r = p_r − onehot(y_r)`, the loss gradient with respect to the logits.
    pub fn error(&self, r: usize) -> Vec<f32> {
        let mut e = self.prob(r).to_vec();
        e[usize::from(self.labels[r])] -= 1.0;
        e
    }
    /// The full last-layer gradient of row `r`, `[K·(F+1)]`: for each class `c`, the weight
    /// part `e_c·h` followed by the bias part `e_c`.
    pub fn last_layer_grad(&self, r: usize) -> Vec<f32> {
        let e = self.error(r);
        let h = self.feature(r);
        let mut g = Vec::with_capacity(self.classes * (self.feature_dim + 1));
        for ec in e {
            g.extend(h.iter().map(|x| ec * x));
            g.push(ec);
        }
        g
    }
    /// Rows whose label is `c`.
    pub fn rows_of_class(&self, c: usize) -> Vec<usize> {
        (0..self.len())
            .filter(|&r| usize::from(self.labels[r]) == c)
            .collect()
    }

    /// A probe from a model's outputs computed anywhere (your own burn model, PyTorch):
    /// `labels` (`n`), `logits` (`[n, K]`, row-major) and the penultimate `features`
    /// (`[n, F]`, the classifier's input). The probabilities (softmax), per-sample
    /// cross-entropy and correctness are derived here, as [`probe`] derives them; row `r` is
    /// sample `r`. Shapes that do not agree, a label outside `0..K`, fewer than 2 classes or a
    /// value that is not finite are an error naming the argument.
    pub fn from_outputs(
        labels: &[u16],
        logits: &[f32],
        features: &[f32],
        classes: usize,
    ) -> Result<Self, ProbeError> {
        let n = labels.len();
        let feature_dim = check_outputs(labels, (logits, "logits"), features, classes)?;
        let mut out = Probe {
            indices: (0..n).collect(),
            labels: labels.to_vec(),
            classes,
            feature_dim,
            probs: Vec::with_capacity(n * classes),
            features: features.to_vec(),
            loss: Vec::with_capacity(n),
            correct: Vec::with_capacity(n),
            flops: 0.0,
        };
        push_rows(&mut out, logits, labels);
        Ok(out)
    }

    /// A probe from softmax probabilities (`[n, K]`, each row summing to 1 within 1e-3)
    /// instead of logits, as PyTorch code often keeps them: the loss is `−ln p_y`, the hit
    /// the arg-max. Checks as [`Probe::from_outputs`], plus probabilities in `[0, 1]`.
    pub fn from_probabilities(
        labels: &[u16],
        probs: &[f32],
        features: &[f32],
        classes: usize,
    ) -> Result<Self, ProbeError> {
        Self::from_probability_vecs(labels.to_vec(), probs.to_vec(), features.to_vec(), classes)
    }

    /// [`Probe::from_probabilities`] taking the arrays over (no copy).
    pub fn from_probability_vecs(
        labels: Vec<u16>,
        probs: Vec<f32>,
        features: Vec<f32>,
        classes: usize,
    ) -> Result<Self, ProbeError> {
        let feature_dim = check_outputs(&labels, (&probs, "probs"), &features, classes)?;
        for (r, row) in probs.chunks_exact(classes).enumerate() {
            let sum: f32 = row.iter().sum();
            if row.iter().any(|p| !(0.0..=1.0).contains(p)) || (sum - 1.0).abs() > 1e-3 {
                return Err(ProbeError {
                    argument: "probs",
                    message: format!(
                        "row {r} is not a probability distribution (values in [0, 1] summing to 1; it sums to {sum}): pass softmax outputs"
                    ),
                });
            }
        }
        let n = labels.len();
        let (mut loss, mut correct) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for (z, &y) in probs.chunks_exact(classes).zip(&labels) {
            let y = usize::from(y);
            loss.push(-z[y].max(f32::MIN_POSITIVE).ln());
            correct.push(argmax(z) == y);
        }
        Ok(Probe {
            indices: (0..n).collect(),
            labels,
            classes,
            feature_dim,
            probs,
            features,
            loss,
            correct,
            flops: 0.0,
        })
    }

    /// [`Probe::from_outputs`] from burn tensors: `labels` `[n]` (Int), `logits` `[n, K]`,
    /// `features` `[n, F]`, on any device (read back to the host once).
    pub fn from_tensors(
        labels: burn::tensor::Tensor<1, burn::tensor::Int>,
        logits: burn::tensor::Tensor<2>,
        features: burn::tensor::Tensor<2>,
    ) -> Result<Self, ProbeError> {
        let [n, k] = logits.dims();
        let labels: Vec<u16> = labels
            .into_data()
            .iter::<i64>()
            .map(|y| u16::try_from(y).unwrap_or(u16::MAX))
            .collect();
        if labels.len() != n {
            return Err(ProbeError {
                argument: "labels",
                message: format!("has {} rows where logits have {n}", labels.len()),
            });
        }
        let [fn_, _] = features.dims();
        if fn_ != n {
            return Err(ProbeError {
                argument: "features",
                message: format!("has {fn_} rows where logits have {n}"),
            });
        }
        let logits: Vec<f32> = logits.into_data().iter::<f32>().collect();
        let features: Vec<f32> = features.into_data().iter::<f32>().collect();
        Self::from_outputs(&labels, &logits, &features, k)
    }
}

/// The checks every probe built from outputs passes: at least 2 classes, `values` (named
/// `name`) of `n × classes`, features of `n × F`, labels in `0..classes`, everything finite.
/// Returns `F`.
fn check_outputs(
    labels: &[u16],
    (values, name): (&[f32], &'static str),
    features: &[f32],
    classes: usize,
) -> Result<usize, ProbeError> {
    let n = labels.len();
    let bad = |argument: &'static str, message: String| ProbeError { argument, message };
    if classes < 2 {
        return Err(bad(
            "classes",
            format!("needs at least 2 classes, got {classes}"),
        ));
    }
    if values.len() != n * classes {
        return Err(bad(
            name,
            format!(
                "has {} values; {n} labels × {classes} classes need {}",
                values.len(),
                n * classes
            ),
        ));
    }
    if n == 0 {
        return Err(bad("labels", "is empty: a probe needs samples".into()));
    }
    if !features.len().is_multiple_of(n) {
        return Err(bad(
            "features",
            format!(
                "has {} values, not a multiple of the {n} labels (rows of [n, F])",
                features.len()
            ),
        ));
    }
    if let Some(&y) = labels.iter().find(|&&y| usize::from(y) >= classes) {
        return Err(bad("labels", format!("label {y} is outside 0..{classes}")));
    }
    for (argument, v) in [(name, values), ("features", features)] {
        // a fold, not `all`: no early exit, so it runs in vector lanes
        if !v.iter().fold(true, |ok, x| ok & x.is_finite()) {
            let i = v.iter().position(|x| !x.is_finite()).unwrap_or(0);
            return Err(bad(argument, format!("value {i} is {} (not finite)", v[i])));
        }
    }
    Ok(features.len() / n)
}

/// Outputs that cannot make a [`Probe`]: the argument and what is wrong with it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("probe: `{argument}` {message}")]
pub struct ProbeError {
    /// `labels`, `logits`, `features` or `classes`.
    pub argument: &'static str,
    /// What is wrong.
    pub message: String,
}

/// Runs the probe pass of `model` over the samples of `ds` at `indices`, in batches of
/// `batch`, using `batcher` (normally the evaluation batcher: no augmentation). Only the
/// per-sample results of the current batch are ever on the device.
pub fn probe<M: SwastModel>(
    model: &M,
    ds: &Dataset,
    indices: &[usize],
    batcher: &Batcher,
    device: &Device,
    batch: usize,
) -> Probe {
    probe_with(model, ds, indices, batcher, device, batch, Kernels::Fused)
}

/// Which code runs a probe pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernels {
    /// Fused host kernels where swast has them (LeNet-5 on flex, unless
    /// `SWAST_PROBE_KERNELS=burn`), burn's ops elsewhere: what [`probe`] runs.
    Fused,
    /// burn's ops, one after the other, batch by batch.
    Ops,
}

/// [`probe`] with the choice of `kernels` (to compare the two, or to reproduce a probe
/// exactly where the fused kernels round differently).
pub fn probe_with<M: SwastModel>(
    model: &M,
    ds: &Dataset,
    indices: &[usize],
    batcher: &Batcher,
    device: &Device,
    batch: usize,
    kernels: Kernels,
) -> Probe {
    let model = model.valid();
    let device = device.clone().without_autodiff();
    // the logits' width: the class count, or a wider head (`model.head_outputs`)
    let k = model.outputs().max(ds.num_classes());
    let mut out = Probe {
        indices: indices.to_vec(),
        labels: indices.iter().map(|&i| ds.labels()[i]).collect(),
        classes: k,
        feature_dim: 0,
        probs: Vec::with_capacity(indices.len() * k),
        features: Vec::new(),
        loss: Vec::with_capacity(indices.len()),
        correct: Vec::with_capacity(indices.len()),
        flops: model.forward_flops() as f64 * indices.len() as f64,
    };
    match host_lenet(&model, &device).filter(|_| kernels == Kernels::Fused) {
        Some(net) => {
            let host = net.host(ds.shape());
            let f = host.feature_dim();
            out.feature_dim = f;
            out.features = vec![0.0; indices.len() * f];
            let mut logits = vec![0.0; indices.len() * k];
            let fill = |rows: std::ops::Range<usize>, images: &mut [f32]| {
                batcher.fill(ds, &indices[rows], None, images);
            };
            host.forward(fill, &mut out.features, &mut logits);
            push_outputs(&mut out, &logits, indices, ds);
        }
        // burn's ops, one after the other, batch by batch
        None => {
            for chunk in indices.chunks(batch.max(1)) {
                let b = batcher.batch(ds, chunk, None, &device);
                let o = model.forward_output(b.images);
                let [_, f] = o.features.dims();
                out.feature_dim = f;
                let logits: Vec<f32> = o.logits.into_data().iter::<f32>().collect();
                out.features.extend(o.features.into_data().iter::<f32>());
                push_outputs(&mut out, &logits, chunk, ds);
            }
        }
    }
    out
}

/// Whether [`probe`] runs `model` on `device` through fused host kernels.
pub fn has_fused_kernels<M: SwastModel>(model: &M, device: &Device) -> bool {
    host_lenet(model, &device.clone().without_autodiff()).is_some()
}

/// The LeNet-5 whose probe on `device` runs through fused host kernels
/// ([`crate::model::lenet_host`]): a LeNet-5 on the flex CPU device, unless
/// `SWAST_PROBE_KERNELS=burn`.
fn host_lenet<'a, M: SwastModel>(model: &'a M, device: &Device) -> Option<&'a LeNet5> {
    if std::env::var("SWAST_PROBE_KERNELS").is_ok_and(|v| v == "burn") {
        return None;
    }
    #[cfg(feature = "flex")]
    if let Some(Network::LeNet5(net)) = (model as &dyn std::any::Any).downcast_ref::<Network>()
        && *device == Device::flex()
    {
        return Some(net);
    }
    let _ = (model, device);
    None
}

/// Appends the probabilities, losses and hits of the rows of `chunk` from their `logits`.
fn push_outputs(out: &mut Probe, logits: &[f32], chunk: &[usize], ds: &Dataset) {
    let labels: Vec<u16> = chunk.iter().map(|&i| ds.labels()[i]).collect();
    push_rows(out, logits, &labels);
}

/// The first index of the largest value of `z` (ties keep the lower index).
fn argmax(z: &[f32]) -> usize {
    (0..z.len()).fold(0, |best, c| if z[c] > z[best] { c } else { best })
}

/// Appends the softmax probabilities, cross-entropy and arg-max hit of each row of
/// `logits` (`[len(labels), K]`) against its label.
fn push_rows(out: &mut Probe, logits: &[f32], labels: &[u16]) {
    let k = out.classes;
    for (z, &y) in logits.chunks_exact(k).zip(labels) {
        let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exps: Vec<f32> = z.iter().map(|v| (v - m).exp()).collect();
        let sum: f32 = exps.iter().sum();
        let y = usize::from(y);
        out.loss.push(-(exps[y] / sum).ln());
        out.correct.push(argmax(z) == y);
        out.probs.extend(exps.iter().map(|e| e / sum));
    }
}

/// [`probe`] sharded over several devices: the indices are cut into one contiguous shard
/// per device, each device probes its shard with its own copy of the model on its own
/// thread, and the rows are joined back in order. Rows do not depend on each other, so the
/// result equals one device's, up to each backend's arithmetic. A LeNet-5 on flex is not
/// sharded: its fused host kernels run on every core already. burn 0.22's collectives
/// (`all_reduce`) exist only for its CUDA and remote backends; a probe needs none.
pub fn probe_sharded<M: SwastModel>(
    model: &M,
    ds: &Dataset,
    indices: &[usize],
    batcher: &Batcher,
    devices: &[Device],
    batch: usize,
) -> Probe {
    let host = devices.first().is_some_and(|d| has_fused_kernels(model, d));
    if devices.len() <= 1 || indices.len() < 2 || host {
        // the fused host kernels run on every core already
        let d = devices
            .first()
            .cloned()
            .unwrap_or_else(|| model.devices()[0].clone());
        return probe(model, ds, indices, batcher, &d, batch);
    }
    let per = indices.len().div_ceil(devices.len());
    let parts: Vec<Probe> = std::thread::scope(|s| {
        let handles: Vec<_> = indices
            .chunks(per)
            .zip(devices)
            .map(|(shard, d)| {
                let m = model.valid().to_device(&d.clone().without_autodiff());
                s.spawn(move || probe(&m, ds, shard, batcher, d, batch))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a probe shard panicked"))
            .collect()
    });
    let mut parts = parts.into_iter();
    let mut out = parts.next().expect("at least one shard");
    for p in parts {
        out.indices.extend(p.indices);
        out.labels.extend(p.labels);
        out.probs.extend(p.probs);
        out.features.extend(p.features);
        out.loss.extend(p.loss);
        out.correct.extend(p.correct);
        out.flops += p.flops;
        out.feature_dim = out.feature_dim.max(p.feature_dim);
    }
    out
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use super::*;
    use crate::model::{Arch, ModelConfig};
    use swast_data::{DatasetName, load};

    #[test]
    fn the_fused_lenet_probe_agrees_with_burns_ops() {
        let ds = load(DatasetName::Embedded, std::path::Path::new("data"))
            .unwrap()
            .test;
        let idx: Vec<usize> = (0..301).map(|i| (i * 7) % ds.len()).collect();
        let b = Batcher::new(ds.channel_stats(), false);
        let dev = Device::flex();
        let cfg = ModelConfig {
            arch: Arch::Lenet5,
            ..ModelConfig::default()
        };
        let m = crate::model::reinit(cfg.build([1, 28, 28], 10, &dev).unwrap(), 5);
        let fused = probe_with(&m, &ds, &idx, &b, &dev, 64, Kernels::Fused);
        let ops = probe_with(&m, &ds, &idx, &b, &dev, 64, Kernels::Ops);
        assert!(
            host_lenet(&m, &dev).is_some(),
            "LeNet-5 on flex takes the fused path"
        );
        assert_eq!(fused.indices, ops.indices);
        assert_eq!(fused.labels, ops.labels);
        assert_eq!(fused.feature_dim, ops.feature_dim);
        assert_eq!(fused.correct, ops.correct);
        assert_eq!(fused.flops, ops.flops);
        for (got, want, what) in [
            (&fused.features, &ops.features, "features"),
            (&fused.probs, &ops.probs, "probs"),
            (&fused.loss, &ops.loss, "loss"),
        ] {
            assert_eq!(got.len(), want.len(), "{what}");
            for (g, w) in got.iter().zip(want) {
                assert!(
                    (g - w).abs() <= 1e-5 * (1.0 + w.abs()),
                    "{what}: {g} vs {w}"
                );
            }
        }
    }
}
