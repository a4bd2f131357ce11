//! Structured (channel) pruning with physical removal: whole output channels (units) are
//! removed from a layer, and the matching input channels from the layers that read them
//! (BatchNorm parameters and running statistics included), so the model really gets smaller
//! and faster. Channels are ranked by the L1 norm of their weights.
//!
//! Every model lists its *channel groups*: the internal widths that can shrink without
//! changing the model's input or output. ResNets shrink only the inner channels of their
//! blocks (the residual width is shared by the shortcuts).

use burn::module::{Param, RunningState};
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, Linear};
use burn::tensor::{Int, Tensor, TensorData};

/// Indices as an Int tensor on the parameter's device.
fn index(keep: &[usize], like: &Tensor<1>) -> Tensor<1, Int> {
    let v: Vec<i64> = keep.iter().map(|&i| i as i64).collect();
    Tensor::from_data(TensorData::new(v, [keep.len()]), &like.device())
}

fn pick<const D: usize>(p: &Param<Tensor<D>>, dim: usize, keep: &[usize]) -> Param<Tensor<D>> {
    let v = p.val();
    let trainable = v.is_require_grad();
    let probe: Tensor<1> = v.clone().flatten(0, D - 1);
    let idx = index(keep, &probe);
    let out = v.select(dim, idx).detach();
    Param::from_tensor(if trainable { out.require_grad() } else { out })
}

/// L1 norm of each output channel of a convolution (`[out, in, kh, kw]`).
pub fn conv_out_l1(c: &Conv2d) -> Vec<f32> {
    let [o, _, _, _] = c.weight.dims();
    let s: Tensor<1> = c
        .weight
        .val()
        .abs()
        .sum_dim(3)
        .sum_dim(2)
        .sum_dim(1)
        .reshape([o]);
    s.into_data().iter::<f32>().collect()
}

/// L1 norm of each output unit of a linear layer (`[in, out]`).
pub fn linear_out_l1(l: &Linear) -> Vec<f32> {
    let [_, o] = l.weight.dims();
    let s: Tensor<1> = l.weight.val().abs().sum_dim(0).reshape([o]);
    s.into_data().iter::<f32>().collect()
}

/// Keeps output channels `keep` of a convolution.
pub fn conv_keep_out(c: &mut Conv2d, keep: &[usize]) {
    c.weight = pick(&c.weight, 0, keep);
    if let Some(b) = &c.bias {
        c.bias = Some(pick(b, 0, keep));
    }
}

/// Keeps input channels `keep` of a convolution (groups = 1).
pub fn conv_keep_in(c: &mut Conv2d, keep: &[usize]) {
    c.weight = pick(&c.weight, 1, keep);
}

/// Keeps output units `keep` of a linear layer.
pub fn linear_keep_out(l: &mut Linear, keep: &[usize]) {
    l.weight = pick(&l.weight, 1, keep);
    if let Some(b) = &l.bias {
        l.bias = Some(pick(b, 0, keep));
    }
}

/// Keeps input rows `rows` of a linear layer.
pub fn linear_keep_in(l: &mut Linear, rows: &[usize]) {
    l.weight = pick(&l.weight, 0, rows);
}

/// Keeps channels `keep` of a BatchNorm (γ, β and the running statistics).
pub fn bn_keep(bn: &mut BatchNorm, keep: &[usize]) {
    bn.gamma = pick(&bn.gamma, 0, keep);
    bn.beta = pick(&bn.beta, 0, keep);
    let mean = bn.running_mean.value();
    let var = bn.running_var.value();
    let idx = index(keep, &mean);
    bn.running_mean = RunningState::new(mean.select(0, idx.clone()));
    bn.running_var = RunningState::new(var.select(0, idx));
}

/// The channels to keep in each group of `scores` when removing `share` of each by score
/// (L1 norm for [`crate::model::SwastModel::channel_scores`]).
pub fn l1_keeps(scores: &[Vec<f32>], share: f64) -> Vec<Vec<usize>> {
    scores
        .iter()
        .map(|s| top_channels(s, remaining(s.len(), share)))
        .collect()
}

/// The `k` channels of highest score, in ascending index order (ties to the lower index).
pub fn top_channels(score: &[f32], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..score.len()).collect();
    idx.sort_by(|&a, &b| score[b].total_cmp(&score[a]).then(a.cmp(&b)));
    let mut keep: Vec<usize> = idx.into_iter().take(k.max(1).min(score.len())).collect();
    keep.sort_unstable();
    keep
}

/// How many of `n` channels remain when `share` of them is removed (at least one).
pub fn remaining(n: usize, share: f64) -> usize {
    (n - (share * n as f64).round() as usize).max(1)
}
