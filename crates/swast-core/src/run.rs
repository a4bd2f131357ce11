//! One run, end to end: data, model, the epoch loop, the run folder (`config.toml`,
//! `metrics.jsonl`, `summary.json`, `checkpoint.bin`) and exact resume.

use crate::checkpoint::{self, CheckpointError};
use crate::config::{Augment, Config, ConfigError, Method};
use crate::config::{PreserveMode, PrunerName};
use crate::coreset::{SelectContext, SelectError, Selector};
use crate::events::{Event, EventSink, JsonlSink};
use crate::model::{SwastModel, trainable_params};
use crate::prune::{LayerSummary, PruneError, Pruner, Scope};
use crate::schedule::{Phase, Schedule, ScheduleKind};
use crate::train::{EpochOptions, Preserved};
use crate::train::{PassStats, TrainError, Trainer, train_flops_per_sample};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;
use swast_data::SeededRng;
use swast_data::{Batcher, DataError, Dataset, apply_label_noise};

/// File names inside a run folder.
pub mod files {
    /// The resolved config.
    pub const CONFIG: &str = "config.toml";
    /// One JSON event per line.
    pub const METRICS: &str = "metrics.jsonl";
    /// The final summary.
    pub const SUMMARY: &str = "summary.json";
    /// The latest checkpoint (model, optimizer, RNG streams, epoch).
    pub const CHECKPOINT: &str = "checkpoint.bin";
    /// Per-layer mask summary at the end of a pruned run.
    pub const MASKS: &str = "masks.json";
    /// One JSON file per selection round.
    pub const CORESETS: &str = "coresets";
}

/// Where a run gets the pluggable parts that swast-core does not implement itself (pruners
/// from `swast-prune`, selectors from `swast-coreset`). The binary wires the concrete ones.
pub trait Components {
    /// The pruner `cfg.prune` asks for, masking `scope`.
    fn pruner(&self, cfg: &Config, scope: Scope) -> Result<Box<dyn Pruner>, PruneError>;
    /// The selector `cfg.coreset` asks for.
    fn selector(&self, cfg: &Config) -> Result<Box<dyn Selector>, SelectError>;
}

/// No pluggable parts: only `method = "dense"` can run.
#[derive(Debug, Default)]
pub struct DenseOnly;

impl Components for DenseOnly {
    fn pruner(&self, cfg: &Config, _: Scope) -> Result<Box<dyn Pruner>, PruneError> {
        Err(PruneError {
            pruner: "none",
            message: format!(
                "method `{}` needs a pruner, and none is wired in",
                cfg.method.as_str()
            ),
        })
    }
    fn selector(&self, cfg: &Config) -> Result<Box<dyn Selector>, SelectError> {
        Err(SelectError {
            selector: "none",
            message: format!(
                "method `{}` needs a selector, and none is wired in",
                cfg.method.as_str()
            ),
        })
    }
}

/// Errors of a run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Bad config.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Bad or missing data.
    #[error(transparent)]
    Data(#[from] DataError),
    /// Training failed.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// A run file could not be written.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A file could not be read or written.
    #[error("{path}: {source}; {}", crate::checkpoint::io_fix(source))]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Stopped on request (Ctrl-C) at an epoch boundary, checkpoint written.
    #[error(
        "interrupted after {epochs_done} epochs; the checkpoint is saved: run the same command again to resume"
    )]
    Interrupted {
        /// Epochs completed and checkpointed.
        epochs_done: usize,
    },
    /// The output folder holds a different run.
    #[error(
        "{dir} already holds a run with a different config; pass another --out folder or delete that one"
    )]
    DifferentRun {
        /// The folder.
        dir: PathBuf,
    },
    /// The pruner could not be built.
    #[error(transparent)]
    Prune(#[from] PruneError),
    /// The selector failed.
    #[error(transparent)]
    Select(#[from] SelectError),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What a finished run reports (`summary.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Method.
    pub method: String,
    /// Dataset.
    pub dataset: String,
    /// Architecture.
    pub model: String,
    /// Seed.
    pub seed: u64,
    /// Epochs.
    pub epochs: usize,
    /// Final test accuracy (a fraction in 0..1).
    pub test_accuracy: f64,
    /// Final test loss.
    pub test_loss: f64,
    /// Final validation accuracy, when a validation split was held out.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub val_accuracy: Option<f64>,
    /// Wall seconds of training and evaluation, summed over resumed sessions.
    pub wall_seconds: f64,
    /// Samples trained on (with repetition).
    pub samples_seen: u64,
    /// Training FLOPs (3× forward FLOPs per trained sample).
    pub train_flops: f64,
    /// FLOPs of dense full-data training for the same epochs.
    pub dense_train_flops: f64,
    /// `train_flops / dense_train_flops`.
    pub relative_flops: f64,
    /// Dense forward FLOPs of one sample.
    pub forward_flops: u64,
    /// Trainable parameters.
    pub params: usize,
    /// Share of zero weights over all prunable weights at the end.
    pub final_sparsity: f64,
    /// Share of the training set in the last coreset (1 when training on all of it).
    pub coreset_fraction: f64,
    /// Selection rounds.
    pub rounds: usize,
    /// Wall seconds of probe passes, selections and guard checks.
    pub selection_seconds: f64,
    /// FLOPs of probe passes and selections (included in `train_flops`).
    pub selection_flops: f64,
    /// FLOPs of recording the state-preservation targets (0: the selection's probe pass
    /// already computed them).
    pub preserve_flops: f64,
    /// Guard rollbacks.
    pub rollbacks: usize,
    /// Wall seconds per phase (training, evaluation, selection).
    pub phase_seconds: crate::train::PhaseSeconds,
    /// Prunable weights kept at the end.
    pub params_kept: usize,
    /// Training samples.
    pub train_samples: usize,
    /// Test samples.
    pub test_samples: usize,
    /// Device name.
    pub device: String,
    /// swast version.
    pub swast_version: String,
    /// Best test accuracy of any epoch (memorization shows as a final accuracy below it).
    #[serde(default)]
    pub best_test_accuracy: f64,
    /// Training accuracy of the last epoch, on the labels trained on (noisy ones included).
    #[serde(default)]
    pub final_train_accuracy: f64,
    /// Mask updates that changed the mask.
    #[serde(default)]
    pub mask_updates: u64,
    /// Weights regrown over all mask updates, as a share of the weights the masks keep.
    #[serde(default)]
    pub regrown_share: f64,
}

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Stop (with a checkpoint written) after this many epochs in total, as an interruption
    /// would; the next run resumes from there.
    pub stop_after_epoch: Option<usize>,
    /// Test hook: zero every weight at the end of this (1-based) epoch, once, to simulate a
    /// collapse the guard must catch.
    pub collapse_after_epoch: Option<usize>,
    /// Test hook: set one weight to NaN at the end of this (1-based) epoch, once, to simulate
    /// a divergence.
    pub nan_after_epoch: Option<usize>,
    /// Set (e.g. by a Ctrl-C handler) to stop cleanly at the next epoch boundary, after the
    /// checkpoint of the epoch in progress is written.
    pub stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Devices to shard probe passes over (selection, the guard, state preservation); empty
    /// or one: the run's device. Rows do not depend on each other, so results do not change.
    pub probe_devices: Vec<Device>,
}

/// The data a run trains and tests on, prepared from its config.
#[derive(Debug, Clone)]
pub struct PreparedData {
    /// Training set (noisy labels applied, validation held out, subset taken).
    pub train: Dataset,
    /// Test set.
    pub test: Dataset,
    /// Validation set, when `data.val_fraction > 0`.
    pub val: Option<Dataset>,
}

/// Loads and prepares the data of `cfg`: reads the dataset, takes the `max_train` subset,
/// holds out the validation split, then corrupts training labels.
pub fn prepare_data(cfg: &Config) -> Result<PreparedData, RunError> {
    let splits = swast_data::load(cfg.data.dataset, Path::new(&cfg.data.dir))?;
    let mut train = splits.train;
    if train.is_empty() || splits.test.is_empty() {
        return Err(DataError::Invalid {
            name: cfg.data.dataset.to_string(),
            message: "the training or test set is empty; point `data.dir` at complete data files"
                .into(),
        }
        .into());
    }
    if cfg.data.max_train > 0 && cfg.data.max_train < train.len() {
        let frac = cfg.data.max_train as f64 / train.len() as f64;
        train = train.stratified_split(frac, cfg.seed)?.1;
    }
    let mut val = None;
    if cfg.data.val_fraction > 0.0 {
        let (rest, v) = train.stratified_split(cfg.data.val_fraction, cfg.seed)?;
        train = rest;
        val = Some(v);
    }
    let train = apply_label_noise(train, cfg.data.label_noise, cfg.data.noise_kind, cfg.seed)?;
    Ok(PreparedData {
        train,
        test: splits.test,
        val,
    })
}

/// A fresh trainer for `cfg` on the prepared data (normalization from the training set,
/// augmentation per `data.augment`, cosine schedule over the run's steps).
pub fn build_trainer(
    cfg: &Config,
    data: &PreparedData,
    device: &Device,
    parts: &dyn Components,
) -> Result<Trainer, RunError> {
    let norm = data.train.channel_stats();
    let augment = match cfg.data.augment {
        Augment::On => true,
        Augment::Off => false,
        Augment::Auto => data.train.shape() == [3, 32, 32],
    };
    let steps_per_epoch = data.train.len().div_ceil(cfg.train.batch_size) as u64;
    let mut trainer = Trainer::new(
        &cfg.model,
        cfg.train.clone(),
        data.train.shape(),
        data.train.num_classes(),
        Batcher::new(norm.clone(), augment),
        Batcher::new(norm, false),
        steps_per_epoch,
        cfg.seed,
        device,
    )?;
    // the run's real step count: coreset epochs have fewer steps
    let schedule = schedule_of(cfg);
    let (n, b) = (data.train.len(), cfg.train.batch_size);
    let k = budget_of(cfg, n);
    let total: u64 = (1..=cfg.train.epochs)
        .map(|t| {
            let m = if selects(cfg.method) {
                schedule.samples_at(t, n, k)
            } else {
                n
            };
            m.div_ceil(b) as u64
        })
        .sum();
    trainer.set_total_steps(total);
    let structured = cfg.prune.method == PrunerName::ChannelL1;
    match cfg.method {
        Method::Dense | Method::CoresetOnly => {}
        Method::PruningOnly | Method::SwastCut if structured => {
            trainer.set_structured(cfg.prune.sparsity, cfg.prune.begin, cfg.prune.clock);
        }
        Method::SwastTrim if structured => {
            return Err(PruneError {
                pruner: "channel-l1",
                message: "removes backbone channels, which SWaST-trim leaves dense: use it with pruning-only or swast-cut".into(),
            }
            .into());
        }
        Method::PruningOnly | Method::SwastCut => {
            trainer.set_pruner(parts.pruner(cfg, Scope::All)?)?
        }
        Method::SwastTrim => trainer.set_pruner(parts.pruner(cfg, Scope::Classifier)?)?,
    }
    Ok(trainer)
}

/// The trainer of the run in `dir` as its last checkpoint left it (to evaluate or inspect a
/// finished or interrupted run), with its data.
pub fn load_run(
    dir: &Path,
    device: &Device,
    parts: &dyn Components,
) -> Result<(Config, Trainer, PreparedData), RunError> {
    let config_path = dir.join(files::CONFIG);
    let text = std::fs::read_to_string(&config_path).map_err(io_err(&config_path))?;
    let cfg = Config::from_toml_str(&text)?;
    let data = prepare_data(&cfg)?;
    let mut trainer = build_trainer(&cfg, &data, device, parts)?;
    trainer.load_checkpoint(&dir.join(files::CHECKPOINT))?;
    Ok((cfg, trainer, data))
}

/// Runs `cfg` on `device` in the folder `dir`, resuming from its checkpoint when there is one
/// and returning the existing summary when the run already finished.
pub fn run(
    cfg: &Config,
    device: &Device,
    dir: &Path,
    opts: &RunOptions,
    sink: &mut dyn EventSink,
    parts: &dyn Components,
) -> Result<Summary, RunError> {
    cfg.validate()?;
    let resolved = cfg.to_toml();
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    // a session killed while writing leaves its temporary files behind
    for d in [dir.to_path_buf(), dir.join(files::CORESETS)] {
        checkpoint::remove_stale_temps(&d);
    }
    let config_path = dir.join(files::CONFIG);
    let summary_path = dir.join(files::SUMMARY);
    let ckpt_path = dir.join(files::CHECKPOINT);
    let metrics_path = dir.join(files::METRICS);
    if config_path.exists() {
        let existing = std::fs::read_to_string(&config_path).map_err(io_err(&config_path))?;
        if existing != resolved {
            return Err(RunError::DifferentRun {
                dir: dir.to_path_buf(),
            });
        }
        if summary_path.exists() {
            let text = std::fs::read_to_string(&summary_path).map_err(io_err(&summary_path))?;
            if let Ok(s) = serde_json::from_str::<Summary>(&text) {
                return Ok(s);
            }
        }
    }

    let data = prepare_data(cfg)?;
    let mut trainer = build_trainer(cfg, &data, device, parts)?;
    for ds in std::iter::once(&data.test).chain(data.val.as_ref()) {
        trainer.check_data(ds)?;
    }
    trainer.set_probe_devices(opts.probe_devices.clone());

    let mut selector: Option<Box<dyn Selector>> = if selects(cfg.method) {
        Some(parts.selector(cfg)?)
    } else {
        None
    };
    if ckpt_path.exists() && config_path.exists() {
        let extra = trainer.load_checkpoint(&ckpt_path)?;
        if let Some(s) = selector.as_mut() {
            s.load_state(&extra)?;
        }
        // drop whatever the interrupted session logged after its last checkpoint
        let keep = trainer.state().metrics_len;
        if let Ok(f) = std::fs::OpenOptions::new().write(true).open(&metrics_path) {
            f.set_len(keep).map_err(io_err(&metrics_path))?;
        }
    } else {
        checkpoint::write_atomic(&config_path, resolved.as_bytes())?;
        if metrics_path.exists() {
            std::fs::remove_file(&metrics_path).map_err(io_err(&metrics_path))?;
        }
    }
    let mut metrics = JsonlSink::append(&metrics_path).map_err(io_err(&metrics_path))?;
    let mut out = Outputs {
        metrics: &mut metrics,
        metrics_path: &metrics_path,
        sink,
    };

    let epochs = cfg.train.epochs;
    let start = trainer.state().epoch;
    out.emit(
        &Event::RunStart {
            method: cfg.method.as_str().into(),
            epochs,
            start_epoch: start,
            train_samples: data.train.len(),
            test_samples: data.test.len(),
            forward_flops: trainer.forward_flops(),
            params: trainable_params(trainer.model()),
        },
        true,
    )?;
    let all: Vec<usize> = (0..data.train.len()).collect();
    let eval_batch = cfg.train.batch_size.max(256);
    let schedule = schedule_of(cfg);
    let mut last_test = None;
    // the guard's snapshot: taken before each selection round (epoch, checkpoint bytes)
    let mut snapshot: Option<Snapshot> = None;
    let mut retries = 0usize;
    let mut injected = false;
    let mut poisoned = false;
    let mut epoch = start;
    while epoch < epochs {
        if opts
            .stop
            .as_ref()
            .is_some_and(|s| s.load(std::sync::atomic::Ordering::SeqCst))
        {
            return Err(RunError::Interrupted { epochs_done: epoch });
        }
        if opts.stop_after_epoch.is_some_and(|s| epoch >= s) {
            return Err(RunError::Io {
                path: dir.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::Interrupted,
                    format!("stopped after epoch {epoch} as asked; run again to resume"),
                ),
            });
        }
        let t = epoch + 1;
        let phase = if selector.is_some() {
            schedule.phase(t)
        } else {
            Phase::Full
        };
        if phase == Phase::Select && cfg.guard.enabled {
            let mut g = Guard::new(&snapshot, &mut retries, &mut selector);
            if let Some(back) = guard_check(cfg, &mut trainer, &data, &mut g, eval_batch, &mut out)?
            {
                epoch = back;
                continue;
            }
            let extra = selector
                .as_ref()
                .map(|s| s.state_bytes())
                .unwrap_or_default();
            snapshot = Some((epoch, (trainer.checkpoint_bytes(&[])?, extra)));
        }
        if phase == Phase::Skip {
            trainer.skip_epoch();
            epoch += 1;
            continue;
        }
        let t0 = Instant::now();
        if phase == Phase::Select {
            let sel = selector.as_mut().expect("selection phases need a selector");
            let budget = scaled_budget(cfg, data.train.len(), trainer.state().budget_scale);
            let e = select_round(
                cfg,
                &mut trainer,
                sel.as_mut(),
                &data,
                budget,
                eval_batch,
                dir,
            )?;
            out.emit(&e, true)?;
        }
        let lr = trainer.current_lr();
        let coreset = trainer.state().coreset.clone();
        let preserved = trainer.state().preserved.clone();
        let (view, weights) = match &coreset {
            Some(c) => (
                c.indices.as_slice(),
                cfg.coreset.weighted.then_some(c.weights.as_slice()),
            ),
            None => (all.as_slice(), None),
        };
        let observer = match selector.as_mut() {
            Some(s) if s.observes() => Some(s.as_mut() as &mut dyn Selector),
            _ => None,
        };
        let preserve = match (&preserved, cfg.method, cfg.preserve.mode) {
            (Some(p), Method::SwastCut, m) if m != PreserveMode::Off => {
                Some((p, cfg.preserve.lambda))
            }
            _ => None,
        };
        let tt = Instant::now();
        let trained = trainer.train_epoch(
            &data.train,
            view,
            EpochOptions {
                weights,
                observer,
                preserve,
            },
        );
        let train_s = tt.elapsed().as_secs_f64();
        if opts.collapse_after_epoch == Some(t) && !injected {
            injected = true;
            trainer.inject_collapse();
        }
        if opts.nan_after_epoch == Some(t) && !poisoned {
            poisoned = true;
            trainer.inject_nan();
        }
        let (sum, sq) = trainer.weight_checksum();
        let trained = match trained {
            Ok(_) if !(sum.is_finite() && sq.is_finite()) => Err(TrainError::Diverged {
                epoch: t,
                step: trainer.state().step,
                loss: f64::NAN,
            }),
            other => other,
        };
        let tr: PassStats = match trained {
            Ok(tr) => tr,
            Err(e @ TrainError::Diverged { .. }) => {
                // with the guard on, a divergence inside a coreset round is rolled back
                let mut g = Guard::new(&snapshot, &mut retries, &mut selector);
                let before = trainer
                    .state()
                    .preserved
                    .as_ref()
                    .map_or(0.0, |p| p.accuracy);
                if cfg.guard.enabled
                    && let Some(back) = roll_back(
                        cfg,
                        &mut trainer,
                        &mut g,
                        &mut out,
                        (before, 0.0),
                        "diverged",
                    )?
                {
                    epoch = back;
                    continue;
                }
                return Err(e.into());
            }
            Err(e) => return Err(e.into()),
        };
        let te_t = Instant::now();
        let te = trainer.evaluate(&data.test, eval_batch);
        let va = data
            .val
            .as_ref()
            .map(|v| trainer.evaluate(v, eval_batch).accuracy);
        let seconds = t0.elapsed().as_secs_f64();
        let st = trainer.state_mut();
        st.best_test_accuracy = st.best_test_accuracy.max(te.accuracy);
        st.last_train_accuracy = tr.accuracy;
        st.wall_seconds += seconds;
        st.phase_seconds.train += train_s;
        st.phase_seconds.eval += te_t.elapsed().as_secs_f64();
        out.emit(
            &Event::EpochEnd {
                epoch: t,
                epochs,
                phase: if coreset.is_some() { "coreset" } else { "full" }.into(),
                train_loss: tr.loss,
                train_accuracy: tr.accuracy,
                test_loss: te.loss,
                test_accuracy: te.accuracy,
                val_accuracy: va,
                lr,
                samples: tr.samples,
                seconds,
                train_flops: trainer.state().train_flops,
                sparsity: trainer.overall_sparsity(),
                mask_updates: trainer.state().mask_updates,
            },
            true,
        )?;
        if epoch + 1 == epochs && cfg.guard.enabled && selector.is_some() {
            // the last round is checked too
            let mut g = Guard::new(&snapshot, &mut retries, &mut selector);
            if let Some(back) = guard_check(cfg, &mut trainer, &data, &mut g, eval_batch, &mut out)?
            {
                epoch = back;
                continue;
            }
        }
        trainer.state_mut().metrics_len = out.metrics.len().map_err(io_err(&metrics_path))?;
        let extra = selector
            .as_ref()
            .map(|s| s.state_bytes())
            .unwrap_or_default();
        trainer.save_checkpoint(&ckpt_path, &extra)?;
        out.emit(
            &Event::Checkpoint {
                epoch: t,
                path: ckpt_path.clone(),
            },
            false,
        )?;
        last_test = Some((te, va));
        epoch += 1;
    }
    let (te, va) = match last_test {
        Some(x) => x,
        None => (
            trainer.evaluate(&data.test, eval_batch),
            data.val
                .as_ref()
                .map(|v| trainer.evaluate(v, eval_batch).accuracy),
        ),
    };
    let layers = trainer.model().layers();
    let mask_summary: Vec<LayerSummary> = match trainer.masks() {
        Some(m) => m.summary(&layers),
        None => Vec::new(),
    };
    if !mask_summary.is_empty() {
        let json = serde_json::to_vec_pretty(&mask_summary).expect("summary serializes");
        checkpoint::write_atomic(&dir.join(files::MASKS), &json)?;
    }
    let params_kept = trainer.params_kept();
    let masked_kept: usize = trainer
        .masks()
        .map_or(0, |m| m.layers().iter().map(|l| l.kept()).sum());
    // against the model as built, so that removed channels count as pruned weights
    let final_sparsity = trainer.overall_sparsity();
    let st = trainer.state();
    let dense =
        train_flops_per_sample(trainer.forward_flops()) * (data.train.len() * epochs) as f64;
    let summary = Summary {
        method: cfg.method.as_str().into(),
        dataset: cfg.data.dataset.to_string(),
        model: cfg.model.arch.as_str().into(),
        seed: cfg.seed,
        epochs,
        test_accuracy: te.accuracy,
        test_loss: te.loss,
        val_accuracy: va,
        wall_seconds: st.wall_seconds,
        samples_seen: st.samples_seen,
        train_flops: st.train_flops,
        dense_train_flops: dense,
        relative_flops: st.train_flops / dense,
        forward_flops: trainer.forward_flops(),
        params: trainable_params(trainer.model()),
        final_sparsity,
        coreset_fraction: st
            .coreset
            .as_ref()
            .map_or(1.0, |c| c.indices.len() as f64 / data.train.len() as f64),
        rounds: st.rounds,
        selection_seconds: st.phase_seconds.selection,
        selection_flops: st.selection_flops,
        preserve_flops: 0.0,
        rollbacks: st.rollbacks,
        phase_seconds: st.phase_seconds,
        params_kept,
        train_samples: data.train.len(),
        test_samples: data.test.len(),
        device: cfg.device.clone(),
        swast_version: env!("CARGO_PKG_VERSION").into(),
        best_test_accuracy: st.best_test_accuracy.max(te.accuracy),
        final_train_accuracy: st.last_train_accuracy,
        mask_updates: st.mask_updates,
        regrown_share: st.regrown as f64 / masked_kept.max(1) as f64,
    };
    let json = serde_json::to_vec_pretty(&summary).expect("summary serializes");
    checkpoint::write_atomic(&summary_path, &json)?;
    out.emit(
        &Event::RunEnd {
            test_accuracy: summary.test_accuracy,
            wall_seconds: summary.wall_seconds,
        },
        true,
    )?;
    Ok(summary)
}

/// Where a run's events go: the run's `metrics.jsonl` and the caller's sink.
struct Outputs<'a> {
    metrics: &'a mut JsonlSink,
    metrics_path: &'a Path,
    sink: &'a mut dyn EventSink,
}

impl Outputs<'_> {
    fn emit(&mut self, e: &Event, to_metrics: bool) -> Result<(), RunError> {
        if to_metrics {
            self.metrics.emit(e).map_err(io_err(self.metrics_path))?;
        }
        self.sink.emit(e).map_err(io_err(Path::new("<event sink>")))
    }
}

/// Whether a method selects coresets.
pub fn selects(m: Method) -> bool {
    matches!(
        m,
        Method::CoresetOnly | Method::SwastTrim | Method::SwastCut
    )
}

/// The selection schedule of a config.
pub fn schedule_of(cfg: &Config) -> Schedule {
    let warmup = usize::try_from(cfg.coreset.warmup).ok();
    let (t, a, r) = (cfg.train.epochs, cfg.coreset.fraction, cfg.coreset.interval);
    match cfg.coreset.schedule {
        ScheduleKind::Literal => Schedule::literal(t, a, r, warmup),
        ScheduleKind::Cords => Schedule::cords(t, a, r, warmup),
    }
}

/// The coreset size for a training set of `n`: `round(fraction·n)`, at least 1.
pub fn budget_of(cfg: &Config, n: usize) -> usize {
    scaled_budget(cfg, n, 1.0)
}

/// [`budget_of`] with the fraction multiplied by `scale` (the guard's gentler retries).
pub fn scaled_budget(cfg: &Config, n: usize, scale: f64) -> usize {
    let f = (cfg.coreset.fraction * scale).min(1.0);
    ((f * n as f64).round() as usize).clamp(1, n.max(1))
}

/// A snapshot for the guard: the epoch it was taken at, the trainer's checkpoint bytes and
/// the selector's state.
type Snapshot = (usize, (Vec<u8>, Vec<u8>));

/// The critical double-loss guard, run before a new selection (and after the last epoch):
/// the accuracy on the coreset stored at the last selection must not have dropped by more
/// than `guard.threshold` since it was recorded. When it has, and retries are left, the
/// trainer is rolled back to the snapshot taken before that round, the coreset fraction is
/// multiplied by `guard.growth` for the retry, a `Rollback` event is emitted, and the epoch
/// to resume from is returned.
/// What the guard reads and resets besides the trainer.
struct Guard<'a> {
    snapshot: &'a Option<Snapshot>,
    retries: &'a mut usize,
    selector: Option<&'a mut (dyn Selector + 'static)>,
}

impl<'a> Guard<'a> {
    fn new(
        snapshot: &'a Option<Snapshot>,
        retries: &'a mut usize,
        selector: &'a mut Option<Box<dyn Selector>>,
    ) -> Self {
        Self {
            snapshot,
            retries,
            selector: selector.as_deref_mut(),
        }
    }
}

fn guard_check(
    cfg: &Config,
    trainer: &mut Trainer,
    data: &PreparedData,
    g: &mut Guard<'_>,
    eval_batch: usize,
    out: &mut Outputs<'_>,
) -> Result<Option<usize>, RunError> {
    let (Some(stored), Some(_)) = (trainer.state().preserved.clone(), g.snapshot) else {
        return Ok(None);
    };
    let t0 = Instant::now();
    let probe = trainer.probe(&data.train, &stored.indices, eval_batch);
    let now = probe.correct.iter().filter(|c| **c).count() as f64 / probe.len().max(1) as f64;
    trainer
        .state_mut()
        .charge_selection(probe.flops, t0.elapsed().as_secs_f64());
    let drop = stored.accuracy - now;
    if drop <= cfg.guard.threshold {
        *g.retries = 0;
        return Ok(None);
    }
    roll_back(
        cfg,
        trainer,
        g,
        out,
        (stored.accuracy, now),
        "accuracy drop",
    )
}

/// Rolls the trainer (and the selector) back to the guard's snapshot, unless there is none or
/// the retries are spent (then `None`): the failed round's cost stays charged to the run, the
/// retry gets a coreset `guard.growth` times larger, and a `Rollback` event says why.
fn roll_back(
    cfg: &Config,
    trainer: &mut Trainer,
    g: &mut Guard<'_>,
    out: &mut Outputs<'_>,
    (accuracy_before, accuracy_after): (f64, f64),
    reason: &str,
) -> Result<Option<usize>, RunError> {
    let Some((back, (bytes, sel_state))) = g.snapshot else {
        return Ok(None);
    };
    let retries = &mut *g.retries;
    if *retries >= cfg.guard.max_retries {
        *retries = 0;
        return Ok(None);
    }
    *retries += 1;
    let (rollbacks, flops, secs, scale, wall) = {
        let st = trainer.state();
        (
            st.rollbacks,
            st.selection_flops,
            st.phase_seconds,
            st.budget_scale,
            st.wall_seconds,
        )
    };
    let spent_flops = trainer.state().train_flops;
    trainer.restore_checkpoint_bytes(bytes)?;
    if let Some(s) = g.selector.as_deref_mut() {
        s.load_state(sel_state)?;
    }
    let st = trainer.state_mut();
    st.rollbacks = rollbacks + 1;
    st.train_flops = spent_flops;
    st.selection_flops = flops;
    st.phase_seconds = secs;
    st.wall_seconds = wall;
    st.budget_scale = scale * cfg.guard.growth;
    let new_fraction = (cfg.coreset.fraction * st.budget_scale).min(1.0);
    out.emit(
        &Event::Rollback {
            to_epoch: *back,
            accuracy_before,
            accuracy_after,
            new_fraction,
            reason: reason.into(),
        },
        true,
    )?;
    Ok(Some(*back))
}

/// One selection round: probe the training set (and the validation set when the selector
/// needs it) with the current model, select, charge the cost to the run, store the coreset in
/// the trainer's state and its indices under `dir/coresets/`.
#[allow(clippy::too_many_arguments)]
fn select_round(
    cfg: &Config,
    trainer: &mut Trainer,
    sel: &mut dyn Selector,
    data: &PreparedData,
    budget: usize,
    eval_batch: usize,
    dir: &Path,
) -> Result<Event, RunError> {
    let t0 = Instant::now();
    let all: Vec<usize> = (0..data.train.len()).collect();
    let probe = trainer.probe(&data.train, &all, eval_batch);
    let val_probe = match (sel.needs_validation(), data.val.as_ref()) {
        (true, Some(v)) => Some(trainer.probe(v, &(0..v.len()).collect::<Vec<_>>(), eval_batch)),
        (true, None) => {
            return Err(SelectError {
                selector: sel.name(),
                message: "needs a validation split: set data.val_fraction (e.g. 0.1)".into(),
            }
            .into());
        }
        (false, _) => None,
    };
    let round = trainer.state().rounds + 1;
    let epoch = trainer.state().epoch;
    let ctx = SelectContext {
        probe: &probe,
        val: val_probe.as_ref(),
        budget,
        epoch,
        total_epochs: cfg.train.epochs,
    };
    let mut rng = SeededRng::stream(cfg.seed, &format!("select-{round}"));
    let c = sel.select(&ctx, &mut rng)?;
    let flops = probe.flops + val_probe.as_ref().map_or(0.0, |v| v.flops) + c.flops;
    let seconds = t0.elapsed().as_secs_f64();
    let noisy_share = data.train.noise().map(|n| {
        let noisy: std::collections::HashSet<u32> = n.noisy_ids.iter().copied().collect();
        let hits = c
            .indices
            .iter()
            .filter(|&&i| noisy.contains(&data.train.ids()[i]))
            .count();
        hits as f64 / c.indices.len().max(1) as f64
    });
    let record = RoundRecord {
        round,
        epoch: epoch + 1,
        selector: sel.name().into(),
        size: c.indices.len(),
        seconds,
        flops,
        noisy_share,
        ids: c.indices.iter().map(|&i| data.train.ids()[i]).collect(),
        indices: c.indices.clone(),
        weights: c.weights.clone(),
        masks: trainer
            .masks()
            .map(|m| m.summary(&trainer.model().layers())),
    };
    let rounds_dir = dir.join(files::CORESETS);
    std::fs::create_dir_all(&rounds_dir).map_err(io_err(&rounds_dir))?;
    let json = serde_json::to_vec(&record).expect("round serializes");
    checkpoint::write_atomic(&rounds_dir.join(format!("round-{round:03}.json")), &json)?;
    let st = trainer.state_mut();
    st.rounds = round;
    st.charge_selection(flops, seconds);
    // the probe already holds the current model's outputs on every sample, in eval mode and
    // un-augmented: state preservation records them for the new coreset at no extra cost
    let k = probe.classes;
    let mut probs = Vec::with_capacity(c.indices.len() * k);
    let mut active = Vec::with_capacity(c.indices.len());
    let mut right = 0usize;
    for &i in &c.indices {
        probs.extend_from_slice(probe.prob(i));
        let ok = probe.correct[i];
        right += usize::from(ok);
        active.push(cfg.preserve.mode != PreserveMode::Selective || ok);
    }
    st.preserved = Some(Preserved {
        indices: c.indices.clone(),
        classes: k,
        probs,
        active,
        accuracy: right as f64 / c.indices.len().max(1) as f64,
    });
    st.coreset = Some(c);
    Ok(Event::Selection {
        round,
        epoch: epoch + 1,
        size: record.size,
        seconds,
        flops,
        noisy_share,
    })
}

/// What `coresets/round-NNN.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundRecord {
    /// 1-based round.
    pub round: usize,
    /// The (1-based) epoch it starts.
    pub epoch: usize,
    /// Selector name.
    pub selector: String,
    /// Samples selected.
    pub size: usize,
    /// Wall seconds of probe + selection.
    pub seconds: f64,
    /// FLOPs of probe + selection.
    pub flops: f64,
    /// Share of samples with a corrupted label, when label noise is on.
    pub noisy_share: Option<f64>,
    /// Stable sample ids.
    pub ids: Vec<u32>,
    /// Training-set indices.
    pub indices: Vec<usize>,
    /// Per-sample weights.
    pub weights: Vec<f32>,
    /// The per-layer mask summary at this selection (pruned methods).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masks: Option<Vec<LayerSummary>>,
}

/// The default run folder of a config: `runs/<name>-<hash>/seed-<seed>` under `root`.
pub fn default_run_dir(root: &Path, cfg: &Config) -> PathBuf {
    root.join(format!("{}-{}", cfg.name, cfg.hash_without_seed()))
        .join(format!("seed-{}", cfg.seed))
}
