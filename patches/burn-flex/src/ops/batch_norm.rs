//! Training-mode batch normalization straight on `[batch, channels, ...]`
//! data: per-channel statistics and the normalization in two passes each way,
//! with no transposed copy of the input or of the output gradient (the
//! default `ModuleOps` implementation swaps the batch and channel axes and
//! makes each contiguous).
//!
//! Sums run in f64 over each channel's values in memory order, so the result
//! does not depend on the number of threads.

use alloc::vec;
use alloc::vec::Vec;
use burn_backend::DType;
use burn_std::{Bytes, Shape};

use super::module::{f32_to_half as down, half_to_f32 as up};
use crate::{FlexTensor, Layout};

pub(crate) trait NormElement:
    bytemuck::Pod + Copy + Send + Sync + burn_backend::Element + num_traits::Float
{
}
impl NormElement for f32 {}
impl NormElement for f64 {}

fn wide<T: NormElement>(v: T) -> f64 {
    num_traits::ToPrimitive::to_f64(&v).unwrap_or(f64::NAN)
}

fn narrow<T: NormElement>(v: f64) -> T {
    <T as num_traits::NumCast>::from(v).unwrap_or_else(T::nan)
}

/// `Σ f(i)` over `0..len`, in eight interleaved lanes of `T` (so it
/// vectorizes), the lanes then added in f64 in a fixed order.
#[inline(always)]
fn lane_sum<T: NormElement>(len: usize, f: impl Fn(usize) -> T) -> f64 {
    let mut acc = [T::zero(); 8];
    let full = len / 8 * 8;
    for base in (0..full).step_by(8) {
        for (l, a) in acc.iter_mut().enumerate() {
            *a = *a + f(base + l);
        }
    }
    for (l, i) in (full..len).enumerate() {
        acc[l] = acc[l] + f(i);
    }
    acc.iter().map(|a| wide(*a)).sum()
}

/// `(batch, channels, values per sample and channel)`.
fn dims(shape: &[usize]) -> (usize, usize, usize) {
    assert!(
        shape.len() >= 2,
        "batch_norm: the input needs a channel axis"
    );
    (shape[0], shape[1], shape[2..].iter().product())
}

fn vector<T: NormElement>(values: Vec<T>, dtype: DType) -> FlexTensor {
    let n = values.len();
    FlexTensor::new(
        Bytes::from_elems(values),
        Layout::contiguous(Shape::from(vec![n])),
        dtype,
    )
}

/// Per-channel `f(c)`, in parallel when rayon is on.
fn per_channel<R: Send>(channels: usize, f: impl Fn(usize) -> R + Send + Sync) -> Vec<R> {
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        (0..channels).into_par_iter().map(f).collect()
    }
    #[cfg(not(feature = "rayon"))]
    {
        (0..channels).map(f).collect()
    }
}

/// `f(c, segment)` over every `(sample, channel)` segment of `out`.
fn per_segment<T: NormElement>(
    out: &mut [T],
    channels: usize,
    inner: usize,
    f: impl Fn(usize, usize, &mut [T]) + Send + Sync,
) {
    if inner == 0 {
        return;
    }
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        out.par_chunks_mut(inner)
            .enumerate()
            .for_each(|(i, seg)| f(i, i % channels, seg));
    }
    #[cfg(not(feature = "rayon"))]
    for (i, seg) in out.chunks_mut(inner).enumerate() {
        f(i, i % channels, seg);
    }
}

/// The values of channel `c`, sample by sample.
fn segments<T: NormElement>(
    data: &[T],
    batch: usize,
    channels: usize,
    inner: usize,
    c: usize,
) -> impl Iterator<Item = &[T]> {
    (0..batch).map(move |b| &data[(b * channels + c) * inner..(b * channels + c + 1) * inner])
}

fn train_typed<T: NormElement>(
    x: FlexTensor,
    gamma: FlexTensor,
    beta: FlexTensor,
    epsilon: f64,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    let x = x.to_contiguous();
    let (gamma, beta) = (gamma.to_contiguous(), beta.to_contiguous());
    let shape = x.layout().shape().clone();
    let (batch, channels, inner) = dims(&shape);
    let xs: &[T] = x.storage();
    let count = (batch * inner) as f64;
    let stats: Vec<(f64, f64)> = per_channel(channels, |c| {
        let sum: f64 = segments(xs, batch, channels, inner, c)
            .map(|s| lane_sum(s.len(), |i| s[i]))
            .sum();
        let mean = sum / count;
        let m = narrow::<T>(mean);
        let sq: f64 = segments(xs, batch, channels, inner, c)
            .map(|s| {
                lane_sum(s.len(), |i| {
                    let d = s[i] - m;
                    d * d
                })
            })
            .sum();
        (mean, sq / count)
    });
    let (gs, bs): (&[T], &[T]) = (gamma.storage(), beta.storage());
    // y = x * scale + shift, per channel
    let coef: Vec<(T, T)> = stats
        .iter()
        .enumerate()
        .map(|(c, &(mean, var))| {
            let scale = wide(gs[c]) / (var + epsilon).sqrt();
            let shift = wide(bs[c]) - mean * scale;
            (narrow::<T>(scale), narrow::<T>(shift))
        })
        .collect();
    let mut out = vec![T::zero(); xs.len()];
    per_segment(&mut out, channels, inner, |i, c, seg| {
        let (scale, shift) = coef[c];
        for (o, v) in seg.iter_mut().zip(&xs[i * inner..(i + 1) * inner]) {
            *o = *v * scale + shift;
        }
    });
    let dtype = x.dtype();
    (
        FlexTensor::new(Bytes::from_elems(out), Layout::contiguous(shape), dtype),
        vector(stats.iter().map(|s| narrow::<T>(s.0)).collect(), dtype),
        vector(stats.iter().map(|s| narrow::<T>(s.1)).collect(), dtype),
    )
}

fn backward_typed<T: NormElement>(
    x: FlexTensor,
    gamma: FlexTensor,
    mean: FlexTensor,
    variance: FlexTensor,
    epsilon: f64,
    output_grad: FlexTensor,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    let x = x.to_contiguous();
    let dy = output_grad.to_contiguous();
    let (gamma, mean, variance) = (
        gamma.to_contiguous(),
        mean.to_contiguous(),
        variance.to_contiguous(),
    );
    let shape = x.layout().shape().clone();
    let (batch, channels, inner) = dims(&shape);
    let (xs, dys): (&[T], &[T]) = (x.storage(), dy.storage());
    let (gs, ms, vs): (&[T], &[T], &[T]) = (gamma.storage(), mean.storage(), variance.storage());
    let inv_std: Vec<f64> = vs
        .iter()
        .map(|v| 1.0 / (wide(*v) + epsilon).sqrt())
        .collect();
    // (Σ dy, Σ dy · x̂) per channel
    let sums: Vec<(f64, f64)> = per_channel(channels, |c| {
        let m = ms[c];
        let (sd, sdx) = segments(xs, batch, channels, inner, c)
            .zip(segments(dys, batch, channels, inner, c))
            .fold((0.0, 0.0), |(sd, sdx), (xseg, dseg)| {
                (
                    sd + lane_sum(dseg.len(), |i| dseg[i]),
                    sdx + lane_sum(dseg.len(), |i| dseg[i] * (xseg[i] - m)),
                )
            });
        (sd, sdx * inv_std[c])
    });
    let count = (batch * inner) as f64;
    // dx = γ·inv_std·(dy − mean(dy) − x̂·mean(dy·x̂)), with x̂ = (x − μ)·inv_std:
    // dx = dy·a + x·b + k per channel.
    let coef: Vec<(T, T, T)> = (0..channels)
        .map(|c| {
            let (m, is) = (wide(ms[c]), inv_std[c]);
            let g = wide(gs[c]) * is;
            let (mean_dy, mean_dyx) = (sums[c].0 / count, sums[c].1 / count);
            let a = g;
            let b = -g * mean_dyx * is;
            let k = -g * mean_dy + g * mean_dyx * is * m;
            (narrow::<T>(a), narrow::<T>(b), narrow::<T>(k))
        })
        .collect();
    let mut dx = vec![T::zero(); xs.len()];
    per_segment(&mut dx, channels, inner, |i, c, seg| {
        let (a, b, k) = coef[c];
        let range = i * inner..(i + 1) * inner;
        for ((o, x), d) in seg.iter_mut().zip(&xs[range.clone()]).zip(&dys[range]) {
            *o = *d * a + *x * b + k;
        }
    });
    let dtype = x.dtype();
    (
        FlexTensor::new(Bytes::from_elems(dx), Layout::contiguous(shape), dtype),
        vector(sums.iter().map(|s| narrow::<T>(s.1)).collect(), dtype),
        vector(sums.iter().map(|s| narrow::<T>(s.0)).collect(), dtype),
    )
}

/// Batch normalization with the batch's own statistics: `(output, mean,
/// biased variance)`.
pub fn batch_norm_train(
    x: FlexTensor,
    gamma: FlexTensor,
    beta: FlexTensor,
    epsilon: f64,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    match x.dtype() {
        DType::F32 => train_typed::<f32>(x, gamma, beta, epsilon),
        DType::F64 => train_typed::<f64>(x, gamma, beta, epsilon),
        dtype => {
            let (o, m, v) = train_typed::<f32>(up(x), up(gamma), up(beta), epsilon);
            (down(o, dtype), down(m, dtype), down(v, dtype))
        }
    }
}

/// Gradients of [`batch_norm_train`]: `(x, gamma, beta)`.
pub fn batch_norm_train_backward(
    x: FlexTensor,
    gamma: FlexTensor,
    mean: FlexTensor,
    variance: FlexTensor,
    epsilon: f64,
    output_grad: FlexTensor,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    match x.dtype() {
        DType::F32 => backward_typed::<f32>(x, gamma, mean, variance, epsilon, output_grad),
        DType::F64 => backward_typed::<f64>(x, gamma, mean, variance, epsilon, output_grad),
        dtype => {
            let (dx, dg, db) = backward_typed::<f32>(
                up(x),
                up(gamma),
                up(mean),
                up(variance),
                epsilon,
                up(output_grad),
            );
            (down(dx, dtype), down(dg, dtype), down(db, dtype))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(data: Vec<f64>, shape: &[usize]) -> FlexTensor {
        FlexTensor::new(
            Bytes::from_elems(data),
            Layout::contiguous(Shape::from(shape.to_vec())),
            DType::F64,
        )
    }

    /// Against the textbook formulas, and the input gradient against central
    /// differences of `Σ output · r` for a fixed `r`.
    #[test]
    fn matches_the_formulas_and_finite_differences() {
        let shape = [3usize, 2, 2, 3];
        let n: usize = shape.iter().product();
        let xs: Vec<f64> = (0..n).map(|i| ((i * 37 % 11) as f64 - 5.0) / 3.0).collect();
        let r: Vec<f64> = (0..n).map(|i| ((i * 13 % 7) as f64 - 3.0) / 2.0).collect();
        let (gamma, beta) = (vec![1.5, -0.5], vec![0.25, 2.0]);
        let eps = 1e-5;
        let run = |xs: &[f64]| {
            batch_norm_train(
                tensor(xs.to_vec(), &shape),
                tensor(gamma.clone(), &[2]),
                tensor(beta.clone(), &[2]),
                eps,
            )
        };
        let (out, mean, var) = run(&xs);
        let (out, mean, var): (Vec<f64>, Vec<f64>, Vec<f64>) = (
            out.storage::<f64>().to_vec(),
            mean.storage::<f64>().to_vec(),
            var.storage::<f64>().to_vec(),
        );
        let inner = 6;
        for c in 0..2 {
            let vals: Vec<f64> = (0..3)
                .flat_map(|b| xs[(b * 2 + c) * inner..(b * 2 + c + 1) * inner].to_vec())
                .collect();
            let m = vals.iter().sum::<f64>() / vals.len() as f64;
            let v = vals.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / vals.len() as f64;
            assert!((mean[c] - m).abs() < 1e-12 && (var[c] - v).abs() < 1e-12);
            for b in 0..3 {
                for j in 0..inner {
                    let i = (b * 2 + c) * inner + j;
                    let want = (xs[i] - m) / (v + eps).sqrt() * gamma[c] + beta[c];
                    assert!((out[i] - want).abs() < 1e-12, "output {i}");
                }
            }
        }
        let (dx, dgamma, dbeta) = batch_norm_train_backward(
            tensor(xs.clone(), &shape),
            tensor(gamma.clone(), &[2]),
            tensor(mean.clone(), &[2]),
            tensor(var.clone(), &[2]),
            eps,
            tensor(r.clone(), &[3, 2, 2, 3]),
        );
        let loss = |xs: &[f64]| {
            let (o, _, _) = run(xs);
            o.storage::<f64>()
                .iter()
                .zip(&r)
                .map(|(o, r)| o * r)
                .sum::<f64>()
        };
        let dx: &[f64] = dx.storage();
        for i in 0..n {
            let h = 1e-6;
            let (mut p, mut q) = (xs.clone(), xs.clone());
            p[i] += h;
            q[i] -= h;
            let fd = (loss(&p) - loss(&q)) / (2.0 * h);
            assert!((dx[i] - fd).abs() < 1e-6, "dx[{i}] = {} vs {fd}", dx[i]);
        }
        let (dg, db): (&[f64], &[f64]) = (dgamma.storage(), dbeta.storage());
        for c in 0..2 {
            let (mut g_sum, mut b_sum) = (0.0, 0.0);
            for b in 0..3 {
                for j in 0..inner {
                    let i = (b * 2 + c) * inner + j;
                    b_sum += r[i];
                    g_sum += r[i] * (xs[i] - mean[c]) / (var[c] + eps).sqrt();
                }
            }
            assert!((dg[c] - g_sum).abs() < 1e-9 && (db[c] - b_sum).abs() < 1e-9);
        }
    }
}
