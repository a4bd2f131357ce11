//! [`TrainerBuilder`]: a trainer from a train config, the data's shape and a model.

use super::{TrainConfig, TrainError, Trainer, raise_malloc_thresholds};
use crate::model::{ModelConfig, ModelFactory, ModelSpec, Network, NetworkFactory, SwastModel};
use burn::tensor::Device;
use swast_data::{Batcher, Dataset};

/// Builds a [`Trainer`]. The train config is required; the rest has defaults:
///
/// | setting | default |
/// |---|---|
/// | [`input`](Self::input) | none: required, or taken from [`data`](Self::data) |
/// | [`batchers`](Self::batchers) | no normalization, no augmentation |
/// | [`steps_per_epoch`](Self::steps_per_epoch) | 1 (sizes the cosine schedule) |
/// | [`seed`](Self::seed) | 0 |
/// | [`network`](Self::network) | `ModelConfig::default()` |
///
/// ```no_run
/// # use swast_core::{config::TrainConfig, model::ModelConfig, Trainer};
/// # fn demo(train: &swast_data::Dataset, device: &burn::tensor::Device) -> Result<(), swast_core::train::TrainError> {
/// let trainer = Trainer::builder(TrainConfig::default())
///     .data(train)                       // input shape, classes, normalization, steps
///     .network(&ModelConfig::default())  // one of swast's architectures
///     .seed(7)
///     .build(device)?;
/// # Ok(()) }
/// ```
///
/// A model of your own: [`TrainerBuilder::build_with`] and a closure that builds it from
/// a [`ModelSpec`].
#[derive(Debug, Clone)]
pub struct TrainerBuilder {
    cfg: TrainConfig,
    model: ModelConfig,
    input: Option<([usize; 3], usize)>,
    batchers: Option<(Batcher, Batcher)>,
    steps_per_epoch: u64,
    seed: u64,
}

impl TrainerBuilder {
    /// A builder for `cfg`'s optimizer and schedule.
    pub fn new(cfg: TrainConfig) -> Self {
        Self {
            cfg,
            model: ModelConfig::default(),
            input: None,
            batchers: None,
            steps_per_epoch: 1,
            seed: 0,
        }
    }

    /// The input shape `[C, H, W]` and the class count the model is built for.
    pub fn input(mut self, shape: [usize; 3], classes: usize) -> Self {
        self.input = Some((shape, classes));
        self
    }

    /// Input shape, class count and steps per epoch from a training set, and batchers that
    /// normalize with its channel statistics (no augmentation). Later calls override each.
    pub fn data(mut self, train: &Dataset) -> Self {
        let norm = train.channel_stats();
        self.input = Some((train.shape(), train.num_classes()));
        self.batchers = Some((Batcher::new(norm.clone(), false), Batcher::new(norm, false)));
        self.steps_per_epoch = train.len().div_ceil(self.cfg.batch_size.max(1)) as u64;
        self
    }

    /// The batchers of training and of evaluation (normalization, augmentation).
    pub fn batchers(mut self, train: Batcher, eval: Batcher) -> Self {
        self.batchers = Some((train, eval));
        self
    }

    /// Optimizer steps per epoch: the cosine schedule spans `epochs × steps_per_epoch`
    /// (change it later with [`Trainer::set_total_steps`]).
    pub fn steps_per_epoch(mut self, steps: u64) -> Self {
        self.steps_per_epoch = steps;
        self
    }

    /// The seed of the initial weights and of the data streams (shuffling, augmentation).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Which of swast's architectures [`TrainerBuilder::build`] builds.
    pub fn network(mut self, model: &ModelConfig) -> Self {
        self.model = model.clone();
        self
    }

    /// A trainer of one of swast's architectures ([`TrainerBuilder::network`]), its initial
    /// weights drawn from the seed.
    pub fn build(self, device: &Device) -> Result<Trainer<Network>, TrainError> {
        self.build_with(device, &NetworkFactory)
    }

    /// A trainer of the model `factory` builds for the [`ModelSpec`] (input shape, classes,
    /// seed, autodiff device). Any `Fn(&ModelSpec) -> Result<M, ModelError>` is a factory.
    pub fn build_with<M: SwastModel>(
        self,
        device: &Device,
        factory: &dyn ModelFactory<M>,
    ) -> Result<Trainer<M>, TrainError> {
        let (input, classes) = self.input.ok_or_else(|| {
            TrainError::Config(
                "the trainer needs the input shape and class count: call `.data(&train)` or `.input(shape, classes)` on the builder".into(),
            )
        })?;
        self.cfg.validate().map_err(TrainError::Config)?;
        raise_malloc_thresholds();
        let device = device.clone().without_autodiff();
        // initial weights come from swast's own seeded generator (see `model::reinit`), so
        // they depend on the seed alone, whatever other threads draw from burn's generator
        device.seed(self.seed);
        let spec = ModelSpec {
            input,
            classes,
            seed: self.seed,
            device: device.clone().autodiff(),
        };
        let model = factory.build(&self.model, &spec)?;
        let batchers = self.batchers.unwrap_or_else(|| {
            let c = input[0];
            let identity = swast_data::Normalization {
                mean: vec![0.0; c],
                std: vec![1.0; c],
            };
            (
                Batcher::new(identity.clone(), false),
                Batcher::new(identity, false),
            )
        });
        Ok(Trainer::from_model(
            model,
            self.cfg,
            input,
            classes,
            batchers,
            self.steps_per_epoch,
            self.seed,
            device,
        ))
    }
}
