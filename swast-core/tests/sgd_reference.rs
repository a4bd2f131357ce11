//! `MaskedSgd` against PyTorch's `torch.optim.SGD` (momentum 0.9, Nesterov, weight decay
//! 5e-4, dampening 0) on a 3→2 linear layer with an MSE loss, four steps at lr 0.1.
//!
//! The expected values were printed by PyTorch 2.9.0 (CPU) with this script:
//!
//! ```python
//! import torch
//! w = torch.tensor([[0.5, -0.3, 0.2], [0.1, 0.4, -0.6]], dtype=torch.float32, requires_grad=True)
//! b = torch.tensor([0.05, -0.1], dtype=torch.float32, requires_grad=True)
//! x = torch.tensor([[1.0, 2.0, -1.0], [0.5, -0.5, 1.5], [-1.0, 0.0, 2.0], [2.0, 1.0, 0.0]])
//! y = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, -0.5], [-1.0, 2.0]])
//! opt = torch.optim.SGD([w, b], lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
//! for step in range(4):
//!     opt.zero_grad()
//!     loss = ((x @ w.T + b - y) ** 2).mean()
//!     loss.backward()
//!     opt.step()
//!     print(step, [round(v, 8) for v in w.detach().flatten().tolist()],
//!           [round(v, 8) for v in b.detach().tolist()])
//! ```

use burn::module::Param;
use burn::nn::{Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use swast_core::optim::{MaskedSgd, SgdSettings};

/// PyTorch's weight (`[out, in]`, row-major) and bias after each step, as printed (8 decimals).
#[allow(clippy::excessive_precision)]
const EXPECTED: [([f32; 6], [f32; 2]); 4] = [
    (
        [
            0.34914002,
            -0.24653402,
            0.13941851,
            0.184303,
            0.28714952,
            -0.29475549,
        ],
        [0.01674525, 0.04963451],
    ),
    (
        [
            0.16671763, -0.1607053, 0.0686885, 0.31446567, 0.16142888, 0.01197169,
        ],
        [-0.00560538, 0.20175801],
    ),
    (
        [
            -0.02564424,
            -0.04578565,
            0.00013173,
            0.47965944,
            0.03761245,
            0.25473762,
        ],
        [-0.00590441, 0.31929043],
    ),
    (
        [
            -0.21368353,
            0.08986127,
            -0.0572389,
            0.66209829,
            -0.07956825,
            0.40363252,
        ],
        [0.0196127, 0.38080773],
    ),
];

fn tensor<const D: usize>(v: Vec<f32>, shape: [usize; D], dev: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(v, shape), dev)
}

#[test]
fn masked_sgd_matches_pytorch_sgd_with_nesterov_and_weight_decay() {
    let dev = Device::flex().autodiff();
    let mut lin: Linear = LinearConfig::new(3, 2).init(&dev);
    // burn stores the weight as [in, out]: the transpose of PyTorch's
    let w0 = [0.5f32, -0.3, 0.2, 0.1, 0.4, -0.6];
    let transposed: Vec<f32> = (0..3)
        .flat_map(|i| (0..2).map(move |o| w0[o * 3 + i]))
        .collect();
    lin.weight = Param::from_tensor(tensor(transposed, [3, 2], &dev));
    lin.bias = Some(Param::from_tensor(tensor(vec![0.05, -0.1], [2], &dev)));
    let x = tensor(
        vec![
            1.0, 2.0, -1.0, 0.5, -0.5, 1.5, -1.0, 0.0, 2.0, 2.0, 1.0, 0.0,
        ],
        [4, 3],
        &dev,
    );
    let y = tensor(vec![1.0, 0.0, 0.0, 1.0, 0.5, -0.5, -1.0, 2.0], [4, 2], &dev);
    let mut opt = MaskedSgd::new(SgdSettings {
        momentum: 0.9,
        nesterov: true,
        weight_decay: 5e-4,
    });
    for (step, (want_w, want_b)) in EXPECTED.iter().enumerate() {
        let loss = (lin.forward(x.clone()) - y.clone()).square().mean();
        let grads = GradientsParams::from_grads(loss.backward(), &lin);
        lin = opt.step(0.1, lin, grads, None);
        let w: Vec<f32> = lin.weight.val().into_data().iter::<f32>().collect();
        let b: Vec<f32> = lin
            .bias
            .as_ref()
            .unwrap()
            .val()
            .into_data()
            .iter::<f32>()
            .collect();
        for o in 0..2 {
            for i in 0..3 {
                let (got, want) = (w[i * 2 + o], want_w[o * 3 + i]);
                assert!(
                    (got - want).abs() < 2e-6,
                    "step {step}: weight[{o}][{i}] = {got}, PyTorch {want}"
                );
            }
            assert!(
                (b[o] - want_b[o]).abs() < 2e-6,
                "step {step}: bias[{o}] = {}, PyTorch {}",
                b[o],
                want_b[o]
            );
        }
    }
}
