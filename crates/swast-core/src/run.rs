//! One run, end to end: data, model, the epoch loop, the run folder (`config.toml`,
//! `metrics.jsonl`, `summary.json`, `checkpoint.bin`) and exact resume.

use crate::checkpoint::{self, CheckpointError};
use crate::config::{Augment, Config, ConfigError, Method};
use crate::events::{Event, EventSink, JsonlSink};
use crate::model::{SwastModel, trainable_params};
use crate::prune::{LayerSummary, PruneError, Pruner, Scope, global_sparsity};
use crate::train::{PassStats, TrainError, Trainer, train_flops_per_sample};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;
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
}

/// Where a run gets the pluggable parts that swast-core does not implement itself (pruners
/// from `swast-prune`, selectors from `swast-coreset`). The binary wires the concrete ones.
pub trait Components {
    /// The pruner `cfg.prune` asks for, masking `scope`.
    fn pruner(&self, cfg: &Config, scope: Scope) -> Result<Box<dyn Pruner>, PruneError>;
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
    #[error("{path}: {source}; check that the folder exists, is writable and has free space")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The output folder holds a different run.
    #[error(
        "{dir} already holds a run with a different config; pass another --out folder or delete that one"
    )]
    DifferentRun {
        /// The folder.
        dir: PathBuf,
    },
    /// The method needs a part that is not in this build yet.
    #[error("method `{0}` is not available yet: `dense` and `pruning-only` run in this version")]
    MethodUnavailable(&'static str),
    /// The pruner could not be built.
    #[error(transparent)]
    Prune(#[from] PruneError),
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
}

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Stop (with a checkpoint written) after this many epochs in total, as an interruption
    /// would; the next run resumes from there.
    pub stop_after_epoch: Option<usize>,
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
            message: "the training or test set is empty".into(),
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
    match cfg.method {
        Method::Dense => {}
        Method::PruningOnly => trainer.set_pruner(parts.pruner(cfg, Scope::All)?)?,
        m => return Err(RunError::MethodUnavailable(m.as_str())),
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
    if !matches!(cfg.method, Method::Dense | Method::PruningOnly) {
        return Err(RunError::MethodUnavailable(cfg.method.as_str()));
    }
    let resolved = cfg.to_toml();
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
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

    if ckpt_path.exists() && config_path.exists() {
        trainer.load_checkpoint(&ckpt_path)?;
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
    let view: Vec<usize> = (0..data.train.len()).collect();
    let eval_batch = cfg.train.batch_size.max(256);
    let mut last_test = None;
    for epoch in start..epochs {
        if opts.stop_after_epoch.is_some_and(|s| epoch >= s) {
            return Err(RunError::Io {
                path: dir.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::Interrupted,
                    format!("stopped after epoch {epoch} as asked; run again to resume"),
                ),
            });
        }
        let t0 = Instant::now();
        let lr = trainer.current_lr();
        let tr: PassStats = trainer.train_epoch(&data.train, &view)?;
        let te = trainer.evaluate(&data.test, eval_batch);
        let va = data
            .val
            .as_ref()
            .map(|v| trainer.evaluate(v, eval_batch).accuracy);
        let seconds = t0.elapsed().as_secs_f64();
        trainer.state_mut().wall_seconds += seconds;
        out.emit(
            &Event::EpochEnd {
                epoch: epoch + 1,
                epochs,
                phase: "full".into(),
                train_loss: tr.loss,
                train_accuracy: tr.accuracy,
                test_loss: te.loss,
                test_accuracy: te.accuracy,
                val_accuracy: va,
                lr,
                samples: tr.samples,
                seconds,
                train_flops: trainer.state().train_flops,
                sparsity: global_sparsity(&trainer.model().layers(), trainer.masks()),
            },
            true,
        )?;
        trainer.state_mut().metrics_len = out.metrics.len().map_err(io_err(&metrics_path))?;
        trainer.save_checkpoint(&ckpt_path)?;
        out.emit(
            &Event::Checkpoint {
                epoch: epoch + 1,
                path: ckpt_path.clone(),
            },
            false,
        )?;
        last_test = Some((te, va));
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
    let final_sparsity = global_sparsity(&layers, trainer.masks());
    let prunable: usize = layers.iter().map(|l| l.params).sum();
    let params_kept = if mask_summary.is_empty() {
        prunable
    } else {
        mask_summary.iter().map(|l| l.params_kept).sum()
    };
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
        params_kept,
        train_samples: data.train.len(),
        test_samples: data.test.len(),
        device: cfg.device.clone(),
        swast_version: env!("CARGO_PKG_VERSION").into(),
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

/// The default run folder of a config: `runs/<name>-<hash>/seed-<seed>` under `root`.
pub fn default_run_dir(root: &Path, cfg: &Config) -> PathBuf {
    root.join(format!("{}-{}", cfg.name, cfg.hash_without_seed()))
        .join(format!("seed-{}", cfg.seed))
}
