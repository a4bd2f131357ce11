//! VGG with BatchNorm (Simonyan & Zisserman 2015), CIFAR-style: 3×3 convolutions, max-pools,
//! global average pooling and a single linear classifier.

use super::{LayerInfo, ModelOutput, Role, SwastModel, conv_info, linear_info, scaled};
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::module::adaptive_avg_pool2d;
use burn::tensor::{Device, Tensor};

/// Channel plan of VGG-11; `0` is a 2×2 max-pool.
pub const VGG11: &[usize] = &[64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0];
/// Channel plan of VGG-16; `0` is a 2×2 max-pool.
pub const VGG16: &[usize] = &[
    64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0,
];

/// VGG with BatchNorm. A pool that would shrink a side below 1 pixel is skipped, so small
/// inputs (28×28, 8×8) work too.
#[derive(Module, Debug)]
pub struct Vgg {
    convs: Vec<Conv2d>,
    bns: Vec<BatchNorm>,
    pool: MaxPool2d,
    fc: Linear,
    /// Whether a pool follows conv `i`.
    pool_after: Vec<bool>,
    /// Output positions of conv `i`.
    out_pixels: Vec<usize>,
}

impl Vgg {
    /// Builds VGG from a channel plan for `[C, H, W]` inputs.
    pub fn new(
        plan: &[usize],
        width: f64,
        input: [usize; 3],
        classes: usize,
        device: &Device,
    ) -> Self {
        let [mut cin, mut h, mut w] = input;
        let (mut convs, mut bns, mut pool_after, mut out_pixels) = (vec![], vec![], vec![], vec![]);
        for &v in plan {
            if v == 0 {
                if h >= 2 && w >= 2 {
                    if let Some(last) = pool_after.last_mut() {
                        *last = true;
                    }
                    h /= 2;
                    w /= 2;
                }
                continue;
            }
            let cout = scaled(v, width);
            convs.push(
                Conv2dConfig::new([cin, cout], [3, 3])
                    .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                    .with_bias(false)
                    .init(device),
            );
            bns.push(BatchNormConfig::new(cout).init(device));
            pool_after.push(false);
            out_pixels.push(h * w);
            cin = cout;
        }
        Self {
            convs,
            bns,
            pool: MaxPool2dConfig::new([2, 2]).init(),
            fc: LinearConfig::new(cin, classes).init(device),
            pool_after,
            out_pixels,
        }
    }
}

impl Vgg {
    /// L1 scores of each convolution's output channels.
    pub fn channel_scores(&self) -> Vec<Vec<f32>> {
        self.convs.iter().map(super::shrink::conv_out_l1).collect()
    }

    /// Keeps channels `keeps[i]` of convolution `i` (and its BatchNorm), and the matching
    /// inputs of the next convolution or of the classifier.
    pub fn keep_channels(&mut self, keeps: &[Vec<usize>]) {
        use super::shrink::{bn_keep, conv_keep_in, conv_keep_out, linear_keep_in};
        for (i, k) in keeps.iter().enumerate() {
            conv_keep_out(&mut self.convs[i], k);
            bn_keep(&mut self.bns[i], k);
            match self.convs.get_mut(i + 1) {
                Some(next) => conv_keep_in(next, k),
                None => linear_keep_in(&mut self.fc, k),
            }
        }
    }
}

impl SwastModel for Vgg {
    fn forward_output(&self, mut x: Tensor<4>) -> ModelOutput {
        for ((c, bn), &pool) in self.convs.iter().zip(&self.bns).zip(&self.pool_after) {
            x = relu(bn.forward(c.forward(x)));
            if pool {
                x = self.pool.forward(x);
            }
        }
        let features: Tensor<2> = adaptive_avg_pool2d(x, [1, 1]).flatten(1, 3);
        let logits = self.fc.forward(features.clone());
        ModelOutput { features, logits }
    }

    fn layers(&self) -> Vec<LayerInfo> {
        let mut v: Vec<LayerInfo> = self
            .convs
            .iter()
            .zip(&self.out_pixels)
            .enumerate()
            .map(|(i, (c, &px))| conv_info(format!("convs.{i}"), c, px, Role::Backbone))
            .collect();
        v.push(linear_info("fc".into(), &self.fc, Role::Classifier));
        v
    }
}
