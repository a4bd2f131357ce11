//! The training loss: cross-entropy (weighted by the selection's weights) plus SWaST-cut's
//! state-preservation term `λ·KL(stored ‖ current)`.

use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::Tensor;

/// The state-preservation targets of one batch.
#[derive(Debug, Clone)]
pub struct KlTargets {
    /// `[B, K]` stored probabilities (rows without a target are ignored).
    pub probs: Tensor<2>,
    /// `[B]` 1 where the row has a target.
    pub mask: Tensor<1>,
    /// λ.
    pub lambda: f64,
}

/// `mean_{i: mask_i = 1} KL(P_i ‖ softmax(z_i))`, `KL = Σ_c P_c (log P_c − log Q_c)`; zero when
/// no row has a target. Gradients flow through `z` only.
pub fn masked_kl(logits: Tensor<2>, targets: &KlTargets) -> Tensor<1> {
    let logq = burn::tensor::activation::log_softmax(logits, 1);
    let p = targets.probs.clone();
    // P·log P with 0·log 0 = 0
    let plogp = p.clone() * p.clone().clamp_min(1e-30).log();
    let kl_rows = (plogp - p * logq).sum_dim(1).squeeze_dim::<1>(1);
    let count = targets.mask.clone().sum().clamp_min(1.0);
    (kl_rows * targets.mask.clone()).sum().div(count)
}

/// The training loss of a batch: cross-entropy (weighted, `Σ wᵢ·(−log softmax(zᵢ)[yᵢ]) / Σ wᵢ`,
/// when selection weights are given) plus `λ·KL(stored ‖ current)` for state preservation.
pub(super) fn step_loss(
    logits: Tensor<2>,
    labels: Tensor<1, burn::tensor::Int>,
    weights: Option<Tensor<1>>,
    kl: Option<&KlTargets>,
) -> Tensor<1> {
    let [n, _] = logits.dims();
    let loss = match weights {
        None => CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits.clone(), labels),
        Some(w) => {
            let logp = burn::tensor::activation::log_softmax(logits.clone(), 1);
            let nll = logp.gather(1, labels.reshape([n, 1])).reshape([n]).neg();
            let total = w.clone().sum().clamp_min(1e-12);
            (nll * w).sum().div(total)
        }
    };
    match kl {
        Some(t) => loss + masked_kl(logits, t).mul_scalar(t.lambda),
        None => loss,
    }
}

/// Number of rows whose arg-max logit equals the label.
pub fn count_correct(logits: Tensor<2>, labels: Tensor<1, burn::tensor::Int>) -> usize {
    let [b, _] = logits.dims();
    let pred = logits.argmax(1).reshape([b]);
    pred.equal(labels).int().sum().into_scalar::<i64>() as usize
}
