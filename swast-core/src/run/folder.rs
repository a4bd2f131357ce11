//! The run folder: its files, resuming, checkpoints, the summary, where events go.

use super::context::{Outputs, PreparedData};
use super::error::{RunError, io_err};
use super::files;
use super::lock::RunLock;
use super::state::RunRecord;
use crate::checkpoint::{self, CheckpointError};
use crate::config::{Config, PluginSchema};
use crate::coreset::Selector;
use crate::events::{Event, JsonlSink};
use crate::model::{SwastModel, trainable_params};
use crate::prune::LayerSummary;
use crate::train::{PassStats, TrainError, Trainer, train_flops_per_sample};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

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
    pub phase_seconds: super::PhaseSeconds,
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
    /// The class names, in label order (an image folder's class folders, sorted).
    #[serde(default)]
    pub class_names: Vec<String>,
    /// The path, not only the end point: the test accuracy before the first selection,
    /// the lowest after it and the mean over the coreset phase (on the evaluation cadence).
    #[serde(default)]
    pub trajectory: super::TrajectorySummary,
    /// Every test evaluation: epoch, accuracy and the selection rounds done by then.
    #[serde(default)]
    pub test_trajectory: Vec<super::TrajectoryPoint>,
    /// The classifier mask's density over the rows of the outputs that are classes of the
    /// data (`used`) and over the extra outputs of a wider head (`unused`,
    /// `model.head_outputs`); `None` without a classifier mask.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classifier_row_density: Option<RowDensity>,
}

/// A classifier mask's density over the rows of used and unused outputs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RowDensity {
    /// Kept share of the weights into the outputs that are classes of the data.
    pub used: f64,
    /// Kept share of the weights into the extra outputs (`None`: the head has none).
    pub unused: Option<f64>,
}

/// The default run folder of a config: `<name>-<hash>/seed-<seed>` under `root`, the hash
/// over the keys that differ from their defaults ([`Config::hash_without_seed`]).
///
/// When that folder does not exist but a folder `<name>-<other hash>/seed-<seed>` under
/// `root` holds a run of the same config (written by a version that named folders
/// otherwise, or before a key with a default was added), that folder is the run's: the run
/// resumes there instead of starting over.
pub fn default_run_dir(root: &Path, cfg: &Config, plugins: &[PluginSchema]) -> PathBuf {
    let seed = format!("seed-{}", cfg.seed);
    let dir = root
        .join(format!("{}-{}", cfg.name, cfg.hash_without_seed()))
        .join(&seed);
    if dir.exists() {
        return dir;
    }
    earlier_run_dir(root, cfg, plugins, &seed).unwrap_or(dir)
}

/// A folder `<name>-<8 hex digits>/<seed>` under `root` whose `config.toml` resolves to the
/// same config as `cfg` (the first by name when several do).
fn earlier_run_dir(
    root: &Path,
    cfg: &Config,
    plugins: &[PluginSchema],
    seed: &str,
) -> Option<PathBuf> {
    let want = cfg.clone().resolve(plugins).ok()?;
    let prefix = format!("{}-", cfg.name);
    let mut found: Vec<PathBuf> = std::fs::read_dir(root)
        .ok()?
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.strip_prefix(&prefix)
                .is_some_and(|h| h.len() == 8 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        })
        .map(|e| e.path().join(seed))
        .filter(|d| {
            std::fs::read_to_string(d.join(files::CONFIG))
                .ok()
                .and_then(|text| Config::parse(&text, &[], plugins).ok())
                .and_then(|old| old.resolve(plugins).ok())
                .is_some_and(|old| old == want)
        })
        .collect();
    found.sort();
    found.into_iter().next()
}

/// A run folder's paths and the resolved config it must hold.
#[derive(Debug)]
pub(super) struct RunFolder {
    pub(super) dir: PathBuf,
    resolved: String,
    config: PathBuf,
    summary: PathBuf,
    checkpoint: PathBuf,
    previous: PathBuf,
    pub(super) metrics: PathBuf,
    /// Released when the run (or its early return) is done.
    _lock: RunLock,
}

impl RunFolder {
    /// Creates `dir` if needed and clears the temporary files a killed session left. Returns
    /// the folder, and the summary when it already holds this run, finished. A folder holding
    /// another config is refused.
    pub(super) fn open(
        dir: &Path,
        cfg: &Config,
        plugins: &[PluginSchema],
    ) -> Result<(Self, Option<Summary>), RunError> {
        let resolved = cfg.to_toml();
        std::fs::create_dir_all(dir).map_err(|e| {
            // a file where the folder (or one above it) should be
            match dir.ancestors().find(|a| a.is_file()) {
                Some(f) => RunError::NotAFolder {
                    dir: dir.to_path_buf(),
                    path: f.to_path_buf(),
                },
                None => RunError::Io {
                    path: dir.to_path_buf(),
                    source: e,
                },
            }
        })?;
        let lock = RunLock::acquire(dir)?;
        // a session killed while writing leaves its temporary files behind
        for d in [dir.to_path_buf(), dir.join(files::CORESETS)] {
            checkpoint::remove_stale_temps(&d);
        }
        let f = Self {
            dir: dir.to_path_buf(),
            resolved,
            config: dir.join(files::CONFIG),
            summary: dir.join(files::SUMMARY),
            checkpoint: dir.join(files::CHECKPOINT),
            previous: dir.join(files::PREVIOUS),
            metrics: dir.join(files::METRICS),
            _lock: lock,
        };
        if f.config.exists() {
            let existing = std::fs::read_to_string(&f.config).map_err(io_err(&f.config))?;
            // the same text, or (written by another version, keys in another order) the
            // same values
            let same = existing == f.resolved
                || Config::parse(&existing, &[], plugins).is_ok_and(|old| old == *cfg);
            if !same {
                return Err(RunError::DifferentRun {
                    dir: dir.to_path_buf(),
                });
            }
            if f.summary.exists() {
                let text = std::fs::read_to_string(&f.summary).map_err(io_err(&f.summary))?;
                if let Ok(s) = serde_json::from_str::<Summary>(&text) {
                    return Ok((f, Some(s)));
                }
            }
        }
        Ok((f, None))
    }

    /// Resumes from the folder's checkpoint (trainer and selector; the metrics log cut back
    /// to what that checkpoint saw), or starts afresh (config written, old log removed).
    /// Returns the metrics log, open for appending, and the run's record.
    pub(super) fn resume<M: SwastModel>(
        &self,
        trainer: &mut Trainer<M>,
        selector: Option<&mut (dyn Selector + 'static)>,
    ) -> Result<(JsonlSink, RunRecord), RunError> {
        let mut rec = RunRecord::default();
        if let Some((from, sections)) = self.config.exists().then(|| self.resume_from()).flatten() {
            let sections = sections.map_err(TrainError::from)?;
            let state = sections.first().cloned().unwrap_or_default();
            let last = trainer.restore_sections(&from, sections)?;
            let (record, selector_state) = RunRecord::from_sections(&from, &state, last)?;
            if let Some(s) = selector {
                s.load_state(&selector_state)?;
            }
            // drop whatever the interrupted session logged after its last checkpoint
            if let Ok(f) = std::fs::OpenOptions::new().write(true).open(&self.metrics) {
                f.set_len(record.metrics_len)
                    .map_err(io_err(&self.metrics))?;
            }
            rec = record;
        } else {
            checkpoint::write_atomic(&self.config, self.resolved.as_bytes())?;
            if self.metrics.exists() {
                std::fs::remove_file(&self.metrics).map_err(io_err(&self.metrics))?;
            }
        }
        let metrics = JsonlSink::append(&self.metrics).map_err(io_err(&self.metrics))?;
        Ok((metrics, rec))
    }

    /// The checkpoint to resume from, read and verified once: the newest when it reads back
    /// whole, else the previous one (with a warning) when that does, else the newest with its
    /// error; `None` when there is none.
    #[allow(clippy::type_complexity)]
    fn resume_from(&self) -> Option<(PathBuf, Result<Vec<Vec<u8>>, CheckpointError>)> {
        let newest = self
            .checkpoint
            .exists()
            .then(|| checkpoint::read(&self.checkpoint));
        if let Some(Ok(sections)) = newest {
            return Some((self.checkpoint.clone(), Ok(sections)));
        }
        if self.previous.exists()
            && let Ok(sections) = checkpoint::read(&self.previous)
        {
            tracing::warn!(
                "{}: the newest checkpoint is missing or corrupted; resuming from the previous one ({})",
                self.dir.display(),
                files::PREVIOUS
            );
            return Some((self.previous.clone(), Ok(sections)));
        }
        newest.map(|r| (self.checkpoint.clone(), r))
    }

    /// Keeps the current checkpoint as the previous one (a hard link, or a copy, renamed into
    /// place), so that the newest is always whole and the one before it too.
    fn keep_previous(&self) -> Result<(), RunError> {
        if !self.checkpoint.exists() {
            return Ok(());
        }
        let tmp = self
            .dir
            .join(format!(".{}.{}.tmp", files::PREVIOUS, std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        std::fs::hard_link(&self.checkpoint, &tmp)
            .or_else(|_| std::fs::copy(&self.checkpoint, &tmp).map(|_| ()))
            .map_err(io_err(&tmp))?;
        std::fs::rename(&tmp, &self.previous).map_err(io_err(&self.previous))
    }

    /// Writes the checkpoint of (1-based) epoch `t`: the trainer, and the run's record (with
    /// the length of the metrics log it has seen) and the selector's state in its last
    /// section; the one it replaces becomes the previous one.
    pub(super) fn checkpoint<M: SwastModel>(
        &self,
        (trainer, rec): (&Trainer<M>, &mut RunRecord),
        selector: Option<&dyn Selector>,
        out: &mut Outputs<'_>,
        t: usize,
    ) -> Result<(), RunError> {
        rec.metrics_len = out.metrics.len().map_err(io_err(&self.metrics))?;
        let selector_state = selector.map(|s| s.state_bytes()).unwrap_or_default();
        self.keep_previous()?;
        trainer.save_checkpoint(&self.checkpoint, &rec.to_section(&selector_state))?;
        out.emit(
            &Event::Checkpoint {
                epoch: t,
                path: self.checkpoint.clone(),
            },
            false,
        )
    }

    /// The end of a run: the mask summary (`masks.json`), `summary.json` and the `RunEnd`
    /// event. `last` is the last epoch's test result (evaluated again when the loop ran no
    /// epoch in this session).
    pub(super) fn finish<M: SwastModel>(
        &self,
        (cfg, rec): (&Config, &RunRecord),
        trainer: &Trainer<M>,
        data: &PreparedData,
        last: Option<(PassStats, Option<f64>)>,
        out: &mut Outputs<'_>,
    ) -> Result<Summary, RunError> {
        let eval_batch = cfg.eval_batch();
        let (te, va) = match last {
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
            checkpoint::write_atomic(&self.dir.join(files::MASKS), &json)?;
        }
        let summary = summarize((cfg, rec), trainer, data, &te, va);
        let json = serde_json::to_vec_pretty(&summary).expect("summary serializes");
        checkpoint::write_atomic(&self.summary, &json)?;
        out.emit(
            &Event::RunEnd {
                test_accuracy: summary.test_accuracy,
                wall_seconds: summary.wall_seconds,
            },
            true,
        )?;
        Ok(summary)
    }
}

/// The summary of a finished run.
fn summarize<M: SwastModel>(
    (cfg, st): (&Config, &RunRecord),
    trainer: &Trainer<M>,
    data: &PreparedData,
    te: &PassStats,
    va: Option<f64>,
) -> Summary {
    let params_kept = trainer.params_kept();
    let masked_kept: usize = trainer
        .masks()
        .map_or(0, |m| m.layers().iter().map(|l| l.kept()).sum());
    // against the model as built, so that removed channels count as pruned weights
    let final_sparsity = trainer.overall_sparsity();
    let ts = trainer.state();
    let dense = train_flops_per_sample(trainer.forward_flops())
        * (data.train.len() * cfg.train.epochs) as f64;
    Summary {
        method: cfg.method.as_str().into(),
        dataset: cfg.data.dataset.to_string(),
        model: cfg.model.arch.as_str().into(),
        seed: cfg.seed,
        epochs: cfg.train.epochs,
        test_accuracy: te.accuracy,
        test_loss: te.loss,
        val_accuracy: va,
        wall_seconds: st.wall_seconds,
        samples_seen: ts.samples_seen,
        train_flops: ts.train_flops,
        dense_train_flops: dense,
        relative_flops: ts.train_flops / dense,
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
        mask_updates: ts.mask_updates,
        regrown_share: ts.regrown as f64 / masked_kept.max(1) as f64,
        class_names: data.train.class_names().to_vec(),
        trajectory: super::TrajectorySummary::of(&st.trajectory, st.accuracy_at_first_selection),
        test_trajectory: st.trajectory.clone(),
        classifier_row_density: classifier_row_density(trainer, data.train.num_classes()),
    }
}

/// The classifier mask's kept share over the outputs `< classes` and over the others.
fn classifier_row_density<M: SwastModel>(
    trainer: &Trainer<M>,
    classes: usize,
) -> Option<RowDensity> {
    use crate::model::{LayerKind, Role};
    let mask = trainer
        .masks()?
        .layers()
        .iter()
        .rev()
        .find(|l| l.info.role == Role::Classifier && l.info.kind == LayerKind::Linear)?;
    let keep = mask.keep();
    // linear weights are stored [in, out]: output o's weights are every out-th entry
    let out = mask.info.shape[1];
    let (mut kept, mut total) = ([0usize; 2], [0usize; 2]);
    for (j, &k) in keep.iter().enumerate() {
        let side = usize::from(j % out >= classes);
        total[side] += 1;
        kept[side] += usize::from(k);
    }
    let share = |s: usize| (total[s] > 0).then(|| kept[s] as f64 / total[s] as f64);
    Some(RowDensity {
        used: share(0)?,
        unused: share(1),
    })
}
