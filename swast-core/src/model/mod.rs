//! Models: MLP, LeNet-5, CIFAR-style ResNets and VGG with BatchNorm.
//!
//! Every model returns its penultimate features and its logits from one pass
//! ([`ModelOutput`]) and lists its prunable weights ([`LayerInfo`]) with a [`Role`], the
//! dense per-sample forward FLOPs of each layer and the parameter's [`ParamId`], so pruners and
//! selectors never need to know which architecture they work on.

mod lenet;
pub(crate) mod lenet_host;
mod mlp;
mod resnet;
pub mod shrink;
mod vgg;

pub use lenet::LeNet5;
pub use mlp::Mlp;
pub use resnet::{BlockKind, ResNet, ResNetSpec};
pub use vgg::Vgg;

use burn::module::{Module, ParamId};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// What a prunable weight does: SWaST-trim prunes the classifier only, SWaST-cut both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Feature extractor weights (convolutions, hidden linear layers).
    Backbone,
    /// The final linear layer that maps features to logits.
    Classifier,
}

/// Convolution or fully connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerKind {
    /// 2-d convolution.
    Conv,
    /// Fully connected.
    Linear,
}

/// One prunable weight tensor and its cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerInfo {
    /// Dotted path of the layer (`blocks.3.conv2`).
    pub name: String,
    /// Convolution or linear.
    pub kind: LayerKind,
    /// Backbone or classifier.
    pub role: Role,
    /// The weight's parameter id (stable across optimizer steps and checkpoints).
    #[serde(skip, default = "ParamId::new")]
    pub param_id: ParamId,
    /// The weight's shape as burn stores it (`[out, in, kh, kw]`, linear `[in, out]`).
    pub shape: Vec<usize>,
    /// Number of weights.
    pub params: usize,
    /// Dense forward FLOPs per sample: conv `2·Cout·Cin/groups·kh·kw·Hout·Wout`, linear
    /// `2·in·out` (biases, normalization and activations are not counted).
    pub flops: u64,
}

impl LayerInfo {
    /// The entry of a 2-d convolution whose output has `out_pixels = Hout·Wout` positions
    /// per sample (for its FLOPs).
    pub fn conv(
        name: impl Into<String>,
        conv: &burn::nn::conv::Conv2d,
        out_pixels: usize,
        role: Role,
    ) -> Self {
        conv_info(name.into(), conv, out_pixels, role)
    }
    /// The entry of a linear layer.
    pub fn linear(name: impl Into<String>, lin: &burn::nn::Linear, role: Role) -> Self {
        linear_info(name.into(), lin, role)
    }
}

/// Features and logits from one forward pass.
#[derive(Debug, Clone)]
pub struct ModelOutput {
    /// `[B, F]` penultimate features (the classifier's input).
    pub features: Tensor<2>,
    /// `[B, K]` logits.
    pub logits: Tensor<2>,
}

/// The contract every model trained by swast meets: a burn [`Module`] that returns its
/// penultimate features and its logits from one pass, and lists its prunable weights with
/// their [`Role`]. swast's own [`Network`] is one implementation; a model of your own is
/// another (`swast/examples/custom_model.rs`), and then pruners, the probe, the
/// [`Trainer`](crate::Trainer) and [`run`](crate::run::run_with_model) work on it unchanged.
///
/// ```no_run
/// use swast_core::burn; // burn's derive macros name `burn::…`
/// use burn::module::Module;
/// use burn::nn::{Linear, LinearConfig};
/// use burn::tensor::{Device, Tensor, activation::relu};
/// use swast_core::model::{LayerInfo, ModelOutput, ModelSpec, Role, SwastModel};
///
/// #[derive(Module, Debug)]
/// struct TwoLayer {
///     hidden: Linear,
///     head: Linear,
/// }
///
/// impl SwastModel for TwoLayer {
///     fn forward_output(&self, x: Tensor<4>) -> ModelOutput {
///         let features = relu(self.hidden.forward(x.flatten(1, 3))); // [B, F]
///         let logits = self.head.forward(features.clone()); // [B, K]
///         ModelOutput { features, logits }
///     }
///     fn layers(&self) -> Vec<LayerInfo> {
///         vec![
///             LayerInfo::linear("hidden", &self.hidden, Role::Backbone),
///             LayerInfo::linear("head", &self.head, Role::Classifier),
///         ]
///     }
/// }
///
/// // the factory `run_with_model` and `TrainerBuilder::build_with` take
/// let factory = |spec: &ModelSpec| {
///     let [c, h, w] = spec.input;
///     let model = TwoLayer {
///         hidden: LinearConfig::new(c * h * w, 256).init(&spec.device),
///         head: LinearConfig::new(256, spec.classes).init(&spec.device),
///     };
///     Ok(swast_core::model::reinit(model, spec.seed)) // seeded initial weights
/// };
/// # let _: &dyn swast_core::model::ModelFactory<TwoLayer> = &factory;
/// ```
///
/// The classifier must be a linear layer (or a 1×1 convolution) whose outputs are the logits:
/// SWaST-trim masks the layers of role [`Role::Classifier`], SWaST-cut all of them.
pub trait SwastModel: Module + 'static {
    /// Forward pass returning features and logits.
    ///
    /// # Shapes
    /// - `x`: `[B, C, H, W]`
    fn forward_output(&self, x: Tensor<4>) -> ModelOutput;
    /// The prunable weights in forward order, with roles and dense FLOPs.
    fn layers(&self) -> Vec<LayerInfo>;
    /// Dense forward FLOPs of one sample (sum over [`SwastModel::layers`]).
    fn forward_flops(&self) -> u64 {
        self.layers().iter().map(|l| l.flops).sum()
    }
    /// Width of the logits: the classifier's output count (the class count, or
    /// `model.head_outputs`).
    fn outputs(&self) -> usize {
        self.layers()
            .iter()
            .rev()
            .find(|l| l.role == Role::Classifier)
            .map_or(0, |l| match l.kind {
                LayerKind::Linear => l.shape[1],
                LayerKind::Conv => l.shape[0],
            })
    }
    /// L1 scores of every channel group that structured pruning may shrink (one list per
    /// group). None by default: a model without groups cannot be pruned structurally.
    fn channel_scores(&self) -> Vec<Vec<f32>> {
        Vec::new()
    }
    /// Physically removes every channel not in `keeps` (one ascending list per group of
    /// [`SwastModel::channel_scores`]). Models without channel groups keep the default, which
    /// is never called (the trainer refuses a structured pruner for them).
    fn keep_channels(&mut self, keeps: &[Vec<usize>]) {
        let _ = keeps;
    }
}

/// What a model factory is asked for: the input shape, the logits' width, the seed and the
/// device (with autodiff) to build on.
#[derive(Debug, Clone)]
pub struct ModelSpec {
    /// `[C, H, W]` of one input.
    pub input: [usize; 3],
    /// The dataset's class count.
    pub classes: usize,
    /// The run's seed.
    pub seed: u64,
    /// The device to build on (autodiff enabled).
    pub device: Device,
}

/// Builds the model a run trains ([`crate::run::run_with_model`]). Any
/// `Fn(&ModelSpec) -> Result<M, ModelError>` is one; [`NetworkFactory`] builds swast's own
/// architectures from `[model]`.
pub trait ModelFactory<M: SwastModel> {
    /// A fresh model for `spec`, its initial weights drawn from `spec.seed`.
    fn build(&self, cfg: &ModelConfig, spec: &ModelSpec) -> Result<M, ModelError>;
}

impl<M: SwastModel, F: Fn(&ModelSpec) -> Result<M, ModelError>> ModelFactory<M> for F {
    fn build(&self, _cfg: &ModelConfig, spec: &ModelSpec) -> Result<M, ModelError> {
        self(spec)
    }
}

/// swast's own architectures, built from `[model]` with swast's seeded initialisation
/// ([`reinit`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct NetworkFactory;

impl ModelFactory<Network> for NetworkFactory {
    fn build(&self, cfg: &ModelConfig, spec: &ModelSpec) -> Result<Network, ModelError> {
        Ok(reinit(
            cfg.build(spec.input, spec.classes, &spec.device)?,
            spec.seed,
        ))
    }
}

/// Architectures by config name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// Multi-layer perceptron.
    Mlp,
    /// LeNet-5 (ReLU, max-pool).
    #[default]
    Lenet5,
    /// CIFAR-style ResNet-18 (BasicBlock, `[2,2,2,2]`, 64..512).
    Resnet18,
    /// CIFAR ResNet-20 of He et al. (BasicBlock, `[3,3,3]`, 16..64).
    Resnet20,
    /// CIFAR-style ResNet-34 (BasicBlock, `[3,4,6,3]`).
    Resnet34,
    /// CIFAR-style ResNet-50 (Bottleneck, `[3,4,6,3]`).
    Resnet50,
    /// CIFAR-style ResNet-101 (Bottleneck, `[3,4,23,3]`).
    Resnet101,
    /// VGG-11 with BatchNorm.
    Vgg11,
    /// VGG-16 with BatchNorm.
    Vgg16,
}

impl Arch {
    /// Every architecture.
    pub const ALL: [Arch; 9] = [
        Arch::Mlp,
        Arch::Lenet5,
        Arch::Resnet18,
        Arch::Resnet20,
        Arch::Resnet34,
        Arch::Resnet50,
        Arch::Resnet101,
        Arch::Vgg11,
        Arch::Vgg16,
    ];
    /// Config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::Mlp => "mlp",
            Arch::Lenet5 => "lenet5",
            Arch::Resnet18 => "resnet18",
            Arch::Resnet20 => "resnet20",
            Arch::Resnet34 => "resnet34",
            Arch::Resnet50 => "resnet50",
            Arch::Resnet101 => "resnet101",
            Arch::Vgg11 => "vgg11",
            Arch::Vgg16 => "vgg16",
        }
    }
}

/// Model hyper-parameters (the `[model]` config table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// Architecture.
    pub arch: Arch,
    /// Width multiplier for ResNet and VGG channel counts (1.0 = the published widths).
    pub width: f64,
    /// Hidden layer sizes of the MLP.
    pub mlp_hidden: Vec<usize>,
    /// Outputs of the classifier head; 0 = the dataset's class count. A wider head (e.g.
    /// 1000, as torchvision's ImageNet heads that the paper's parameter counts imply) keeps
    /// the labels: the extra outputs are classes no sample has, the loss is the softmax over
    /// all outputs and evaluation takes the arg-max over all of them, as PyTorch does.
    pub head_outputs: usize,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            arch: Arch::Lenet5,
            width: 1.0,
            mlp_hidden: vec![256, 128],
            head_outputs: 0,
        }
    }
}

/// A model could not be built for the data it was given.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("model {arch}: {message}")]
pub struct ModelError {
    /// Architecture name.
    pub arch: &'static str,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// Any of swast's models, as one burn module.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Network {
    /// See [`Mlp`].
    Mlp(Mlp),
    /// See [`LeNet5`].
    LeNet5(LeNet5),
    /// See [`ResNet`].
    ResNet(ResNet),
    /// See [`Vgg`].
    Vgg(Vgg),
}

impl ModelConfig {
    /// Checks the values that do not depend on the data.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.width.is_finite() && self.width > 0.0 && self.width <= 16.0) {
            return Err(format!(
                "model.width must be in (0, 16], got {}",
                self.width
            ));
        }
        if self.arch == Arch::Mlp && self.mlp_hidden.contains(&0) {
            return Err("model.mlp_hidden sizes must be positive".into());
        }
        if self.head_outputs > 100_000 {
            return Err(format!(
                "model.head_outputs must be at most 100000 (0 = the class count), got {}",
                self.head_outputs
            ));
        }
        Ok(())
    }

    /// The classifier's output count for data with `classes` classes: `head_outputs`, or
    /// the class count when it is 0. A head narrower than the class count is an error.
    pub fn outputs(&self, classes: usize) -> Result<usize, ModelError> {
        match self.head_outputs {
            0 => Ok(classes),
            h if h >= classes => Ok(h),
            h => Err(ModelError {
                arch: self.arch.as_str(),
                message: format!(
                    "model.head_outputs = {h} is below the dataset's {classes} classes: set it to 0 (the class count) or at least {classes}"
                ),
            }),
        }
    }

    /// Builds the model for inputs of shape `[C, H, W]` and `classes` outputs on `device`.
    pub fn build(
        &self,
        input: [usize; 3],
        classes: usize,
        device: &Device,
    ) -> Result<Network, ModelError> {
        self.validate().map_err(|message| ModelError {
            arch: self.arch.as_str(),
            message,
        })?;
        if classes < 2 {
            return Err(ModelError {
                arch: self.arch.as_str(),
                message: format!("needs at least 2 classes, got {classes}"),
            });
        }
        let w = self.width;
        let classes = self.outputs(classes)?;
        Ok(match self.arch {
            Arch::Mlp => Network::Mlp(Mlp::new(input, &self.mlp_hidden, classes, device)),
            Arch::Lenet5 => Network::LeNet5(LeNet5::new(input, classes, device)?),
            Arch::Resnet18 => {
                Network::ResNet(ResNet::new(ResNetSpec::resnet18(w), input, classes, device))
            }
            Arch::Resnet20 => {
                Network::ResNet(ResNet::new(ResNetSpec::resnet20(w), input, classes, device))
            }
            Arch::Resnet34 => {
                Network::ResNet(ResNet::new(ResNetSpec::resnet34(w), input, classes, device))
            }
            Arch::Resnet50 => {
                Network::ResNet(ResNet::new(ResNetSpec::resnet50(w), input, classes, device))
            }
            Arch::Resnet101 => Network::ResNet(ResNet::new(
                ResNetSpec::resnet101(w),
                input,
                classes,
                device,
            )),
            Arch::Vgg11 => Network::Vgg(Vgg::new(vgg::VGG11, w, input, classes, device)),
            Arch::Vgg16 => Network::Vgg(Vgg::new(vgg::VGG16, w, input, classes, device)),
        })
    }
}

impl SwastModel for Network {
    fn forward_output(&self, x: Tensor<4>) -> ModelOutput {
        match self {
            Network::Mlp(m) => m.forward_output(x),
            Network::LeNet5(m) => m.forward_output(x),
            Network::ResNet(m) => m.forward_output(x),
            Network::Vgg(m) => m.forward_output(x),
        }
    }
    fn layers(&self) -> Vec<LayerInfo> {
        match self {
            Network::Mlp(m) => m.layers(),
            Network::LeNet5(m) => m.layers(),
            Network::ResNet(m) => m.layers(),
            Network::Vgg(m) => m.layers(),
        }
    }
    fn channel_scores(&self) -> Vec<Vec<f32>> {
        Network::channel_scores(self)
    }
    fn keep_channels(&mut self, keeps: &[Vec<usize>]) {
        Network::keep_channels(self, keeps);
    }
}

impl Network {
    /// L1 scores of every channel group (internal widths that can shrink).
    pub fn channel_scores(&self) -> Vec<Vec<f32>> {
        match self {
            Network::Mlp(m) => m.channel_scores(),
            Network::LeNet5(m) => m.channel_scores(),
            Network::ResNet(m) => m.channel_scores(),
            Network::Vgg(m) => m.channel_scores(),
        }
    }

    /// Physically removes every channel not in `keeps` (one list per group, ascending).
    /// New parameters get new ids, so optimizer state for them starts from zero.
    pub fn keep_channels(&mut self, keeps: &[Vec<usize>]) {
        match self {
            Network::Mlp(m) => m.keep_channels(keeps),
            Network::LeNet5(m) => m.keep_channels(keeps),
            Network::ResNet(m) => m.keep_channels(keeps),
            Network::Vgg(m) => m.keep_channels(keeps),
        }
    }

    /// The channels to keep when removing `share` of each group by L1 norm.
    pub fn l1_channel_keeps(&self, share: f64) -> Vec<Vec<usize>> {
        shrink::l1_keeps(&self.channel_scores(), share)
    }
}

/// Output size of a convolution or pooling along one axis.
pub(crate) fn conv_out(size: usize, kernel: usize, stride: usize, pad: usize) -> usize {
    (size + 2 * pad).saturating_sub(kernel) / stride + 1
}

/// The [`LayerInfo`] of a convolution whose output has `out_pixels = Hout·Wout` positions.
pub(crate) fn conv_info(
    name: String,
    conv: &burn::nn::conv::Conv2d,
    out_pixels: usize,
    role: Role,
) -> LayerInfo {
    let shape = conv.weight.dims().to_vec();
    let params: usize = shape.iter().product();
    // weight is [Cout, Cin/groups, kh, kw]: params already = Cout·Cin/groups·kh·kw
    let flops = 2 * params as u64 * out_pixels as u64;
    LayerInfo {
        name,
        kind: LayerKind::Conv,
        role,
        param_id: conv.weight.id,
        shape,
        params,
        flops,
    }
}

/// The [`LayerInfo`] of a linear layer.
pub(crate) fn linear_info(name: String, lin: &burn::nn::Linear, role: Role) -> LayerInfo {
    let shape = lin.weight.dims().to_vec();
    let params: usize = shape.iter().product();
    LayerInfo {
        name,
        kind: LayerKind::Linear,
        role,
        param_id: lin.weight.id,
        shape,
        params,
        flops: 2 * params as u64,
    }
}

/// Scales a channel count by the width multiplier (at least 1).
pub(crate) fn scaled(c: usize, width: f64) -> usize {
    ((c as f64 * width).round() as usize).max(1)
}

/// Number of trainable parameters (weights, biases, BatchNorm γ/β). Unlike burn's
/// `num_params`, BatchNorm running statistics are not counted, so the numbers match the
/// literature (ResNet-18 with a 10-class head: 11,173,962).
pub fn trainable_params<M: Module>(m: &M) -> usize {
    struct Count {
        path: Vec<String>,
        n: usize,
    }
    impl burn::module::ModuleVisitor for Count {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, p: &burn::module::Param<Tensor<D>>) {
            let running = self
                .path
                .last()
                .is_some_and(|s| s == "running_mean" || s == "running_var");
            if !running {
                self.n += p.shape().num_elements();
            }
        }
    }
    let mut c = Count {
        path: Vec::new(),
        n: 0,
    };
    m.visit(&mut c);
    c.n
}

/// Every float parameter and running statistic of a module, by dotted path, in visiting order:
/// what "the same weights" means when two runs are compared.
pub fn param_values<M: Module>(m: &M) -> Vec<(String, Vec<f32>)> {
    struct Collect {
        path: Vec<String>,
        out: Vec<(String, Vec<f32>)>,
    }
    impl burn::module::ModuleVisitor for Collect {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, p: &burn::module::Param<Tensor<D>>) {
            let v = p.val().into_data().iter::<f32>().collect();
            self.out.push((self.path.join("."), v));
        }
    }
    let mut c = Collect {
        path: Vec::new(),
        out: Vec::new(),
    };
    m.visit(&mut c);
    c.out
}

/// Re-draws every convolution and linear weight and bias from swast's own seeded generator:
/// uniform in `±1/√fan_in` (burn's and PyTorch's default for these layers), with
/// `fan_in = in·kh·kw` for convolutions and `in` for linear layers; a bias uses its layer's
/// fan-in. BatchNorm parameters keep their constant initialisation.
///
/// The initial weights then depend on `seed` alone — not on a backend's global generator,
/// which other threads may draw from concurrently, and not on the backend.
pub fn reinit<M: Module>(m: M, seed: u64) -> M {
    struct Reinit {
        path: Vec<String>,
        rng: swast_data::SeededRng,
        fan_in: usize,
    }
    impl burn::module::ModuleMapper for Reinit {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn map_float<const D: usize>(
            &mut self,
            p: burn::module::Param<Tensor<D>>,
        ) -> burn::module::Param<Tensor<D>> {
            let name = self.path.last().map(String::as_str).unwrap_or("");
            let dims = p.shape().dims::<D>();
            let fan_in = match (name, D) {
                ("weight", 4) => dims[1] * dims[2] * dims[3],
                ("weight", 2) => dims[0],
                ("bias", 1) => self.fan_in,
                _ => return p,
            };
            if name == "weight" {
                self.fan_in = fan_in;
            }
            let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
            let n: usize = dims.iter().product();
            let vals: Vec<f32> = (0..n)
                .map(|_| ((2.0 * self.rng.unit_f64() - 1.0) * bound) as f32)
                .collect();
            let (id, t, mapper) = p.consume();
            let rg = t.is_require_grad();
            let fresh =
                Tensor::<D>::from_data(burn::tensor::TensorData::new(vals, dims), &t.device())
                    .detach();
            let fresh = if rg { fresh.require_grad() } else { fresh };
            burn::module::Param::from_mapped_value(id, fresh, mapper)
        }
    }
    m.map(&mut Reinit {
        path: Vec::new(),
        rng: swast_data::SeededRng::stream(seed, "init"),
        fan_in: 1,
    })
}
