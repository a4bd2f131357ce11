//! LeNet-5 (LeCun et al. 1998) with ReLU and max-pooling, as commonly trained on MNIST.

use super::lenet_host::{HostLayer, LeNetHost};
use super::{
    LayerInfo, ModelError, ModelOutput, Role, SwastModel, conv_info, conv_out, linear_info,
};
use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

/// `conv5×5(C→6, pad 2) → pool → conv5×5(6→16) → pool → fc 120 → fc 84 → fc K`.
///
/// On 1×28×28 this is the classic 61,706-parameter network (10 classes). The 84-d activation
/// is the feature vector.
#[derive(Module, Debug)]
pub struct LeNet5 {
    conv1: Conv2d,
    conv2: Conv2d,
    pool: MaxPool2d,
    fc1: Linear,
    fc2: Linear,
    fc3: Linear,
    /// Output positions (`H·W`) of conv1 and conv2, for FLOP counts.
    hw: [usize; 2],
}

impl LeNet5 {
    /// LeNet-5 for `[C, H, W]` inputs; H and W must be at least 10.
    pub fn new(input: [usize; 3], classes: usize, device: &Device) -> Result<Self, ModelError> {
        let [c, h, w] = input;
        if h < 10 || w < 10 {
            return Err(ModelError {
                arch: "lenet5",
                message: format!(
                    "needs images of at least 10x10, got {h}x{w}; use model.arch = \"mlp\" or \"resnet20\" for small inputs"
                ),
            });
        }
        // conv1 keeps the size (pad 2), pool halves, conv2 (no pad) removes 4, pool halves
        let (h1, w1) = (h, w);
        let (h2, w2) = (conv_out(h1 / 2, 5, 1, 0), conv_out(w1 / 2, 5, 1, 0));
        let flat = 16 * (h2 / 2) * (w2 / 2);
        Ok(Self {
            conv1: Conv2dConfig::new([c, 6], [5, 5])
                .with_padding(PaddingConfig2d::Explicit(2, 2, 2, 2))
                .init(device),
            conv2: Conv2dConfig::new([6, 16], [5, 5]).init(device),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            fc1: LinearConfig::new(flat, 120).init(device),
            fc2: LinearConfig::new(120, 84).init(device),
            fc3: LinearConfig::new(84, classes).init(device),
            hw: [h1 * w1, h2 * w2],
        })
    }
}

impl LeNet5 {
    /// The weights packed for the fused host kernels of the probe (see
    /// [`super::lenet_host`]), for `[C, H, W]` inputs.
    pub(crate) fn host(&self, input: [usize; 3]) -> LeNetHost {
        fn vals<const D: usize>(t: &Param<Tensor<D>>) -> Vec<f32> {
            t.val().into_data().iter::<f32>().collect()
        }
        fn layer<const D: usize>(w: &Param<Tensor<D>>, b: Option<&Param<Tensor<1>>>) -> HostLayer {
            HostLayer {
                weight: vals(w),
                bias: b.map(vals),
                dims: w.dims().to_vec(),
            }
        }
        let (c1, c2) = (&self.conv1, &self.conv2);
        let (f1, f2, f3) = (&self.fc1, &self.fc2, &self.fc3);
        LeNetHost::new(
            input,
            [
                layer(&c1.weight, c1.bias.as_ref()),
                layer(&c2.weight, c2.bias.as_ref()),
                layer(&f1.weight, f1.bias.as_ref()),
                layer(&f2.weight, f2.bias.as_ref()),
                layer(&f3.weight, f3.bias.as_ref()),
            ],
        )
    }

    /// L1 scores of the channel groups: conv1's and conv2's output channels, fc1's and fc2's
    /// units.
    pub fn channel_scores(&self) -> Vec<Vec<f32>> {
        use super::shrink::{conv_out_l1, linear_out_l1};
        vec![
            conv_out_l1(&self.conv1),
            conv_out_l1(&self.conv2),
            linear_out_l1(&self.fc1),
            linear_out_l1(&self.fc2),
        ]
    }

    /// Keeps the channels of each group (see [`LeNet5::channel_scores`]).
    pub fn keep_channels(&mut self, keeps: &[Vec<usize>]) {
        use super::shrink::{conv_keep_in, conv_keep_out, linear_keep_in, linear_keep_out};
        conv_keep_out(&mut self.conv1, &keeps[0]);
        conv_keep_in(&mut self.conv2, &keeps[0]);
        // fc1 reads conv2's channels flattened channel-major: P positions per channel
        let [c2, _, _, _] = self.conv2.weight.dims();
        let positions = self.fc1.weight.dims()[0] / c2;
        conv_keep_out(&mut self.conv2, &keeps[1]);
        let rows: Vec<usize> = keeps[1]
            .iter()
            .flat_map(|&c| c * positions..(c + 1) * positions)
            .collect();
        linear_keep_in(&mut self.fc1, &rows);
        linear_keep_out(&mut self.fc1, &keeps[2]);
        linear_keep_in(&mut self.fc2, &keeps[2]);
        linear_keep_out(&mut self.fc2, &keeps[3]);
        linear_keep_in(&mut self.fc3, &keeps[3]);
    }
}

impl SwastModel for LeNet5 {
    fn forward_output(&self, x: Tensor<4>) -> ModelOutput {
        // 2×2 max-pooling: the patched burn-flex (`patches/`) has its own loop for it, 4.4 ms on one
        // thread for a `[512, 6, 28, 28]` pool, against 9–10 ms for a reshape and two `max_dim`s
        let x = self.pool.forward(relu(self.conv1.forward(x)));
        let x = self.pool.forward(relu(self.conv2.forward(x)));
        let x: Tensor<2> = x.flatten(1, 3);
        let x = relu(self.fc1.forward(x));
        let features = relu(self.fc2.forward(x));
        let logits = self.fc3.forward(features.clone());
        ModelOutput { features, logits }
    }

    fn layers(&self) -> Vec<LayerInfo> {
        vec![
            conv_info("conv1".into(), &self.conv1, self.hw[0], Role::Backbone),
            conv_info("conv2".into(), &self.conv2, self.hw[1], Role::Backbone),
            linear_info("fc1".into(), &self.fc1, Role::Backbone),
            linear_info("fc2".into(), &self.fc2, Role::Backbone),
            linear_info("fc3".into(), &self.fc3, Role::Classifier),
        ]
    }
}
