//! The pruning contract: fractions that cannot be mixed up, binary masks keyed by
//! [`ParamId`], and the hooks a pruner gets from the trainer.
//!
//! Implementations (RigL, magnitude, GMP, SNIP, …) live in `swast-prune`;
//! `swast-cli/examples/custom_pruner.rs` implements a [`Pruner`] outside it and plugs it into
//! a pruning-only run.

use crate::model::{LayerInfo, Role};
use burn::module::{Module, ModuleMapper, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Share of weights that are zero, in `[0, 1)`. Its complement is [`Density`].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
pub struct Sparsity(f64);

/// Share of weights that are kept, in `(0, 1]`. Its complement is [`Sparsity`].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
pub struct Density(f64);

impl Sparsity {
    /// A sparsity; `value` must be in `[0, 1)` (a layer with no weights left cannot train).
    pub fn new(value: f64) -> Result<Self, String> {
        if value.is_finite() && (0.0..1.0).contains(&value) {
            Ok(Self(value))
        } else {
            Err(format!("sparsity must be in [0, 1), got {value}"))
        }
    }
    /// The fraction.
    pub fn get(self) -> f64 {
        self.0
    }
    /// `1 − sparsity`.
    pub fn density(self) -> Density {
        Density(1.0 - self.0)
    }
}

impl Density {
    /// A density; `value` must be in `(0, 1]`.
    pub fn new(value: f64) -> Result<Self, String> {
        if value.is_finite() && value > 0.0 && value <= 1.0 {
            Ok(Self(value))
        } else {
            Err(format!("density must be in (0, 1], got {value}"))
        }
    }
    /// The fraction.
    pub fn get(self) -> f64 {
        self.0
    }
    /// `1 − density`.
    pub fn sparsity(self) -> Sparsity {
        Sparsity(1.0 - self.0)
    }
    /// Dense.
    pub const ONE: Density = Density(1.0);
}

/// Which prunable weights are masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// The classifier only (SWaST-trim).
    Classifier,
    /// The backbone only.
    Backbone,
    /// Everything: the backbone at its rate, the classifier at its own (SWaST-cut).
    All,
}

impl Scope {
    /// Whether a layer of `role` is masked under this scope.
    pub fn covers(self, role: Role) -> bool {
        matches!(
            (self, role),
            (Scope::All, _)
                | (Scope::Classifier, Role::Classifier)
                | (Scope::Backbone, Role::Backbone)
        )
    }
}

/// The mask of one prunable weight: `true` = kept.
#[derive(Debug, Clone)]
pub struct LayerMask {
    /// The layer.
    pub info: LayerInfo,
    keep: Vec<bool>,
    tensor: Tensor<1>,
}

impl LayerMask {
    /// Kept flags, in the weight's row-major order.
    pub fn keep(&self) -> &[bool] {
        &self.keep
    }
    /// Number of kept weights.
    pub fn kept(&self) -> usize {
        self.keep.iter().filter(|k| **k).count()
    }
    /// Kept share.
    pub fn density(&self) -> f64 {
        self.kept() as f64 / self.keep.len().max(1) as f64
    }
}

/// One binary mask per masked weight, keyed by [`ParamId`]; layers not in the set are dense.
/// Biases and BatchNorm parameters are never in it.
#[derive(Debug, Clone)]
pub struct MaskSet {
    layers: Vec<LayerMask>,
    index: HashMap<ParamId, usize>,
    device: Device,
}

/// Per-layer line of a mask summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerSummary {
    /// Layer path.
    pub name: String,
    /// Weight shape.
    pub shape: Vec<usize>,
    /// Backbone or classifier.
    pub role: Role,
    /// Kept share (1 for unmasked layers).
    pub density: f64,
    /// Weights kept.
    pub params_kept: usize,
    /// Dense forward FLOPs per sample.
    pub dense_flops: u64,
    /// Forward FLOPs per sample at this density.
    pub sparse_flops: f64,
}

impl MaskSet {
    /// An all-kept mask for every layer of `layers` that `scope` covers.
    pub fn dense(layers: &[LayerInfo], scope: Scope, device: &Device) -> Self {
        let mut set = Self {
            layers: Vec::new(),
            index: HashMap::new(),
            device: device.clone(),
        };
        for l in layers.iter().filter(|l| scope.covers(l.role)) {
            set.index.insert(l.param_id, set.layers.len());
            set.layers.push(LayerMask {
                info: l.clone(),
                keep: vec![true; l.params],
                tensor: Tensor::ones([l.params], device),
            });
        }
        set
    }

    /// The masked layers.
    pub fn layers(&self) -> &[LayerMask] {
        &self.layers
    }

    /// Every masked layer's keep flags, in mask order.
    pub fn keep_flags(&self) -> Vec<Vec<bool>> {
        self.layers.iter().map(|l| l.keep().to_vec()).collect()
    }

    /// Replaces layer `i`'s mask.
    ///
    /// # Panics
    /// If the length differs from the layer's weight count.
    pub fn set(&mut self, i: usize, keep: Vec<bool>) {
        let l = &mut self.layers[i];
        assert_eq!(keep.len(), l.info.params, "mask length of {}", l.info.name);
        let vals: Vec<f32> = keep.iter().map(|&k| if k { 1.0 } else { 0.0 }).collect();
        l.tensor = Tensor::from_data(TensorData::new(vals, [keep.len()]), &self.device);
        l.keep = keep;
    }

    /// The flattened 0/1 mask of a parameter, if it is masked.
    pub fn tensor(&self, id: ParamId) -> Option<&Tensor<1>> {
        self.index.get(&id).map(|&i| &self.layers[i].tensor)
    }

    /// Zero share over the masked weights.
    pub fn masked_sparsity(&self) -> f64 {
        let (n, kept) = self
            .layers
            .iter()
            .fold((0, 0), |(n, k), l| (n + l.keep.len(), k + l.kept()));
        1.0 - kept as f64 / n.max(1) as f64
    }

    /// Per-layer summary over all prunable `layers` of the model (unmasked ones dense).
    pub fn summary(&self, layers: &[LayerInfo]) -> Vec<LayerSummary> {
        layers
            .iter()
            .map(|l| {
                let density = self
                    .index
                    .get(&l.param_id)
                    .map_or(1.0, |&i| self.layers[i].density());
                LayerSummary {
                    name: l.name.clone(),
                    shape: l.shape.clone(),
                    role: l.role,
                    density,
                    params_kept: (density * l.params as f64).round() as usize,
                    dense_flops: l.flops,
                    sparse_flops: l.flops as f64 * density,
                }
            })
            .collect()
    }

    /// Re-keys the masks to `layers` by layer name, after the model's parameters got new ids
    /// (loading a record restores the ids it was saved with).
    pub fn rekey(&mut self, layers: &[LayerInfo]) -> Result<(), String> {
        let mut index = HashMap::new();
        for (i, l) in self.layers.iter_mut().enumerate() {
            let new = layers
                .iter()
                .find(|n| n.name == l.info.name && n.shape == l.info.shape)
                .ok_or_else(|| format!("layer {} is not in the model", l.info.name))?;
            l.info = new.clone();
            index.insert(new.param_id, i);
        }
        self.index = index;
        Ok(())
    }

    /// Packs the masks (one bit per weight) for a checkpoint.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = (self.layers.len() as u64).to_le_bytes().to_vec();
        for l in &self.layers {
            out.extend_from_slice(&(l.keep.len() as u64).to_le_bytes());
            for chunk in l.keep.chunks(8) {
                let mut b = 0u8;
                for (j, &k) in chunk.iter().enumerate() {
                    b |= u8::from(k) << j;
                }
                out.push(b);
            }
        }
        out
    }

    /// Restores masks packed by [`MaskSet::to_bytes`] into this set (same layers).
    pub fn load_bytes(&mut self, bytes: &[u8]) -> Result<(), String> {
        let mut at = 0usize;
        let u64_at = |at: &mut usize| -> Result<u64, String> {
            let b = bytes.get(*at..*at + 8).ok_or("mask state cut short")?;
            *at += 8;
            Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
        };
        let n = u64_at(&mut at)? as usize;
        if n != self.layers.len() {
            return Err(format!(
                "mask state has {n} layers, the model {}",
                self.layers.len()
            ));
        }
        for i in 0..n {
            let len = u64_at(&mut at)? as usize;
            if len != self.layers[i].info.params {
                return Err(format!(
                    "mask {i} has {len} weights, the layer {}",
                    self.layers[i].info.params
                ));
            }
            let nb = len.div_ceil(8);
            let raw = bytes.get(at..at + nb).ok_or("mask state cut short")?;
            at += nb;
            let keep = (0..len).map(|j| raw[j / 8] >> (j % 8) & 1 == 1).collect();
            self.set(i, keep);
        }
        if at != bytes.len() {
            return Err("trailing bytes after the masks".into());
        }
        Ok(())
    }
}

/// Prunable weights kept under the masks (unmasked layers count in full).
pub fn params_kept(layers: &[LayerInfo], masks: Option<&MaskSet>) -> usize {
    match masks {
        Some(m) => m.summary(layers).iter().map(|s| s.params_kept).sum(),
        None => layers.iter().map(|l| l.params).sum(),
    }
}

/// Forward FLOPs of one sample under the masks (each layer's dense FLOPs × its density).
pub fn sparse_forward_flops(layers: &[LayerInfo], masks: Option<&MaskSet>) -> f64 {
    match masks {
        Some(m) => m.summary(layers).iter().map(|s| s.sparse_flops).sum(),
        None => layers.iter().map(|l| l.flops as f64).sum(),
    }
}

/// Multiplies the parameters listed in `factors` by their factor.
pub fn scale_params<M: Module>(module: M, factors: &[(ParamId, f32)]) -> M {
    struct Scale<'a>(&'a [(ParamId, f32)]);
    impl ModuleMapper for Scale<'_> {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let Some(&(_, f)) = self.0.iter().find(|(id, _)| *id == param.id) else {
                return param;
            };
            let (id, t, mapper) = param.consume();
            let rg = t.is_require_grad();
            let mut out = Tensor::from_inner(t.inner().mul_scalar(f));
            if rg {
                out = out.require_grad();
            }
            Param::from_mapped_value(id, out, mapper)
        }
    }
    module.map(&mut Scale(factors))
}

/// A weight seen through a mask with burn's reparameterization (its LoRA mechanism):
/// `weight.val()` returns `base ⊙ mask`, so the forward uses the masked weight and autodiff
/// reaches both the base weight and, when the mask is itself tracked (ProbMask's relaxed
/// sample), the mask's inputs.
#[derive(Module, Debug)]
pub struct MaskReparam {
    /// The flattened mask, one entry per weight.
    pub mask: Tensor<1>,
}

impl burn::module::Reparameterization for MaskReparam {
    const NAME: &'static str = "mask";
    fn apply<const D: usize>(&self, base: Tensor<D>) -> Tensor<D> {
        let dims: [usize; D] = base.dims();
        base * self.mask.clone().reshape(dims)
    }
}

/// `module` with each parameter of `masks` (flattened masks by parameter id) reparameterized
/// as `base ⊙ mask` ([`MaskReparam`]); parameter ids are kept, so gradients keyed by them
/// still reach the base weights.
pub fn attach_masks<M: Module>(module: M, masks: &[(ParamId, Tensor<1>)]) -> M {
    struct Attach<'a>(&'a [(ParamId, Tensor<1>)]);
    impl burn::module::Reparameterizer for Attach<'_> {
        type Reparam = MaskReparam;
        fn reparameterize<const D: usize>(
            &mut self,
            _path: &str,
            p: Param<Tensor<D>>,
        ) -> (Param<Tensor<D>>, Option<MaskReparam>) {
            let m = self
                .0
                .iter()
                .find(|(id, _)| *id == p.id)
                .map(|(_, m)| MaskReparam { mask: m.clone() });
            (p, m)
        }
    }
    module.apply_reparameterization(Attach(masks))
}

/// Multiplies every masked weight of a module by its mask (on the inner tensor, keeping the
/// parameter id and its gradient requirement).
pub fn apply_masks<M: Module>(module: M, masks: &MaskSet) -> M {
    struct Apply<'a>(&'a MaskSet);
    impl ModuleMapper for Apply<'_> {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let Some(mask) = self.0.tensor(param.id) else {
                return param;
            };
            let (id, t, mapper) = param.consume();
            let rg = t.is_require_grad();
            let dims: [usize; D] = t.dims();
            let mut out = Tensor::from_inner(t.inner() * mask.clone().reshape(dims));
            if rg {
                out = out.require_grad();
            }
            Param::from_mapped_value(id, out, mapper)
        }
    }
    module.map(&mut Apply(masks))
}

/// What a pruner may read of the model it prunes: the current values of its weights. It is
/// object-safe, so one [`Pruner`] works on every model; every burn [`Module`] implements it.
pub trait WeightSource {
    /// The current values of the weights of `layers`, flattened, keyed by parameter id.
    fn weight_values(&self, layers: &[LayerInfo]) -> HashMap<ParamId, Vec<f32>>;
}

impl<M: Module> WeightSource for M {
    fn weight_values(&self, layers: &[LayerInfo]) -> HashMap<ParamId, Vec<f32>> {
        weight_values(self, layers)
    }
}

/// The current values of a model's prunable weights, flattened, keyed by parameter id.
pub fn weight_values<M: Module>(model: &M, layers: &[LayerInfo]) -> HashMap<ParamId, Vec<f32>> {
    struct Collect<'a> {
        want: &'a HashMap<ParamId, ()>,
        out: HashMap<ParamId, Vec<f32>>,
    }
    impl burn::module::ModuleVisitor for Collect<'_> {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            if self.want.contains_key(&p.id) {
                self.out
                    .insert(p.id, p.val().into_data().iter::<f32>().collect());
            }
        }
    }
    let want: HashMap<ParamId, ()> = layers.iter().map(|l| (l.param_id, ())).collect();
    let mut c = Collect {
        want: &want,
        out: HashMap::new(),
    };
    model.visit(&mut c);
    c.out
}

/// The dense gradient of a layer's weight in this step, flattened.
pub fn grad_values(grads: &GradientsParams, layer: &LayerInfo) -> Option<Vec<f32>> {
    match layer.shape.len() {
        2 => grads
            .get::<2>(layer.param_id)
            .map(|g| g.into_data().iter::<f32>().collect()),
        4 => grads
            .get::<4>(layer.param_id)
            .map(|g| g.into_data().iter::<f32>().collect()),
        _ => None,
    }
}

/// Errors of a pruner.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("pruner {pruner}: {message}")]
pub struct PruneError {
    /// The pruner.
    pub pruner: &'static str,
    /// What is wrong.
    pub message: String,
}

/// What the trainer tells a pruner at initialisation.
#[derive(Debug, Clone)]
pub struct PruneInit<'a> {
    /// Prunable layers of the model.
    pub layers: &'a [LayerInfo],
    /// Optimizer steps the whole run will take.
    pub total_steps: u64,
    /// Epochs the whole run will take (the epoch clock's length).
    pub epochs: usize,
    /// Device for masks.
    pub device: &'a Device,
}

pub use crate::schedule::Tick;

/// An online pruner. The trainer calls, for each step: forward, backward,
/// [`Pruner::after_backward`] with the dense gradients, the masked optimizer step, then
/// [`Pruner::after_step`]; when that returns `true` the masks changed and the trainer
/// re-applies them to the weights and the optimizer's velocities.
pub trait Pruner: Send {
    /// Config name.
    fn name(&self) -> &'static str;
    /// Builds the initial masks (the model holds its initial weights).
    fn init(&mut self, model: &dyn WeightSource, init: &PruneInit<'_>) -> Result<(), PruneError>;
    /// Factors the trainer multiplies initial weights by right after [`Pruner::init`]
    /// (sparse-aware initialisation: `1/√density` keeps each unit's input variance at its
    /// dense value). Empty by default.
    fn init_weight_scale(&self) -> Vec<(ParamId, f32)> {
        Vec::new()
    }
    /// Sees the dense gradients of the step at `tick` before the optimizer uses them.
    fn after_backward(&mut self, _tick: Tick, _model: &dyn WeightSource, _grads: &GradientsParams) {
    }
    /// After the optimizer step at `tick`; returns whether the masks changed.
    fn after_step(&mut self, _tick: Tick, _model: &dyn WeightSource) -> bool {
        false
    }
    /// The current masks (`None` before [`Pruner::init`]). They give the run's accounting
    /// (sparsity, FLOPs, the mask summary) and, when [`Pruner::enforces_masks`], the weights.
    fn masks(&self) -> Option<&MaskSet>;
    /// Whether the trainer keeps the weights outside [`Pruner::masks`] at exactly zero (in
    /// the optimizer step and whenever the masks change). True for every pruner whose mask is
    /// binary; ProbMask keeps dense weights while its mask is still probabilistic.
    fn enforces_masks(&self) -> bool {
        true
    }
    /// Factors the training forward of the step at `tick` multiplies weights by, instead of
    /// the enforced masks (ProbMask: a sampled relaxed mask whose scores autodiff tracks, on
    /// the autodiff device). The trainer attaches them to a view of its model whose base
    /// parameters are the model's own, so their gradients reach the optimizer.
    fn train_factors(&mut self, _tick: Tick) -> Option<Vec<(ParamId, Tensor<1>)>> {
        None
    }
    /// The masks evaluation and probe passes apply to a copy of the weights, when the
    /// weights themselves are not masked yet (ProbMask: its current hard mask).
    fn eval_masks(&self) -> Option<&MaskSet> {
        None
    }
    /// Sees the raw gradients of a step whose forward ran on [`Pruner::train_factors`], before
    /// they become parameter gradients (ProbMask reads its scores' gradients here).
    fn after_backward_raw(&mut self, _tick: Tick, _grads: &burn::tensor::Gradients) {}
    /// Everything needed to resume (masks, counters, RNG).
    fn state_bytes(&self) -> Vec<u8>;
    /// Restores [`Pruner::state_bytes`]; called after [`Pruner::init`] on a fresh pruner,
    /// with the model's layers as the checkpoint restored them (their parameter ids may have
    /// changed since `init`).
    fn load_state(&mut self, bytes: &[u8], layers: &[LayerInfo]) -> Result<(), PruneError>;
}

/// A structured pruner: removes whole channels once, physically (the trainer rebuilds the
/// shrunk layers and restarts their optimizer state), at a point of the run it chooses.
/// Unlike a [`Pruner`] it keeps no masks: the model itself gets smaller, so training gets
/// faster on any backend.
pub trait StructuredPruner: Send {
    /// Config name.
    fn name(&self) -> &'static str;
    /// Whether to prune the initial weights, before the first step (`start`: the run's first
    /// tick, which carries its length).
    fn at_start(&self, start: Tick) -> bool;
    /// Whether the step at `tick` (after its optimizer update) is the one to prune at.
    fn due(&self, tick: Tick) -> bool;
    /// The channels to keep, one ascending list per channel group, given every group's
    /// L1 channel scores ([`crate::model::SwastModel::channel_scores`]).
    fn keeps(&self, channel_scores: &[Vec<f32>]) -> Vec<Vec<usize>>;
}

/// How a run prunes: masks over the weights, or whole channels removed.
pub enum PruneScheme {
    /// Binary masks kept by a [`Pruner`].
    Masks(Box<dyn Pruner>),
    /// Channels removed by a [`StructuredPruner`].
    Channels(Box<dyn StructuredPruner>),
}

impl std::fmt::Debug for PruneScheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PruneScheme::Masks(p) => write!(f, "Masks({})", p.name()),
            PruneScheme::Channels(p) => write!(f, "Channels({})", p.name()),
        }
    }
}
