//! The dense trainer: SGD with momentum / Nesterov / weight decay, a per-step cosine learning
//! rate, cross-entropy, evaluation, and checkpoints that resume bit-exactly.

use crate::checkpoint::{self, CheckpointError};
use crate::coreset::Selector;
use crate::model::{ModelConfig, ModelError, Network, SwastModel};
use crate::optim::MaskedSgd;
use crate::probe::Probe;
use crate::prune::{
    MaskSet, PruneInit, Pruner, StructuredPruner, apply_masks, sparse_forward_flops,
};
use crate::schedule::{Clock, Tick};
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use std::path::Path;
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

/// The state-preservation targets of one batch.
#[derive(Debug, Clone)]
pub struct KlTargets {
    /// `[B, K]` stored probabilities (rows without a target are ignored).
    pub probs: Tensor<2>,
    /// `[B]` 1 where the row has a target.
    pub mask: Tensor<1>,
    /// λ.
    pub lambda: f64,
}

/// `mean_{i: mask_i = 1} KL(P_i ‖ softmax(z_i))`, `KL = Σ_c P_c (log P_c − log Q_c)`; zero when
/// no row has a target. Gradients flow through `z` only.
pub fn masked_kl(logits: Tensor<2>, targets: &KlTargets) -> Tensor<1> {
    let logq = burn::tensor::activation::log_softmax(logits, 1);
    let p = targets.probs.clone();
    // P·log P with 0·log 0 = 0
    let plogp = p.clone() * p.clone().clamp_min(1e-30).log();
    let kl_rows = (plogp - p * logq).sum_dim(1).squeeze_dim::<1>(1);
    let count = targets.mask.clone().sum().clamp_min(1.0);
    (kl_rows * targets.mask.clone()).sum().div(count)
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

/// A model, its optimizer and the training state, on one device.
pub struct Trainer {
    /// Always `Some` between calls; taken while the optimizer steps it.
    model: Option<Network>,
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

impl std::fmt::Debug for Trainer {
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

impl Trainer {
    /// A fresh trainer: the model is initialised from `seed` on `device` (autodiff is added
    /// here), data streams are seeded from `seed`.
    ///
    /// `steps_per_epoch` sizes the cosine schedule (`epochs × steps_per_epoch`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        model_cfg: &ModelConfig,
        cfg: TrainConfig,
        input: [usize; 3],
        classes: usize,
        train_batcher: Batcher,
        eval_batcher: Batcher,
        steps_per_epoch: u64,
        seed: u64,
        device: &Device,
    ) -> Result<Self, TrainError> {
        raise_malloc_thresholds();
        let device = device.clone().without_autodiff();
        // initial weights come from swast's own seeded generator (see `model::reinit`), so
        // they depend on the seed alone, whatever other threads draw from burn's generator
        device.seed(seed);
        let model = crate::model::reinit(
            model_cfg.build(input, classes, &device.clone().autodiff())?,
            seed,
        );
        let forward_flops = model.forward_flops();
        let sparse_flops = forward_flops as f64;
        let dense_prunable_count: usize = model.layers().iter().map(|l| l.params).sum();
        let total_steps = steps_per_epoch * cfg.epochs as u64;
        Ok(Self {
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
        })
    }

    /// Sets the number of optimizer steps the whole run takes (for the cosine schedule and
    /// the pruners' timing) when it differs from `epochs × steps_per_epoch`, as on coresets.
    /// Call before [`Trainer::set_pruner`] and the first step.
    pub fn set_total_steps(&mut self, steps: u64) {
        self.state.total_steps = steps;
    }

    /// Attaches an online pruner: it builds its masks from the initial weights, which are
    /// masked at once. Call before the first step.
    pub fn set_pruner(&mut self, mut pruner: Box<dyn Pruner>) -> Result<(), TrainError> {
        let layers = self.model().layers();
        pruner.init(
            self.model(),
            &PruneInit {
                layers: &layers,
                total_steps: self.state.total_steps,
                epochs: self.cfg.epochs,
                device: &self.device,
            },
        )?;
        let factors = pruner.init_weight_scale();
        if !factors.is_empty() {
            let model = self.model.take().expect("trainer holds a model");
            self.model = Some(crate::prune::scale_params(model, &factors));
        }
        self.pruner = Some(pruner);
        self.reapply_masks();
        self.last_keep = self.keep_flags();
        Ok(())
    }

    fn keep_flags(&self) -> Option<Vec<Vec<bool>>> {
        self.masks().map(MaskSet::keep_flags)
    }

    /// Counts a mask change: one update, and the weights it regrew.
    fn count_mask_change(&mut self) {
        let now = self.keep_flags();
        if let (Some(before), Some(after)) = (&self.last_keep, &now) {
            let grown: usize = before
                .iter()
                .zip(after)
                .map(|(b, a)| b.iter().zip(a).filter(|(b, a)| !**b && **a).count())
                .sum();
            self.state.regrown += grown as u64;
        }
        self.state.mask_updates += 1;
        self.last_keep = now;
    }

    /// Attaches a structured pruner: it removes channels physically when it says so (right
    /// now, on the initial weights, when [`StructuredPruner::at_start`]). Call before the
    /// first step.
    pub fn set_structured(&mut self, pruner: Box<dyn StructuredPruner>) {
        if pruner.at_start(self.start_tick()) {
            self.shrink_now(pruner.as_ref());
        }
        self.structured = Some(pruner);
    }

    fn start_tick(&self) -> Tick {
        Tick::start(self.state.total_steps, self.cfg.epochs)
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

    fn shrink_now(&mut self, pruner: &dyn StructuredPruner) {
        let keeps = pruner.keeps(self.model());
        self.apply_keeps(&keeps);
        // the shrunk layers are new parameters: their momentum starts from zero
        self.optim = self.cfg.optimizer();
        self.state.channel_keeps = Some(keeps);
    }

    fn apply_keeps(&mut self, keeps: &[Vec<usize>]) {
        let mut m = self.model.take().expect("trainer holds a model");
        m.keep_channels(keeps);
        self.model = Some(m);
        self.sparse_flops = sparse_forward_flops(&self.model().layers(), self.masks());
    }

    /// Share of zero or removed weights over the prunable weights of the model as built.
    pub fn overall_sparsity(&self) -> f64 {
        1.0 - self.params_kept() as f64 / self.dense_prunable.max(1) as f64
    }

    /// Prunable weights kept now (masked ones and removed channels excluded).
    pub fn params_kept(&self) -> usize {
        crate::prune::params_kept(&self.model().layers(), self.masks())
    }

    /// Prunable weights of the model as it was built, before any structural change.
    pub fn dense_prunable(&self) -> usize {
        self.dense_prunable
    }

    /// The pruner, if any.
    pub fn pruner(&self) -> Option<&dyn Pruner> {
        self.pruner.as_deref()
    }

    /// The current masks, if a pruner is attached.
    pub fn masks(&self) -> Option<&MaskSet> {
        self.pruner.as_ref().and_then(|p| p.masks())
    }

    /// Masked forward FLOPs of one sample under the current masks.
    pub fn sparse_forward_flops(&self) -> f64 {
        self.sparse_flops
    }

    fn reapply_masks(&mut self) {
        let layers = self.model().layers();
        if let Some(m) = self
            .pruner
            .as_ref()
            .filter(|p| p.enforces_masks())
            .and_then(|p| p.masks())
        {
            let model = self.model.take().expect("trainer holds a model");
            self.model = Some(apply_masks(model, m));
            self.optim.apply_masks(m);
        }
        self.sparse_flops = sparse_forward_flops(&layers, self.masks());
    }

    /// The model evaluation and probe passes use when it is not [`Trainer::model`] itself
    /// (a pruner whose mask is not yet enforced on the weights, such as ProbMask's).
    pub fn eval_view(&self) -> Option<Network> {
        self.pruner.as_ref().and_then(|p| p.eval_view(self.model()))
    }

    /// The model (with autodiff).
    pub fn model(&self) -> &Network {
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
        let view = self
            .pruner
            .as_mut()
            .and_then(|p| p.train_view(tick, self.model.as_ref().expect("model")));
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

    /// After the optimizer step at `tick`: the pruner's mask update (re-applied to the
    /// weights and velocities, and counted, when it changed the masks), then structured
    /// pruning when the run reaches its point.
    fn prune_after_step(&mut self, tick: Tick) {
        let changed = match self.pruner.as_mut() {
            Some(p) => p.after_step(tick, self.model.as_ref().expect("model")),
            None => false,
        };
        if changed {
            self.reapply_masks();
            self.count_mask_change();
        }
        if self.state.channel_keeps.is_none()
            && let Some(p) = self.structured.take()
        {
            if p.due(tick) {
                self.shrink_now(p.as_ref());
            }
            self.structured = Some(p);
        }
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

    /// Restores a snapshot made by [`Trainer::checkpoint_bytes`]; returns its `extra` bytes.
    pub fn restore_checkpoint_bytes(&mut self, bytes: &[u8]) -> Result<Vec<u8>, TrainError> {
        let path = Path::new("<snapshot>");
        let sections = checkpoint::unpack(path, bytes)?;
        self.restore_sections(path, sections)
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

    /// Serializes model, optimizer and state into the checkpoint container.
    pub fn checkpoint_bytes(&self, extra: &[u8]) -> Result<Vec<u8>, TrainError> {
        let rec = |message: String| TrainError::Record {
            path: "<memory>".into(),
            message,
        };
        // BatchNorm's running statistics keep their last update pending until a read syncs
        // it (burn's `RunningState`); a record reads the value as of the last sync, so sync
        // first, or a resumed run would start from statistics one update old
        let _ = self.model().valid();
        let model = self
            .model()
            .clone()
            .into_record()
            .into_bytes()
            .map_err(|e| rec(format!("model record: {e:?}")))?;
        let optim = self.optim.to_bytes();
        let pruner = self
            .pruner
            .as_ref()
            .map(|p| p.state_bytes())
            .unwrap_or_default();
        let state = serde_json::to_vec(&self.state).map_err(|e| rec(e.to_string()))?;
        Ok(checkpoint::pack(&[&state, &model, &optim, &pruner, extra]))
    }

    /// Writes a checkpoint atomically to `path`.
    ///
    /// `extra` is stored as is (the caller's own state, e.g. a selector's history).
    pub fn save_checkpoint(&self, path: &Path, extra: &[u8]) -> Result<(), TrainError> {
        checkpoint::write_atomic(path, &self.checkpoint_bytes(extra)?)?;
        Ok(())
    }

    /// Restores model, optimizer and state from the checkpoint at `path` (written by a
    /// trainer built with the same model config and data).
    ///
    /// Returns the `extra` bytes given to [`Trainer::save_checkpoint`].
    pub fn load_checkpoint(&mut self, path: &Path) -> Result<Vec<u8>, TrainError> {
        let sections = checkpoint::read(path)?;
        self.restore_sections(path, sections)
    }

    /// Restores the sections of the checkpoint at `path` that [`checkpoint::read`] already
    /// read and verified (`path` names it in errors).
    pub fn restore_sections(
        &mut self,
        path: &Path,
        sections: Vec<Vec<u8>>,
    ) -> Result<Vec<u8>, TrainError> {
        let rec = |message: String| TrainError::Record {
            path: path.display().to_string(),
            message,
        };
        let [state, model, optim_bytes, pruner_bytes, extra]: [Vec<u8>; 5] = sections
            .try_into()
            .map_err(|s: Vec<Vec<u8>>| rec(format!("expected 5 sections, found {}", s.len())))?;
        let state: TrainState =
            serde_json::from_slice(&state).map_err(|e| rec(format!("state: {e}")))?;
        if let Some(k) = &state.channel_keeps
            && self.state.channel_keeps.as_ref() != Some(k)
        {
            // rebuild the pruned architecture before loading its weights
            if self.state.channel_keeps.is_some() {
                return Err(rec("the trainer was already shrunk differently".into()));
            }
            self.apply_keeps(k);
        }
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(model))
            .map_err(|e| rec(format!("model record: {e:?}")))?;
        let current = self.model.take().expect("trainer holds a model");
        let loaded = current.clone().try_load_record(record);
        match loaded {
            Ok(m) => self.model = Some(m),
            Err(e) => {
                self.model = Some(current);
                return Err(rec(format!("model record does not fit this model: {e:?}")));
            }
        }
        self.optim
            .load_bytes(&optim_bytes, &self.device)
            .map_err(|e| rec(format!("optimizer state: {e}")))?;
        let layers = self.model().layers();
        match self.pruner.as_mut() {
            Some(p) => p
                .load_state(&pruner_bytes, &layers)
                .map_err(|e| rec(format!("pruner state: {e}")))?,
            None if !pruner_bytes.is_empty() => {
                return Err(rec(
                    "the checkpoint holds pruner state but no pruner is attached".into(),
                ));
            }
            None => {}
        }
        self.reapply_masks();
        self.last_keep = self.keep_flags();
        self.state = state;
        Ok(extra)
    }

    /// A weight checksum (sum and sum of squares of all float parameters), for tests and logs.
    pub fn weight_checksum(&self) -> (f64, f64) {
        weight_checksum(self.model())
    }
}

/// The training loss of a batch: cross-entropy (weighted, `Σ wᵢ·(−log softmax(zᵢ)[yᵢ]) / Σ wᵢ`,
/// when selection weights are given) plus `λ·KL(stored ‖ current)` for state preservation.
fn step_loss(
    logits: Tensor<2>,
    labels: Tensor<1, burn::tensor::Int>,
    weights: Option<Tensor<1>>,
    kl: Option<&KlTargets>,
) -> Tensor<1> {
    let [n, _] = logits.dims();
    let loss = match weights {
        None => CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits.clone(), labels),
        Some(w) => {
            let logp = burn::tensor::activation::log_softmax(logits.clone(), 1);
            let nll = logp.gather(1, labels.reshape([n, 1])).reshape([n]).neg();
            let total = w.clone().sum().clamp_min(1e-12);
            (nll * w).sum().div(total)
        }
    };
    match kl {
        Some(t) => loss + masked_kl(logits, t).mul_scalar(t.lambda),
        None => loss,
    }
}

/// Number of rows whose arg-max logit equals the label.
pub fn count_correct(logits: Tensor<2>, labels: Tensor<1, burn::tensor::Int>) -> usize {
    let [b, _] = logits.dims();
    let pred = logits.argmax(1).reshape([b]);
    pred.equal(labels).int().sum().into_scalar::<i64>() as usize
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
