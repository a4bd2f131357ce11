//! 2D convolution as per-sample im2col + gemm on NCHW data: the forward pass
//! and both backward passes.
//!
//! For one sample and one group, with `K = c_in/groups * kh * kw` and
//! `N = out_h * out_w`, the im2col matrix `col` is `[K, N]` in the row order
//! of the weight's own `[c_out, c_in/groups, kh, kw]` layout, so that:
//!
//! - forward: `out[b] = W · col[b]`, written straight into the NCHW output
//!   (no NHWC copy of the input, no transposed weight, no scatter);
//! - input gradient: `col_grad = Wᵀ · dy[b]`, then `col2im` adds it into
//!   `dx[b]` (no transposed convolution, no flipped weight);
//! - weight gradient: `dW = Σ_b dy[b] · col[b]ᵀ`, summed over fixed chunks
//!   of the batch (one partial a chunk, added in chunk order), so the result
//!   does not depend on the number of threads.
//!
//! Samples run in parallel; each gemm is single-threaded. The default
//! backward passes (`burn_backend`'s generic ones) build the weight gradient
//! as a convolution whose "batch" is `c_in` and whose reduction runs over
//! `batch * out_h * out_w`, and the input gradient as a transposed
//! convolution: both reach `conv3d_impl` through layout copies.

use alloc::vec;
use alloc::vec::Vec;
use burn_backend::DType;
use burn_backend::ops::ConvOptions;
use burn_std::{Bytes, Shape};
use core::mem::MaybeUninit;

use super::module::{f32_to_half as down, half_to_f32 as up};
use crate::{FlexTensor, Layout};

/// Samples per partial weight gradient. Fixed (not derived from the thread
/// count) so the summation order, and with it every bit of the result, is the
/// same on any machine.
const WEIGHT_GRAD_CHUNK: usize = 8;

/// The geometry of one 2D convolution.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    batch: usize,
    c_in: usize,
    h: usize,
    w: usize,
    c_out: usize,
    groups: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    ph: usize,
    pw: usize,
    dh: usize,
    dw: usize,
    oh: usize,
    ow: usize,
}

impl Geometry {
    fn new(x_shape: &[usize], w_shape: &[usize], options: &ConvOptions<2>) -> Self {
        let [batch, c_in, h, w] = [x_shape[0], x_shape[1], x_shape[2], x_shape[3]];
        let [c_out, _, kh, kw] = [w_shape[0], w_shape[1], w_shape[2], w_shape[3]];
        let [ph, pw] = options.padding_begin();
        let [pe_h, pe_w] = options.padding_end();
        let out = |input: usize, begin: usize, end: usize, k: usize, s: usize, d: usize| {
            (input + begin + end - d * (k - 1) - 1) / s + 1
        };
        Self {
            batch,
            c_in,
            h,
            w,
            c_out,
            groups: options.groups,
            kh,
            kw,
            sh: options.stride[0],
            sw: options.stride[1],
            ph,
            pw,
            dh: options.dilation[0],
            dw: options.dilation[1],
            oh: out(h, ph, pe_h, kh, options.stride[0], options.dilation[0]),
            ow: out(w, pw, pe_w, kw, options.stride[1], options.dilation[1]),
        }
    }

    fn cpg(&self) -> usize {
        self.c_in / self.groups
    }
    fn opg(&self) -> usize {
        self.c_out / self.groups
    }
    /// Rows of one group's im2col matrix.
    fn k(&self) -> usize {
        self.cpg() * self.kh * self.kw
    }
    /// Columns of the im2col matrix: output positions of one sample.
    fn n(&self) -> usize {
        self.oh * self.ow
    }
    fn in_len(&self) -> usize {
        self.c_in * self.h * self.w
    }
    fn out_len(&self) -> usize {
        self.c_out * self.n()
    }
    /// A 1×1, stride-1, unpadded convolution: the im2col matrix is the input.
    fn is_pointwise(&self) -> bool {
        self.kh == 1
            && self.kw == 1
            && self.sh == 1
            && self.sw == 1
            && self.ph == 0
            && self.pw == 0
            && self.oh == self.h
            && self.ow == self.w
    }

    /// Stride 1 and no dilation: each im2col row is then `oh` runs of `ow`
    /// contiguous elements of the zero-padded input plane.
    fn is_unit(&self) -> bool {
        self.sh == 1 && self.sw == 1 && self.dh == 1 && self.dw == 1
    }
    /// Height and width of the zero-padded input plane of a unit convolution:
    /// `h + pad_top + pad_bottom` by `w + pad_left + pad_right`, so the input
    /// lies whole inside it at `(ph, pw)`.
    fn padded(&self) -> (usize, usize) {
        (self.oh + self.kh - 1, self.ow + self.kw - 1)
    }
    /// A unit convolution with some padding: im2col and col2im go through a
    /// zero-padded plane rather than the input plane itself.
    fn pads(&self) -> bool {
        self.is_unit() && self.padded() != (self.h, self.w)
    }
    /// Scratch elements [`im2col`] and [`col2im`] need: the `[K, N]` matrix,
    /// and for a padded unit convolution one zero-padded plane.
    fn col_scratch(&self) -> usize {
        let (hp, wp) = self.padded();
        self.k() * self.n() + if self.pads() { hp * wp } else { 0 }
    }

    /// The output columns `ox` whose input column `ox * sw + off` lies in `[0, w)`.
    fn valid_ox(&self, off: isize) -> (usize, usize) {
        let lo = if off >= 0 {
            0
        } else {
            ((-off) as usize).div_ceil(self.sw)
        };
        let hi = if (self.w as isize) <= off {
            0
        } else {
            (self.w as isize - off) as usize
        }
        .div_ceil(self.sw)
        .min(self.ow);
        (lo.min(hi), hi)
    }
}

/// The element types the gemm kernels run on natively.
pub(crate) trait GemmElement:
    bytemuck::Pod
    + Copy
    + Send
    + Sync
    + 'static
    + num_traits::Zero
    + num_traits::One
    + core::ops::AddAssign
    + burn_backend::Element
{
}
impl GemmElement for f32 {}
impl GemmElement for f64 {}

/// `dst (m×n) (+)= lhs (m×k) · rhs (k×n)`, every matrix given by its
/// row stride and column stride, on one thread.
#[allow(clippy::too_many_arguments)]
fn gemm<T: GemmElement>(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [T],
    dst_rs: usize,
    accumulate: bool,
    lhs: &[T],
    lhs_rs: usize,
    lhs_cs: usize,
    rhs: &[T],
    rhs_rs: usize,
    rhs_cs: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    debug_assert!(dst.len() >= (m - 1) * dst_rs + n);
    debug_assert!(k == 0 || lhs.len() > (m - 1) * lhs_rs + (k - 1) * lhs_cs);
    debug_assert!(k == 0 || rhs.len() > (k - 1) * rhs_rs + (n - 1) * rhs_cs);
    // SAFETY: the strides and extents above stay inside the three slices,
    // and `dst` does not alias `lhs` or `rhs` (it is borrowed mutably).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_rs as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_cs as isize,
            lhs_rs as isize,
            rhs.as_ptr(),
            rhs_cs as isize,
            rhs_rs as isize,
            T::one(),
            T::one(),
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Each of `groups` consecutive `rows × cols` row-major blocks of `src`, transposed
/// (`cols × rows`), in a new buffer.
fn transpose_groups<T: Copy>(src: &[T], groups: usize, rows: usize, cols: usize) -> Vec<T> {
    let len = rows * cols;
    let mut out = Vec::with_capacity(groups * len);
    for block in src[..groups * len].chunks_exact(len.max(1)) {
        for c in 0..cols {
            out.extend((0..rows).map(|r| block[r * cols + c]));
        }
    }
    out
}

/// `dst = src` for the short rows of im2col: whole 8-element blocks (the
/// last one overlapping the one before), which compile to a few vector moves
/// where `copy_from_slice` calls `memmove` for every row.
#[inline(always)]
fn copy_row<T: Copy>(dst: &mut [T], src: &[T]) {
    let n = dst.len();
    if n < 8 {
        dst.copy_from_slice(&src[..n]);
        return;
    }
    let mut i = 0;
    while i + 8 <= n {
        let d: &mut [T; 8] = (&mut dst[i..i + 8]).try_into().unwrap();
        *d = src[i..i + 8].try_into().unwrap();
        i += 8;
    }
    if i < n {
        let d: &mut [T; 8] = (&mut dst[n - 8..n]).try_into().unwrap();
        *d = src[n - 8..n].try_into().unwrap();
    }
}

/// Fills `scratch[..K * N]` (the `[K, N]` matrix `col`) with group `group` of
/// one sample `x` (`[c_in, h, w]`); the rest of `scratch` (see
/// [`Geometry::col_scratch`]) is working space.
fn im2col<T: GemmElement>(g: &Geometry, x: &[T], group: usize, scratch: &mut [T]) {
    if g.is_unit() {
        im2col_unit(g, x, group, scratch);
        return;
    }
    let n = g.n();
    let col = scratch;
    let mut row = 0;
    for ci in group * g.cpg()..(group + 1) * g.cpg() {
        let plane = &x[ci * g.h * g.w..(ci + 1) * g.h * g.w];
        for ki in 0..g.kh {
            for kj in 0..g.kw {
                let dst = &mut col[row * n..(row + 1) * n];
                row += 1;
                let off_w = (kj * g.dw) as isize - g.pw as isize;
                let (lo, hi) = g.valid_ox(off_w);
                for oy in 0..g.oh {
                    let out_row = &mut dst[oy * g.ow..(oy + 1) * g.ow];
                    let iy = (oy * g.sh + ki * g.dh) as isize - g.ph as isize;
                    if iy < 0 || iy >= g.h as isize || lo >= hi {
                        out_row.fill(T::zero());
                        continue;
                    }
                    let src = &plane[iy as usize * g.w..(iy as usize + 1) * g.w];
                    out_row[..lo].fill(T::zero());
                    out_row[hi..].fill(T::zero());
                    let start = (lo as isize * g.sw as isize + off_w) as usize;
                    if g.sw == 1 {
                        out_row[lo..hi].copy_from_slice(&src[start..start + (hi - lo)]);
                    } else {
                        for (o, s) in out_row[lo..hi]
                            .iter_mut()
                            .zip(src[start..].iter().step_by(g.sw))
                        {
                            *o = *s;
                        }
                    }
                }
            }
        }
    }
}

/// [`im2col`] for stride 1 and no dilation: each input plane is copied once
/// into a zero-padded plane (unless unpadded), after which every row of `col`
/// is `oh` runs of `ow` contiguous elements with no bound to check.
fn im2col_unit<T: GemmElement>(g: &Geometry, x: &[T], group: usize, scratch: &mut [T]) {
    let (k, n) = (g.k(), g.n());
    let (hp, wp) = g.padded();
    let (col, pad) = scratch.split_at_mut(k * n);
    let padded = g.pads();
    let mut row = 0;
    for ci in group * g.cpg()..(group + 1) * g.cpg() {
        let input = &x[ci * g.h * g.w..(ci + 1) * g.h * g.w];
        let plane: &[T] = if padded {
            let pad = &mut pad[..hp * wp];
            pad.fill(T::zero());
            for (y, src) in input.chunks_exact(g.w).enumerate() {
                let at = (y + g.ph) * wp + g.pw;
                pad[at..at + g.w].copy_from_slice(src);
            }
            pad
        } else {
            input
        };
        for ki in 0..g.kh {
            for kj in 0..g.kw {
                let dst = &mut col[row * n..(row + 1) * n];
                row += 1;
                for (oy, out_row) in dst.chunks_exact_mut(g.ow).enumerate() {
                    let at = (oy + ki) * wp + kj;
                    copy_row(out_row, &plane[at..at + g.ow]);
                }
            }
        }
    }
}

/// Adds `col` (`[K, N]`, group `group`) into one sample's input gradient `dx`;
/// `pad` is working space of [`Geometry::col_scratch`] elements.
fn col2im<T: GemmElement>(g: &Geometry, col: &[T], group: usize, dx: &mut [T], pad: &mut [T]) {
    if g.is_unit() {
        col2im_unit(g, col, group, dx, pad);
        return;
    }
    let n = g.n();
    let mut row = 0;
    for ci in group * g.cpg()..(group + 1) * g.cpg() {
        let plane = &mut dx[ci * g.h * g.w..(ci + 1) * g.h * g.w];
        for ki in 0..g.kh {
            for kj in 0..g.kw {
                let src = &col[row * n..(row + 1) * n];
                row += 1;
                let off_w = (kj * g.dw) as isize - g.pw as isize;
                let (lo, hi) = g.valid_ox(off_w);
                if lo >= hi {
                    continue;
                }
                for oy in 0..g.oh {
                    let iy = (oy * g.sh + ki * g.dh) as isize - g.ph as isize;
                    if iy < 0 || iy >= g.h as isize {
                        continue;
                    }
                    let in_row = &mut plane[iy as usize * g.w..(iy as usize + 1) * g.w];
                    let grad = &src[oy * g.ow + lo..oy * g.ow + hi];
                    let start = (lo as isize * g.sw as isize + off_w) as usize;
                    if g.sw == 1 {
                        for (d, s) in in_row[start..start + grad.len()].iter_mut().zip(grad) {
                            *d += *s;
                        }
                    } else {
                        for (d, s) in in_row[start..].iter_mut().step_by(g.sw).zip(grad) {
                            *d += *s;
                        }
                    }
                }
            }
        }
    }
}

/// [`col2im`] for stride 1 and no dilation: each row of `col` is `oh` runs of
/// `ow` contiguous elements added into the zero-padded plane (the input plane
/// itself when unpadded), whose interior is then added into `dx`. Every
/// element of `dx` gets the additions of the generic loop, in the same order
/// (a padded plane starts at zero, as `dx` does).
fn col2im_unit<T: GemmElement>(g: &Geometry, col: &[T], group: usize, dx: &mut [T], pad: &mut [T]) {
    let n = g.n();
    let (hp, wp) = g.padded();
    let padded = g.pads();
    let mut row = 0;
    for ci in group * g.cpg()..(group + 1) * g.cpg() {
        let out = &mut dx[ci * g.h * g.w..(ci + 1) * g.h * g.w];
        let plane: &mut [T] = if padded {
            let pad = &mut pad[..hp * wp];
            pad.fill(T::zero());
            pad
        } else {
            out
        };
        for ki in 0..g.kh {
            for kj in 0..g.kw {
                let src = &col[row * n..(row + 1) * n];
                row += 1;
                for (oy, grad) in src.chunks_exact(g.ow).enumerate() {
                    let at = (oy + ki) * wp + kj;
                    for (d, s) in plane[at..at + g.ow].iter_mut().zip(grad) {
                        *d += *s;
                    }
                }
            }
        }
        if padded {
            let out = &mut dx[ci * g.h * g.w..(ci + 1) * g.h * g.w];
            for (y, dst) in out.chunks_exact_mut(g.w).enumerate() {
                let at = (y + g.ph) * wp + g.pw;
                for (d, s) in dst.iter_mut().zip(&pad[at..at + g.w]) {
                    *d += *s;
                }
            }
        }
    }
}

/// Runs `f(sample, chunk)` over `data` cut into chunks of `len`, in parallel
/// when rayon is on; `f` gets a scratch buffer of `scratch` elements.
fn for_each_sample<T: GemmElement>(
    data: &mut [T],
    len: usize,
    scratch: usize,
    f: impl Fn(usize, &mut [T], &mut Vec<T>) + Send + Sync,
) {
    for_each_chunk(data, len, scratch, f);
}

/// [`for_each_sample`] over chunks of any element type `E`.
fn for_each_chunk<E: Send, T: GemmElement>(
    data: &mut [E],
    len: usize,
    scratch: usize,
    f: impl Fn(usize, &mut [E], &mut Vec<T>) + Send + Sync,
) {
    if len == 0 {
        return;
    }
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        data.par_chunks_mut(len).enumerate().for_each_init(
            || vec![T::zero(); scratch],
            |buf, (b, chunk)| f(b, chunk, buf),
        );
    }
    #[cfg(not(feature = "rayon"))]
    {
        let mut buf = vec![T::zero(); scratch];
        for (b, chunk) in data.chunks_mut(len).enumerate() {
            f(b, chunk, &mut buf);
        }
    }
}

/// [`for_each_sample`] on a new buffer of `count` chunks of `len`, each chunk
/// zeroed by the thread that then runs `f` on it: the buffer is written while
/// in that thread's cache, not zeroed up front on one thread.
fn for_each_new_sample<T: GemmElement>(
    count: usize,
    len: usize,
    scratch: usize,
    f: impl Fn(usize, &mut [T], &mut Vec<T>) + Send + Sync,
) -> Vec<T> {
    let total = count * len;
    let mut out: Vec<T> = Vec::with_capacity(total);
    let spare = &mut out.spare_capacity_mut()[..total];
    for_each_chunk(
        spare,
        len,
        scratch,
        |b, chunk: &mut [MaybeUninit<T>], buf| {
            for v in chunk.iter_mut() {
                v.write(T::zero());
            }
            // SAFETY: every element of `chunk` was written just above, and
            // `MaybeUninit<T>` has the layout of `T`.
            let chunk = unsafe { &mut *(chunk as *mut [MaybeUninit<T>] as *mut [T]) };
            f(b, chunk, buf);
        },
    );
    // SAFETY: the loop above initialized all `total` elements (with `len == 0`,
    // `total` is 0).
    unsafe { out.set_len(total) };
    out
}

fn conv2d_typed<T: GemmElement>(
    x: FlexTensor,
    weight: FlexTensor,
    bias: Option<FlexTensor>,
    options: &ConvOptions<2>,
) -> FlexTensor {
    let x = x.to_contiguous();
    let weight = weight.to_contiguous();
    let g = Geometry::new(x.layout().shape(), weight.layout().shape(), options);
    let (xs, ws): (&[T], &[T]) = (x.storage(), weight.storage());
    let (k, n, opg) = (g.k(), g.n(), g.opg());
    let pointwise = g.is_pointwise();
    let bias = bias.map(|b| b.to_contiguous());
    let bias: Option<&[T]> = bias.as_ref().map(|b| b.storage());
    let out = for_each_new_sample(
        g.batch,
        g.out_len(),
        if pointwise { 0 } else { g.col_scratch() },
        |b, dst, col| {
            let sample = &xs[b * g.in_len()..(b + 1) * g.in_len()];
            for group in 0..g.groups {
                let col: &[T] = if pointwise {
                    &sample[group * k * n..(group + 1) * k * n]
                } else {
                    im2col(&g, sample, group, col);
                    &col[..k * n]
                };
                gemm(
                    opg,
                    n,
                    k,
                    &mut dst[group * opg * n..(group + 1) * opg * n],
                    n,
                    false,
                    &ws[group * opg * k..(group + 1) * opg * k],
                    k,
                    1,
                    col,
                    n,
                    1,
                );
            }
            // The bias is added after the product, as one rounding per element.
            if let Some(bias) = bias {
                for (plane, &bc) in dst.chunks_exact_mut(n).zip(bias) {
                    for v in plane {
                        *v += bc;
                    }
                }
            }
        },
    );
    let shape = Shape::from(vec![g.batch, g.c_out, g.oh, g.ow]);
    FlexTensor::new(Bytes::from_elems(out), Layout::contiguous(shape), x.dtype())
}

fn conv2d_x_backward_typed<T: GemmElement>(
    x: FlexTensor,
    weight: FlexTensor,
    output_grad: FlexTensor,
    options: &ConvOptions<2>,
) -> FlexTensor {
    let weight = weight.to_contiguous();
    let grad = output_grad.to_contiguous();
    let g = Geometry::new(x.layout().shape(), weight.layout().shape(), options);
    let (ws, gs): (&[T], &[T]) = (weight.storage(), grad.storage());
    let (k, n, opg) = (g.k(), g.n(), g.opg());
    let pointwise = g.is_pointwise();
    // Each group's weight transposed once per call (`[K, opg]`): gemm reads it in place,
    // where the `[opg, K]` weight had to be packed again for every sample. A copy: the
    // products and their sums are the same.
    let wt = transpose_groups(ws, g.groups, opg, k);
    let mut dx = vec![T::zero(); g.batch * g.in_len()];
    for_each_sample(
        &mut dx,
        g.in_len(),
        if pointwise { 0 } else { g.col_scratch() },
        |b, dst, scratch| {
            let dy = &gs[b * g.out_len()..(b + 1) * g.out_len()];
            for group in 0..g.groups {
                let wt = &wt[group * opg * k..(group + 1) * opg * k];
                let dy = &dy[group * opg * n..(group + 1) * opg * n];
                if pointwise {
                    // The input gradient is the im2col gradient itself.
                    let out = &mut dst[group * k * n..(group + 1) * k * n];
                    gemm(k, n, opg, out, n, false, wt, opg, 1, dy, n, 1);
                } else {
                    let (col, pad) = scratch.split_at_mut(k * n);
                    gemm(k, n, opg, col, n, false, wt, opg, 1, dy, n, 1);
                    col2im(&g, col, group, dst, pad);
                }
            }
        },
    );
    FlexTensor::new(
        Bytes::from_elems(dx),
        Layout::contiguous(Shape::from(vec![g.batch, g.c_in, g.h, g.w])),
        x.dtype(),
    )
}

fn conv2d_weight_backward_typed<T: GemmElement>(
    x: FlexTensor,
    weight: FlexTensor,
    output_grad: FlexTensor,
    options: &ConvOptions<2>,
) -> FlexTensor {
    let x = x.to_contiguous();
    let grad = output_grad.to_contiguous();
    let w_shape = weight.layout().shape().clone();
    let g = Geometry::new(x.layout().shape(), &w_shape, options);
    let (xs, gs): (&[T], &[T]) = (x.storage(), grad.storage());
    let (k, n, opg) = (g.k(), g.n(), g.opg());
    let pointwise = g.is_pointwise();
    let w_len = g.c_out * k;
    let chunks = g.batch.div_ceil(WEIGHT_GRAD_CHUNK);
    // One partial gradient per chunk of samples, then their sum in chunk order.
    let mut partials = vec![T::zero(); chunks * w_len];
    for_each_sample(
        &mut partials,
        w_len,
        if pointwise { 0 } else { g.col_scratch() },
        |c, dw, col| {
            let end = ((c + 1) * WEIGHT_GRAD_CHUNK).min(g.batch);
            for (i, b) in (c * WEIGHT_GRAD_CHUNK..end).enumerate() {
                let sample = &xs[b * g.in_len()..(b + 1) * g.in_len()];
                let dy = &gs[b * g.out_len()..(b + 1) * g.out_len()];
                for group in 0..g.groups {
                    let col: &[T] = if pointwise {
                        &sample[group * k * n..(group + 1) * k * n]
                    } else {
                        im2col(&g, sample, group, col);
                        &col[..k * n]
                    };
                    // dW_gᵀ (K × opg) += col (K × N) · dy_gᵀ (N × opg): gemm reads the
                    // im2col matrix in place and packs dy, 9× smaller for a 3×3 kernel,
                    // where dW_g = dy_g · colᵀ made it gather the im2col matrix, transposed,
                    // for every sample. Each entry is the same sum over N, in the same order.
                    gemm(
                        k,
                        opg,
                        n,
                        &mut dw[group * opg * k..(group + 1) * opg * k],
                        opg,
                        i > 0,
                        col,
                        n,
                        1,
                        &dy[group * opg * n..(group + 1) * opg * n],
                        1,
                        n,
                    );
                }
            }
        },
    );
    let mut dwt = partials[..w_len].to_vec();
    for partial in partials[w_len..].chunks(w_len) {
        for (d, p) in dwt.iter_mut().zip(partial) {
            *d += *p;
        }
    }
    // each group's `[K, opg]` sum back to the weight's `[opg, K]`
    let dw = transpose_groups(&dwt, g.groups, k, opg);
    FlexTensor::new(
        Bytes::from_elems(dw),
        Layout::contiguous(w_shape),
        weight.dtype(),
    )
}

/// Forward 2D convolution (im2col + gemm, NCHW). Any padding, stride,
/// dilation and group count; f16 and bf16 run in f32.
pub fn conv2d(
    x: FlexTensor,
    weight: FlexTensor,
    bias: Option<FlexTensor>,
    options: &ConvOptions<2>,
) -> FlexTensor {
    match x.dtype() {
        DType::F32 => conv2d_typed::<f32>(x, weight, bias, options),
        DType::F64 => conv2d_typed::<f64>(x, weight, bias, options),
        dtype => down(
            conv2d_typed::<f32>(up(x), up(weight), bias.map(up), options),
            dtype,
        ),
    }
}

/// The gradient of [`conv2d`] with respect to its input.
pub fn conv2d_x_backward(
    x: FlexTensor,
    weight: FlexTensor,
    output_grad: FlexTensor,
    options: &ConvOptions<2>,
) -> FlexTensor {
    match x.dtype() {
        DType::F32 => conv2d_x_backward_typed::<f32>(x, weight, output_grad, options),
        DType::F64 => conv2d_x_backward_typed::<f64>(x, weight, output_grad, options),
        dtype => down(
            conv2d_x_backward_typed::<f32>(up(x), up(weight), up(output_grad), options),
            dtype,
        ),
    }
}

/// The gradient of [`conv2d`] with respect to its weight.
pub fn conv2d_weight_backward(
    x: FlexTensor,
    weight: FlexTensor,
    output_grad: FlexTensor,
    options: &ConvOptions<2>,
) -> FlexTensor {
    match x.dtype() {
        DType::F32 => conv2d_weight_backward_typed::<f32>(x, weight, output_grad, options),
        DType::F64 => conv2d_weight_backward_typed::<f64>(x, weight, output_grad, options),
        dtype => down(
            conv2d_weight_backward_typed::<f32>(up(x), up(weight), up(output_grad), options),
            dtype,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeded(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    fn tensor(data: Vec<f32>, shape: &[usize]) -> FlexTensor {
        FlexTensor::new(
            Bytes::from_elems(data),
            Layout::contiguous(Shape::from(shape.to_vec())),
            DType::F32,
        )
    }

    /// Direct convolution in f64: output, input gradient and weight gradient
    /// for the output gradient `dy`.
    fn naive(x: &[f32], w: &[f32], dy: &[f32], g: &Geometry) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut out = vec![0f64; g.batch * g.out_len()];
        let mut dx = vec![0f64; g.batch * g.in_len()];
        let mut dw = vec![0f64; g.c_out * g.k()];
        for b in 0..g.batch {
            for co in 0..g.c_out {
                let group = co / g.opg();
                for oy in 0..g.oh {
                    for ox in 0..g.ow {
                        let o = b * g.out_len() + co * g.n() + oy * g.ow + ox;
                        for cl in 0..g.cpg() {
                            let ci = group * g.cpg() + cl;
                            for ki in 0..g.kh {
                                for kj in 0..g.kw {
                                    let iy = (oy * g.sh + ki * g.dh) as isize - g.ph as isize;
                                    let ix = (ox * g.sw + kj * g.dw) as isize - g.pw as isize;
                                    if iy < 0 || ix < 0 || iy >= g.h as isize || ix >= g.w as isize
                                    {
                                        continue;
                                    }
                                    let xi = b * g.in_len()
                                        + ci * g.h * g.w
                                        + iy as usize * g.w
                                        + ix as usize;
                                    let wi = co * g.k() + (cl * g.kh + ki) * g.kw + kj;
                                    out[o] += x[xi] as f64 * w[wi] as f64;
                                    dx[xi] += dy[o] as f64 * w[wi] as f64;
                                    dw[wi] += dy[o] as f64 * x[xi] as f64;
                                }
                            }
                        }
                    }
                }
            }
        }
        (out, dx, dw)
    }

    fn assert_close(got: &[f32], want: &[f64], what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: length");
        let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (*g as f64 - w).abs() <= 1e-5 * scale,
                "{what}[{i}]: got {g}, want {w}"
            );
        }
    }

    /// (batch, c_in, h, w, c_out, kh, kw, stride, padding begin, padding end, dilation, groups)
    type Case = (
        usize,
        usize,
        usize,
        usize,
        usize,
        usize,
        usize,
        [usize; 2],
        [usize; 2],
        [usize; 2],
        [usize; 2],
        usize,
    );

    const CASES: &[Case] = &[
        (2, 3, 8, 8, 4, 3, 3, [1, 1], [1, 1], [1, 1], [1, 1], 1),
        (3, 1, 28, 28, 6, 5, 5, [1, 1], [2, 2], [2, 2], [1, 1], 1),
        (2, 6, 14, 14, 16, 5, 5, [1, 1], [0, 0], [0, 0], [1, 1], 1),
        (2, 4, 9, 7, 6, 3, 3, [2, 2], [1, 1], [1, 1], [1, 1], 1),
        (2, 4, 8, 8, 8, 1, 1, [1, 1], [0, 0], [0, 0], [1, 1], 1),
        (2, 4, 8, 8, 8, 1, 1, [2, 2], [0, 0], [0, 0], [1, 1], 1),
        (1, 2, 10, 9, 3, 3, 2, [2, 3], [0, 1], [2, 0], [2, 1], 1),
        (2, 4, 7, 7, 6, 3, 3, [1, 1], [1, 1], [1, 1], [1, 1], 2),
        (2, 4, 6, 6, 4, 3, 3, [1, 1], [1, 1], [1, 1], [1, 1], 4),
        (1, 2, 3, 3, 2, 5, 5, [1, 1], [2, 2], [2, 2], [1, 1], 1),
        (17, 3, 5, 5, 2, 3, 3, [1, 1], [1, 1], [1, 1], [1, 1], 1),
        // Unit stride, asymmetric padding, rows of 12 (an overlapping last block).
        (2, 2, 11, 13, 3, 3, 4, [1, 1], [0, 2], [1, 0], [1, 1], 1),
    ];

    #[test]
    fn matches_a_direct_convolution_forward_and_backward() {
        for (case, c) in CASES.iter().enumerate() {
            let &(batch, c_in, h, w, c_out, kh, kw, stride, pb, pe, dilation, groups) = c;
            let padding = core::array::from_fn(|i| (pb[i], pe[i]));
            let options = ConvOptions::new_with_padding(stride, padding, dilation, groups);
            let x_shape = [batch, c_in, h, w];
            let w_shape = [c_out, c_in / groups, kh, kw];
            let g = Geometry::new(&x_shape, &w_shape, &options);
            let xs = seeded(x_shape.iter().product(), case as u64);
            let ws = seeded(w_shape.iter().product(), 100 + case as u64);
            let dys = seeded(batch * g.out_len(), 200 + case as u64);
            let bias = seeded(c_out, 300 + case as u64);
            let (want_out, want_dx, want_dw) = naive(&xs, &ws, &dys, &g);
            let out = conv2d(
                tensor(xs.clone(), &x_shape),
                tensor(ws.clone(), &w_shape),
                Some(tensor(bias.clone(), &[c_out])),
                &options,
            );
            assert_eq!(
                out.layout().shape().to_vec(),
                vec![batch, c_out, g.oh, g.ow]
            );
            let want_out: Vec<f64> = want_out
                .iter()
                .enumerate()
                .map(|(i, v)| v + bias[(i / g.n()) % c_out] as f64)
                .collect();
            assert_close(out.storage(), &want_out, &alloc::format!("case {case} out"));
            let out_shape = [batch, c_out, g.oh, g.ow];
            let dx = conv2d_x_backward(
                tensor(xs.clone(), &x_shape),
                tensor(ws.clone(), &w_shape),
                tensor(dys.clone(), &out_shape),
                &options,
            );
            assert_close(dx.storage(), &want_dx, &alloc::format!("case {case} dx"));
            let dw = conv2d_weight_backward(
                tensor(xs, &x_shape),
                tensor(ws, &w_shape),
                tensor(dys, &out_shape),
                &options,
            );
            assert_eq!(dw.layout().shape().to_vec(), w_shape.to_vec());
            assert_close(dw.storage(), &want_dw, &alloc::format!("case {case} dw"));
        }
    }
}
