//! What a run is made of: its pluggable parts, its options, its data and its trainer.

use super::context::{PreparedData, RunOptions};
use super::error::{RunError, io_err};
use super::files;
use super::folder::RunFolder;
use super::state::RunRecord;
use crate::config::{Augment, Config, Method, PluginSchema};
use crate::coreset::{SelectError, Selector};
use crate::events::JsonlSink;
use crate::model::{ModelFactory, Network, NetworkFactory, SwastModel};
use crate::prune::{PruneError, PruneScheme, Scope};
use crate::train::{Trainer, TrainerBuilder};
use burn::tensor::Device;
use std::path::Path;
use swast_data::{Batcher, DataError, apply_label_noise};

/// Where a run gets the pluggable parts that swast-core does not implement itself (pruners
/// from `swast-prune`, selectors from `swast-coreset`). The binary wires the concrete ones.
pub trait Components {
    /// The pruner `cfg.prune` asks for, masking `scope`.
    fn pruner(&self, cfg: &Config, scope: Scope) -> Result<PruneScheme, PruneError>;
    /// The selector `cfg.coreset` asks for.
    fn selector(&self, cfg: &Config) -> Result<Box<dyn Selector>, SelectError>;
    /// The config keys the pluggable parts add, and their checks ([`Config::resolve`]).
    fn plugins(&self) -> Vec<PluginSchema> {
        Vec::new()
    }
}

/// No pluggable parts: only `method = "dense"` can run.
#[derive(Debug, Default)]
pub struct DenseOnly;

impl Components for DenseOnly {
    fn pruner(&self, cfg: &Config, _: Scope) -> Result<PruneScheme, PruneError> {
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

/// Loads and prepares the data of `cfg`: reads the dataset, takes the `max_train` subset,
/// holds out the validation split, then corrupts training labels.
pub fn prepare_data(cfg: &Config) -> Result<PreparedData, RunError> {
    let opts = swast_data::LoadOptions {
        image_size: cfg.data.image_size,
        cache: true,
    };
    let splits = swast_data::load_with(cfg.data.dataset, Path::new(&cfg.data.dir), &opts)?;
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
pub fn build_trainer<M: SwastModel>(
    cfg: &Config,
    data: &PreparedData,
    device: &Device,
    parts: &dyn Components,
    model: &dyn ModelFactory<M>,
) -> Result<Trainer<M>, RunError> {
    let norm = data.train.channel_stats();
    let augment = match cfg.data.augment {
        Augment::On => true,
        Augment::Off => false,
        // natural colour images of at least CIFAR's size (CIFAR, image folders of photos)
        Augment::Auto => {
            let [c, h, w] = data.train.shape();
            c == 3 && h.min(w) >= 32
        }
    };
    let steps_per_epoch = data.train.len().div_ceil(cfg.train.batch_size) as u64;
    let mut trainer = TrainerBuilder::new(cfg.train.clone())
        .network(&cfg.model)
        .input(data.train.shape(), data.train.num_classes())
        .batchers(
            Batcher::new(norm.clone(), augment),
            Batcher::new(norm, false),
        )
        .steps_per_epoch(steps_per_epoch)
        .seed(cfg.seed)
        .build_with(device, model)?;
    // the run's real step count: coreset epochs have fewer steps
    let schedule = cfg.schedule();
    let (n, b) = (data.train.len(), cfg.train.batch_size);
    let k = cfg.budget(n);
    let total: u64 = (1..=cfg.train.epochs)
        .map(|t| {
            let m = if cfg.selects() {
                schedule.samples_at(t, n, k)
            } else {
                n
            };
            m.div_ceil(b) as u64
        })
        .sum();
    trainer.set_total_steps(total);
    let scope = match cfg.method {
        Method::Dense | Method::CoresetOnly => None,
        Method::PruningOnly | Method::SwastCut => Some(Scope::All),
        Method::SwastTrim => Some(Scope::Classifier),
    };
    match scope.map(|s| parts.pruner(cfg, s)).transpose()? {
        None => {}
        Some(PruneScheme::Masks(p)) => trainer.set_pruner(p)?,
        Some(PruneScheme::Channels(p)) => trainer.set_structured(p)?,
    }
    Ok(trainer)
}

/// Everything a run needs to start: its data, a fresh trainer (checked against the test and
/// validation sets, probe passes sharded as asked) and, for methods that select, its selector.
#[allow(clippy::type_complexity)]
fn assemble<M: SwastModel>(
    cfg: &Config,
    device: &Device,
    opts: &RunOptions,
    (parts, model): (&dyn Components, &dyn ModelFactory<M>),
) -> Result<(PreparedData, Trainer<M>, Option<Box<dyn Selector>>), RunError> {
    let data = prepare_data(cfg)?;
    let mut trainer = build_trainer(cfg, &data, device, parts, model)?;
    for ds in std::iter::once(&data.test).chain(data.val.as_ref()) {
        trainer.check_data(ds)?;
    }
    trainer.set_probe_devices(probe_devices(device, opts));
    let selector = cfg.selects().then(|| parts.selector(cfg)).transpose()?;
    Ok((data, trainer, selector))
}

/// A run session, opened: its folder (locked), the metrics log, the data, the trainer and
/// the selector as the checkpoint left them, and the run's record.
pub(super) type Session<M> = (
    RunFolder,
    JsonlSink,
    PreparedData,
    Trainer<M>,
    Option<Box<dyn Selector>>,
    RunRecord,
);

/// Opens the run folder of the resolved config `cfg` in `dir` and resumes from its checkpoint
/// (or starts afresh); `Err` holds the summary of a run that already finished.
pub(super) fn open<M: SwastModel>(
    cfg: &Config,
    device: &Device,
    dir: &Path,
    opts: &RunOptions,
    (parts, model): (&dyn Components, &dyn ModelFactory<M>),
) -> Result<Result<Session<M>, super::Summary>, RunError> {
    let (folder, finished) = RunFolder::open(dir, cfg, &parts.plugins())?;
    if let Some(summary) = finished {
        return Ok(Err(summary));
    }
    let (data, mut trainer, mut selector) = assemble(cfg, device, opts, (parts, model))?;
    let (metrics, record) = folder.resume(&mut trainer, selector.as_deref_mut())?;
    Ok(Ok((folder, metrics, data, trainer, selector, record)))
}

/// The devices probe passes are sharded over: the ones asked for, else, on flex (which runs
/// each op on one core, so that a run is bit-reproducible), one flex device per core — rows
/// do not depend on each other, so the probe's values do not change.
fn probe_devices(device: &Device, opts: &RunOptions) -> Vec<Device> {
    #[cfg(feature = "flex")]
    if opts.probe_devices.is_empty() && *device == Device::flex() {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        return vec![Device::flex(); cores.min(8)];
    }
    let _ = device;
    opts.probe_devices.clone()
}

/// The trainer of the run in `dir` as its last checkpoint left it (to evaluate or inspect a
/// finished or interrupted run), with its data.
pub fn load_run(
    dir: &Path,
    device: &Device,
    parts: &dyn Components,
) -> Result<(Config, Trainer<Network>, PreparedData), RunError> {
    load_run_with(dir, device, parts, &NetworkFactory)
}

/// [`load_run`] of a run that trained a model of your own (`model` builds it as the run did).
pub fn load_run_with<M: SwastModel>(
    dir: &Path,
    device: &Device,
    parts: &dyn Components,
    model: &dyn ModelFactory<M>,
) -> Result<(Config, Trainer<M>, PreparedData), RunError> {
    let config_path = dir.join(files::CONFIG);
    let text = std::fs::read_to_string(&config_path).map_err(io_err(&config_path))?;
    let cfg = Config::parse(&text, &[], &parts.plugins())?;
    let data = prepare_data(&cfg)?;
    let mut trainer = build_trainer(&cfg, &data, device, parts, model)?;
    trainer.load_checkpoint(&dir.join(files::CHECKPOINT))?;
    Ok((cfg, trainer, data))
}
