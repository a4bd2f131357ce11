//! The dense trainer: SGD with momentum / Nesterov / weight decay, a per-step cosine learning
//! rate, cross-entropy, evaluation, and checkpoints that resume bit-exactly.

//!
//! The trainer is generic over the model ([`SwastModel`]): swast's own [`Network`] by
//! default, or a burn module of your own. Build one with [`Trainer::builder`].
//!
//! - `builder`: [`TrainerBuilder`];
//! - `loss`: cross-entropy and the state-preservation KL;
//! - `pruning`: attaching pruners, keeping the weights masked, sparsity accounting;
//! - `checkpoint`: the trainer's checkpoint container.

mod builder;
mod checkpoint;
mod loss;
mod pruning;

pub use builder::TrainerBuilder;
pub use loss::{KlTargets, count_correct, masked_kl};

use crate::checkpoint::CheckpointError;
use crate::coreset::Selector;
use crate::model::{ModelError, Network, SwastModel};
use crate::optim::MaskedSgd;
use crate::probe::Probe;
use crate::prune::{Pruner, StructuredPruner};
use crate::schedule::{Clock, Tick};
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use loss::step_loss;
use serde::{Deserialize, Serialize};
use swast_data::{Batcher, Dataset, SeededRng, epoch_batches};

pub use crate::config::TrainConfig;

/// Cosine annealing from `base` at step 0 to 0 at `total` steps.
pub fn cosine_lr(base: f64, step: u64, total: u64) -> f64 {
    if total == 0 {
        return base;
    }
    cosine_lr_at(base, step.min(total) as f64 / total as f64)
}

/// Cosine annealing from `base` at progress 0 to 0 at progress 1 (clamped to `[0, 1]`).
pub fn cosine_lr_at(base: f64, progress: f64) -> f64 {
    let t = progress.clamp(0.0, 1.0);
    0.5 * base * (1.0 + (std::f64::consts::PI * t).cos())
}

/// The trainer's own state besides model and optimizer: where it is in the schedule, its
/// random streams and the per-step accounting (the run's state, coreset included, is
/// [`crate::run::RunRecord`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Epochs completed.
    pub epoch: usize,
    /// Optimizer steps taken.
    pub step: u64,
    /// Steps the whole run will take (for the cosine schedule).
    pub total_steps: u64,
    /// Shuffling stream.
    pub shuffle_rng: SeededRng,
    /// Augmentation stream.
    pub augment_rng: SeededRng,
    /// Samples trained on so far.
    pub samples_seen: u64,
    /// Training FLOPs so far (forward + backward, 3× the masked forward FLOPs per sample).
    pub train_flops: f64,
    /// Channels kept by structured pruning, once it happened (one list per channel group).
    #[serde(default)]
    pub channel_keeps: Option<Vec<Vec<usize>>>,
    /// Mask updates that changed the mask so far.
    #[serde(default)]
    pub mask_updates: u64,
    /// Weights regrown (masked before an update, kept after it) so far, over all updates.
    #[serde(default)]
    pub regrown: u64,
}

/// Stored outputs of the model at the last selection, for SWaST-cut's state preservation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Preserved {
    /// Training-set indices (ascending) whose outputs are stored.
    pub indices: Vec<usize>,
    /// Classes per row.
    pub classes: usize,
    /// `[len, K]` softmax of the recorded logits.
    pub probs: Vec<f32>,
    /// Rows that take part in the KL term (all in complete mode; in selective mode only the
    /// samples the recording model classified correctly).
    pub active: Vec<bool>,
    /// Accuracy of the recording model on these samples (the guard's reference).
    pub accuracy: f64,
}

impl Preserved {
    /// The stored row of dataset index `i`, if it is preserved and active.
    pub fn row(&self, i: usize) -> Option<&[f32]> {
        let r = self.indices.binary_search(&i).ok()?;
        self.active[r].then(|| &self.probs[r * self.classes..(r + 1) * self.classes])
    }
}

/// Options of one training epoch.
#[derive(Default)]
pub struct EpochOptions<'a> {
    /// One loss weight per `view` entry (weighted mean `Σ wᵢℓᵢ / Σ wᵢ`).
    pub weights: Option<&'a [f32]>,
    /// Receives each batch's per-sample correctness (forgetting events).
    pub observer: Option<&'a mut dyn Selector>,
    /// State preservation: the stored outputs and λ; adds
    /// `λ·mean_i KL(stored_i ‖ softmax(z_i))` over the batch's preserved samples.
    pub preserve: Option<(&'a Preserved, f64)>,
}

impl std::fmt::Debug for EpochOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EpochOptions")
            .field("weighted", &self.weights.is_some())
            .field("observer", &self.observer.is_some())
            .field("preserve", &self.preserve.map(|p| p.1))
            .finish()
    }
}

/// What one training step reports.
#[derive(Debug, Clone, PartialEq)]
pub struct StepOutput {
    /// The batch loss (weighted mean when weights were given).
    pub loss: f64,
    /// Rows classified correctly before the step.
    pub correct: usize,
    /// Per-row correctness, when asked for.
    pub per_sample: Option<Vec<bool>>,
}

/// Loss and accuracy over a pass.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PassStats {
    /// Mean cross-entropy.
    pub loss: f64,
    /// Fraction classified correctly.
    pub accuracy: f64,
    /// Samples seen.
    pub samples: usize,
}

/// Errors of the trainer.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The model does not fit the data.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A setting of the trainer is wrong (the message names it and the fix).
    #[error("{0}")]
    Config(String),
    /// A checkpoint could not be written or read.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The pruner could not start.
    #[error(transparent)]
    Prune(#[from] crate::prune::PruneError),
    /// A record could not be (de)serialized.
    #[error("checkpoint {path}: {message}")]
    Record {
        /// The file.
        path: String,
        /// What failed.
        message: String,
    },
    /// The loss or the weights became NaN or infinite.
    #[error(
        "training diverged at epoch {epoch}, step {step} (loss or weights are {loss}); the last good checkpoint is kept: lower train.lr or check the data"
    )]
    Diverged {
        /// Epoch (1-based).
        epoch: usize,
        /// Step.
        step: u64,
        /// The loss value.
        loss: f64,
    },
    /// A dataset whose images or classes do not fit the model.
    #[error(
        "dataset {dataset} has {found} but the model was built for {expected}; build the model from this dataset (its shape and class count), or pass the dataset it was built for"
    )]
    DataMismatch {
        /// The dataset's name.
        dataset: String,
        /// What the dataset has.
        found: String,
        /// What the model takes.
        expected: String,
    },
}

/// A model, its optimizer and the training state, on one device. `M` is the model:
/// swast's [`Network`] unless you bring your own ([`SwastModel`]).
pub struct Trainer<M: SwastModel = Network> {
    /// Always `Some` between calls; taken while the optimizer steps it.
    model: Option<M>,
    optim: MaskedSgd,
    pruner: Option<Box<dyn Pruner>>,
    /// Masked forward FLOPs of one sample under the current masks.
    sparse_flops: f64,
    /// Structured pruning, until it has happened.
    structured: Option<Box<dyn StructuredPruner>>,
    /// Epoch progress before and after the step in flight (set by [`Trainer::train_epoch`]).
    epoch_span: Option<(f64, f64)>,
    /// The masks' keep flags after the last change (to count regrown weights).
    last_keep: Option<Vec<Vec<bool>>>,
    /// Prunable weights of the model as built (before any structural change).
    dense_prunable: usize,
    cfg: TrainConfig,
    device: Device,
    state: TrainState,
    train_batcher: Batcher,
    eval_batcher: Batcher,
    forward_flops: u64,
    /// The input shape and class count the model was built for.
    input: [usize; 3],
    classes: usize,
    /// Devices probe passes are sharded over (empty: the trainer's device).
    probe_devices: Vec<Device>,
}

impl<M: SwastModel> std::fmt::Debug for Trainer<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("cfg", &self.cfg)
            .field("state", &self.state)
            .field("forward_flops", &self.forward_flops)
            .finish_non_exhaustive()
    }
}

/// Training FLOPs of one sample: forward plus backward, counted as 3× the forward FLOPs.
pub fn train_flops_per_sample(forward_flops: u64) -> f64 {
    train_flops_per_sample_f(forward_flops as f64)
}

/// [`train_flops_per_sample`] for fractional (masked) forward FLOPs.
pub fn train_flops_per_sample_f(forward_flops: f64) -> f64 {
    3.0 * forward_flops
}

/// Once per process, on glibc: allocates, fills and frees one 30 MiB block. Freeing a block
/// that large raises glibc's dynamic `mmap` threshold to its size and the heap trim
/// threshold to twice that (glibc's initial values are 128 KiB and 256 KiB).
///
/// A training step frees and reallocates megabytes of tensors. Under the initial
/// thresholds the heap top they came from is handed back to the kernel, or they get their
/// own `mmap`, so every step pays page faults and the zeroing of fresh pages. Loading a
/// dataset from disk frees large blocks, so `swast train` ran with high thresholds already;
/// a process that trains on data made in memory (`cargo xtask bench`, a library user) did
/// not. No value changes.
pub fn raise_malloc_thresholds() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // under glibc's 32 MiB ceiling for the dynamic threshold with room for the
            // chunk header and flags; filled, so that no allocator can skip it
            let block = vec![1u8; 30 << 20];
            drop(std::hint::black_box(block));
        });
    }
}

impl Trainer<Network> {
    /// A builder for a trainer of one of swast's own architectures or, with
    /// [`TrainerBuilder::build_with`], of a model of your own.
    pub fn builder(cfg: TrainConfig) -> TrainerBuilder {
        TrainerBuilder::new(cfg)
    }
}

impl<M: SwastModel> Trainer<M> {
    /// A fresh trainer around `model` (its weights as given, on the autodiff device),
    /// data streams seeded from `seed` ([`TrainerBuilder`] builds the model and calls this).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn from_model(
        model: M,
        cfg: TrainConfig,
        input: [usize; 3],
        classes: usize,
        (train_batcher, eval_batcher): (Batcher, Batcher),
        steps_per_epoch: u64,
        seed: u64,
        device: Device,
    ) -> Self {
        let forward_flops = model.forward_flops();
        let sparse_flops = forward_flops as f64;
        let dense_prunable_count: usize = model.layers().iter().map(|l| l.params).sum();
        let total_steps = steps_per_epoch * cfg.epochs as u64;
        Self {
            input,
            classes,
            probe_devices: Vec::new(),
            optim: cfg.optimizer(),
            pruner: None,
            sparse_flops,
            structured: None,
            epoch_span: None,
            last_keep: None,
            dense_prunable: dense_prunable_count,
            model: Some(model),
            state: TrainState {
                epoch: 0,
                step: 0,
                total_steps,
                shuffle_rng: SeededRng::stream(seed, "shuffle"),
                augment_rng: SeededRng::stream(seed, "augment"),
                samples_seen: 0,
                train_flops: 0.0,
                channel_keeps: None,
                mask_updates: 0,
                regrown: 0,
            },
            cfg,
            device,
            train_batcher,
            eval_batcher,
            forward_flops,
        }
    }

    /// Sets the number of optimizer steps the whole run takes (for the cosine schedule and
    /// the pruners' timing) when it differs from `epochs × steps_per_epoch`, as on coresets.
    /// Call before [`Trainer::set_pruner`] and the first step.
    pub fn set_total_steps(&mut self, steps: u64) {
        self.state.total_steps = steps;
    }

    /// Where the next step lies in the run, on both clocks.
    pub fn tick(&self) -> Tick {
        let e = self.state.epoch as f64;
        let (epoch_at, epoch_next) = self.epoch_span.unwrap_or((e, e));
        Tick {
            step: self.state.step,
            total_steps: self.state.total_steps,
            epoch_at,
            epoch_next,
            epochs: self.cfg.epochs,
        }
    }

    /// The learning rate of the step at `tick` (cosine on the configured clock).
    pub fn lr_at(&self, tick: Tick) -> f64 {
        match self.cfg.clock {
            Clock::Step => cosine_lr(self.cfg.lr, tick.step, tick.total_steps),
            Clock::Epoch => cosine_lr_at(self.cfg.lr, tick.epoch_at / tick.epochs.max(1) as f64),
        }
    }

    /// The model (with autodiff).
    pub fn model(&self) -> &M {
        self.model.as_ref().expect("trainer holds a model")
    }
    /// The training state.
    pub fn state(&self) -> &TrainState {
        &self.state
    }
    /// Adds the FLOPs of a probe pass or selection to the run's training FLOPs.
    pub fn charge_flops(&mut self, flops: f64) {
        self.state.train_flops += flops;
    }
    /// Sets the training FLOPs spent so far (a rollback keeps what the failed round cost).
    pub fn set_train_flops(&mut self, flops: f64) {
        self.state.train_flops = flops;
    }
    /// The config.
    pub fn config(&self) -> &TrainConfig {
        &self.cfg
    }
    /// Dense forward FLOPs of one sample.
    pub fn forward_flops(&self) -> u64 {
        self.forward_flops
    }
    /// The device (without autodiff).
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Trains one epoch over the samples of `train` listed in `view`, shuffled. Returns the
    /// epoch's mean loss and accuracy (measured on the training batches as they were seen).
    /// See [`EpochOptions`] for weights, the correctness observer and state preservation.
    pub fn train_epoch(
        &mut self,
        train: &Dataset,
        view: &[usize],
        mut opts: EpochOptions<'_>,
    ) -> Result<PassStats, TrainError> {
        self.check_data(train)?;
        let ad = self.device.clone().autodiff();
        let positions: Vec<usize> = (0..view.len()).collect();
        let chunks = epoch_batches(
            &positions,
            self.cfg.batch_size,
            Some(&mut self.state.shuffle_rng),
        );
        let (mut loss_sum, mut correct, mut seen) = (0f64, 0usize, 0usize);
        let (epoch, steps) = (self.state.epoch as f64, chunks.len().max(1) as f64);
        for (i, pos) in chunks.into_iter().enumerate() {
            self.epoch_span = Some((epoch + i as f64 / steps, epoch + (i + 1) as f64 / steps));
            let idx: Vec<usize> = pos.iter().map(|&p| view[p]).collect();
            let aug = self
                .train_batcher
                .augments()
                .then_some(&mut self.state.augment_rng);
            let batch = self.train_batcher.batch(train, &idx, aug, &ad);
            let w = opts.weights.map(|w| {
                let v: Vec<f32> = pos.iter().map(|&p| w[p]).collect();
                Tensor::<1>::from_data(TensorData::new(v, [pos.len()]), &ad)
            });
            let kl = opts.preserve.map(|(stored, lambda)| {
                // the stored rows are as wide as the logits (`model.head_outputs`)
                let k = stored.classes;
                let mut probs = vec![0f32; idx.len() * k];
                let mut mask = vec![0f32; idx.len()];
                for (r, &i) in idx.iter().enumerate() {
                    if let Some(row) = stored.row(i) {
                        probs[r * k..(r + 1) * k].copy_from_slice(row);
                        mask[r] = 1.0;
                    }
                }
                KlTargets {
                    probs: Tensor::from_data(TensorData::new(probs, [idx.len(), k]), &ad),
                    mask: Tensor::from_data(TensorData::new(mask, [idx.len()]), &ad),
                    lambda,
                }
            });
            let out =
                self.train_step_full(batch.images, batch.labels, w, kl, opts.observer.is_some());
            self.epoch_span = None;
            let out = out?;
            if let (Some(o), Some(c)) = (opts.observer.as_deref_mut(), out.per_sample.as_ref()) {
                o.observe(&idx, c);
            }
            loss_sum += out.loss * idx.len() as f64;
            correct += out.correct;
            seen += idx.len();
        }
        self.state.epoch += 1;
        self.state.samples_seen += seen as u64;
        Ok(PassStats {
            loss: loss_sum / seen.max(1) as f64,
            accuracy: correct as f64 / seen.max(1) as f64,
            samples: seen,
        })
    }

    /// One SGD step on a batch (inputs on the autodiff device) at the scheduled learning rate.
    /// Returns the batch's mean loss and how many rows it classified correctly (before the
    /// step).
    pub fn train_step(
        &mut self,
        images: Tensor<4>,
        labels: Tensor<1, burn::tensor::Int>,
    ) -> Result<(f64, usize), TrainError> {
        let o = self.train_step_full(images, labels, None, None, false)?;
        Ok((o.loss, o.correct))
    }

    /// [`Trainer::train_step`] with optional per-sample loss weights and state-preservation
    /// targets, optionally returning per-sample correctness.
    pub fn train_step_full(
        &mut self,
        images: Tensor<4>,
        labels: Tensor<1, burn::tensor::Int>,
        weights: Option<Tensor<1>>,
        kl: Option<KlTargets>,
        per_sample: bool,
    ) -> Result<StepOutput, TrainError> {
        let tick = self.tick();
        let view = self.train_view(tick);
        let out = view.as_ref().unwrap_or(self.model()).forward_output(images);
        let [n, _] = out.logits.dims();
        let loss = step_loss(out.logits.clone(), labels.clone(), weights, kl.as_ref());
        let loss_v = f64::from(loss.clone().into_scalar::<f32>());
        if !loss_v.is_finite() {
            return Err(TrainError::Diverged {
                epoch: self.state.epoch + 1,
                step: self.state.step,
                loss: loss_v,
            });
        }
        let logits = out.logits.detach();
        let pred = logits.argmax(1).reshape([n]).equal(labels);
        let per_sample = per_sample.then(|| {
            pred.clone()
                .into_data()
                .iter::<bool>()
                .collect::<Vec<bool>>()
        });
        let correct = pred.int().sum().into_scalar::<i64>() as usize;
        let raw = loss.backward();
        if view.is_some()
            && let Some(p) = self.pruner.as_mut()
        {
            p.after_backward_raw(tick, &raw);
        }
        drop(view);
        let grads = GradientsParams::from_grads(raw, self.model());
        if let Some(p) = self.pruner.as_mut() {
            p.after_backward(tick, self.model.as_ref().expect("model"), &grads);
        }
        let lr = self.lr_at(tick);
        let model = self.model.take().expect("trainer holds a model");
        let masks = self
            .pruner
            .as_ref()
            .filter(|p| p.enforces_masks())
            .and_then(|p| p.masks());
        self.model = Some(self.optim.step(lr, model, grads, masks));
        // a mask not yet enforced on the weights (ProbMask's) saves no compute: dense FLOPs
        let flops = if self.pruner.as_ref().is_none_or(|p| p.enforces_masks()) {
            self.sparse_flops
        } else {
            self.forward_flops as f64
        };
        self.state.train_flops += train_flops_per_sample_f(flops) * n as f64;
        self.prune_after_step(tick);
        self.state.step += 1;
        Ok(StepOutput {
            loss: loss_v,
            correct,
            per_sample,
        })
    }

    /// The probe pass of the current model over `indices` of `ds` (evaluation batcher, no
    /// autodiff), its FLOPs at the current sparsity.
    pub fn probe(&self, ds: &Dataset, indices: &[usize], batch: usize) -> Probe {
        let view = self.eval_view();
        let model = view.as_ref().unwrap_or(self.model());
        let mut p = if self.probe_devices.len() > 1 {
            crate::probe::probe_sharded(
                model,
                ds,
                indices,
                &self.eval_batcher,
                &self.probe_devices,
                batch,
            )
        } else {
            crate::probe::probe(model, ds, indices, &self.eval_batcher, &self.device, batch)
        };
        p.flops = self.sparse_flops * indices.len() as f64;
        p
    }

    /// Counts an epoch without training (CORDS' skipped epochs).
    pub fn skip_epoch(&mut self) {
        self.state.epoch += 1;
    }

    /// Shards probe passes over `devices` (see [`crate::probe::probe_sharded`]); empty or
    /// one device: the trainer's own.
    pub fn set_probe_devices(&mut self, devices: Vec<Device>) {
        self.probe_devices = devices;
    }

    /// Checks that `ds` fits the model: the image shape it was built for and labels below its
    /// class count. [`Trainer::train_epoch`] checks its dataset; call this before
    /// [`Trainer::evaluate`] or [`Trainer::probe`] on a dataset of unknown origin (the run
    /// does for its test and validation sets).
    pub fn check_data(&self, ds: &Dataset) -> Result<(), TrainError> {
        let shape = ds.shape();
        let [c, h, w] = self.input;
        if shape != self.input {
            return Err(TrainError::DataMismatch {
                dataset: ds.name().to_string(),
                found: format!("{}×{}×{} images", shape[0], shape[1], shape[2]),
                expected: format!("{c}×{h}×{w} inputs"),
            });
        }
        if let Some(&m) = ds.labels().iter().max()
            && m as usize >= self.classes
        {
            return Err(TrainError::DataMismatch {
                dataset: ds.name().to_string(),
                found: format!("label {m}"),
                expected: format!("{} classes", self.classes),
            });
        }
        Ok(())
    }

    /// Test hook: multiplies every weight by zero (a collapse for the guard to catch).
    pub fn inject_collapse(&mut self) {
        self.scale_layers(0.0, usize::MAX);
    }

    /// Test hook: turns every weight of the first prunable layer into NaN (a divergence).
    pub fn inject_nan(&mut self) {
        self.scale_layers(f32::NAN, 1);
    }

    /// Multiplies the weights of the first `count` prunable layers by `factor`.
    fn scale_layers(&mut self, factor: f32, count: usize) {
        let factors: Vec<(burn::module::ParamId, f32)> = self
            .model()
            .layers()
            .iter()
            .take(count)
            .map(|l| (l.param_id, factor))
            .collect();
        let model = self.model.take().expect("trainer holds a model");
        self.model = Some(crate::prune::scale_params(model, &factors));
    }

    /// The learning rate the next step will use.
    pub fn current_lr(&self) -> f64 {
        self.lr_at(self.tick())
    }

    /// Loss and accuracy on all of `ds`, in inference mode (BatchNorm running statistics,
    /// no autodiff, no augmentation), in batches of `batch`.
    pub fn evaluate(&self, ds: &Dataset, batch: usize) -> PassStats {
        let view = self.eval_view();
        let model = view.as_ref().unwrap_or(self.model()).valid();
        let ce = CrossEntropyLossConfig::new().init(&self.device);
        let (mut loss_sum, mut correct) = (0f64, 0usize);
        let all: Vec<usize> = (0..ds.len()).collect();
        for idx in all.chunks(batch.max(1)) {
            let b = self.eval_batcher.batch(ds, idx, None, &self.device);
            let out = model.forward_output(b.images);
            let loss: f64 = ce
                .forward(out.logits.clone(), b.labels.clone())
                .into_scalar::<f32>() as f64;
            loss_sum += loss * idx.len() as f64;
            correct += count_correct(out.logits, b.labels);
        }
        PassStats {
            loss: loss_sum / ds.len().max(1) as f64,
            accuracy: correct as f64 / ds.len().max(1) as f64,
            samples: ds.len(),
        }
    }

    /// A weight checksum (sum and sum of squares of all float parameters), for tests and logs.
    pub fn weight_checksum(&self) -> (f64, f64) {
        weight_checksum(self.model())
    }
}

/// Sum and sum of squares of every float parameter (and running statistic) of a module.
pub fn weight_checksum<M: Module>(m: &M) -> (f64, f64) {
    struct Sum(f64, f64);
    impl burn::module::ModuleVisitor for Sum {
        fn visit_float<const D: usize>(&mut self, p: &burn::module::Param<Tensor<D>>) {
            for v in p.val().into_data().iter::<f64>() {
                self.0 += v;
                self.1 += v * v;
            }
        }
    }
    let mut s = Sum(0.0, 0.0);
    m.visit(&mut s);
    (s.0, s.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_lr_known_values() {
        // 0.5·base·(1 + cos(π·t/T)): t = 0 → base, T/2 → base/2, T → 0
        assert_eq!(cosine_lr(0.1, 0, 100), 0.1);
        assert!((cosine_lr(0.1, 50, 100) - 0.05).abs() < 1e-15);
        assert!((cosine_lr(0.1, 25, 100) - 0.1 * (0.5 + 0.5 * (0.5f64).sqrt())).abs() < 1e-15);
        assert!(cosine_lr(0.1, 100, 100).abs() < 1e-15);
        assert!(
            cosine_lr(0.1, 150, 100).abs() < 1e-15,
            "clamped past the end"
        );
    }

    #[test]
    fn kl_is_zero_for_an_unchanged_model_and_its_gradient_matches_finite_differences() {
        use burn::tensor::activation::softmax;
        let dev = Device::flex().autodiff();
        let z = [[0.3f32, -1.2, 2.0], [1.5, 0.1, -0.4]];
        let logits = Tensor::<2>::from_data(z, &dev);
        let targets = |p: Tensor<2>| KlTargets {
            probs: p,
            mask: Tensor::from_data([1.0f32, 1.0], &dev),
            lambda: 0.1,
        };
        // KL(softmax(z) ‖ softmax(z)) = 0
        let same = targets(softmax(logits.clone(), 1).detach());
        let kl0: f32 = masked_kl(logits.clone(), &same).into_scalar();
        assert!(kl0.abs() < 1e-6, "{kl0}");
        // gradient against central differences, with stored outputs from other logits
        let stored = softmax(
            Tensor::<2>::from_data([[1.0f32, 0.0, -1.0], [0.0, 2.0, 0.5]], &dev),
            1,
        )
        .detach();
        let t = targets(stored);
        let x = logits.clone().require_grad();
        let g = masked_kl(x.clone(), &t).backward();
        let grad: Vec<f32> = x.grad(&g).unwrap().into_data().iter::<f32>().collect();
        let f = |zz: [[f32; 3]; 2]| -> f64 {
            f64::from(masked_kl(Tensor::<2>::from_data(zz, &dev), &t).into_scalar::<f32>())
        };
        let h = 1e-2f32;
        for r in 0..2 {
            for c in 0..3 {
                let (mut a, mut b) = (z, z);
                a[r][c] += h;
                b[r][c] -= h;
                let num = (f(a) - f(b)) / (2.0 * f64::from(h));
                let ana = f64::from(grad[r * 3 + c]);
                assert!(
                    (num - ana).abs() < 1e-3,
                    "[{r},{c}] numeric {num} analytic {ana}"
                );
            }
        }
        // masked rows do not count; no active row → 0
        let none = KlTargets {
            mask: Tensor::from_data([0.0f32, 0.0], &dev),
            ..t.clone()
        };
        assert_eq!(masked_kl(logits, &none).into_scalar::<f32>(), 0.0);
    }

    #[test]
    fn train_config_validation() {
        assert!(TrainConfig::default().validate().is_ok());
        let bad = |f: fn(&mut TrainConfig)| {
            let mut c = TrainConfig::default();
            f(&mut c);
            c.validate().unwrap_err()
        };
        assert!(bad(|c| c.lr = f64::NAN).contains("train.lr"));
        assert!(bad(|c| c.momentum = 1.0).contains("train.momentum"));
        assert!(bad(|c| c.batch_size = 0).contains("train.batch_size"));
        assert!(bad(|c| c.weight_decay = -1.0).contains("train.weight_decay"));
        assert!(
            bad(|c| {
                c.momentum = 0.0;
                c.nesterov = true
            })
            .contains("nesterov")
        );
    }
}
