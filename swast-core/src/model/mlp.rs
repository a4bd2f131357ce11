//! Multi-layer perceptron on flattened inputs.

use super::{LayerInfo, ModelOutput, Role, SwastModel, linear_info};
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

/// `flatten → [Linear → ReLU]* → Linear`. The last hidden activation is the feature vector.
#[derive(Module, Debug)]
pub struct Mlp {
    hidden: Vec<Linear>,
    fc: Linear,
}

impl Mlp {
    /// An MLP for inputs of shape `input` with the given hidden sizes.
    pub fn new(input: [usize; 3], hidden: &[usize], classes: usize, device: &Device) -> Self {
        let mut d = input.iter().product::<usize>();
        let mut layers = Vec::new();
        for &h in hidden {
            layers.push(LinearConfig::new(d, h).init(device));
            d = h;
        }
        Self {
            hidden: layers,
            fc: LinearConfig::new(d, classes).init(device),
        }
    }
}

impl Mlp {
    /// L1 scores of each hidden layer's units (one channel group per hidden layer).
    pub fn channel_scores(&self) -> Vec<Vec<f32>> {
        self.hidden
            .iter()
            .map(super::shrink::linear_out_l1)
            .collect()
    }

    /// Keeps units `keeps[i]` of hidden layer `i`, and the matching inputs of the next layer.
    pub fn keep_channels(&mut self, keeps: &[Vec<usize>]) {
        use super::shrink::{linear_keep_in, linear_keep_out};
        for (i, k) in keeps.iter().enumerate() {
            linear_keep_out(&mut self.hidden[i], k);
            match self.hidden.get_mut(i + 1) {
                Some(next) => linear_keep_in(next, k),
                None => linear_keep_in(&mut self.fc, k),
            }
        }
    }
}

impl SwastModel for Mlp {
    fn forward_output(&self, x: Tensor<4>) -> ModelOutput {
        let mut h: Tensor<2> = x.flatten(1, 3);
        for l in &self.hidden {
            h = relu(l.forward(h));
        }
        let logits = self.fc.forward(h.clone());
        ModelOutput {
            features: h,
            logits,
        }
    }

    fn layers(&self) -> Vec<LayerInfo> {
        let mut v: Vec<LayerInfo> = self
            .hidden
            .iter()
            .enumerate()
            .map(|(i, l)| linear_info(format!("hidden.{i}"), l, Role::Backbone))
            .collect();
        v.push(linear_info("fc".into(), &self.fc, Role::Classifier));
        v
    }
}
