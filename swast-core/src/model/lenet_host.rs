//! LeNet-5's inference pass as fused host kernels, for the probe on CPU devices.
//!
//! burn runs a forward pass op by op: each convolution expands its input 25-fold by im2col,
//! writes its whole output, and ReLU and max-pooling then read and write it again. Here one
//! sample goes through the network in a few kilobytes of scratch: each convolution is a
//! direct 5×5 convolution over a small block of output pixels whose accumulators stay in
//! registers (eight output channels to a vector), and its bias, ReLU and 2×2 max-pool are
//! applied to the block before anything is stored. The linear layers run over packed weights.
//!
//! Each output is the sum over (input channel, kernel row, kernel column), in that order,
//! of fused multiply-adds, and then the bias: the order and the roundings of burn-flex's
//! im2col and gemm for LeNet-5's sizes (gemm runs these short reductions in one block). On
//! the project machine the probe's values are bit-identical to burn's (the issue-15 run
//! keeps its `fingerprint`); the tests ask for agreement to 1e-5, which any order meets.
//! NaN propagates as in burn-flex (ReLU keeps it, max-pool lets it win).
//!
//! The kernels are written once over eight-lane vector operations ([`Ops`]): AVX2 and FMA
//! on x86-64 CPUs that have them (pulp's `V3`, checked at run time), plain arrays with
//! `f32::mul_add` elsewhere. Both round each lane's operations the same way, so every CPU
//! gets the same bits from them.

#[cfg(target_arch = "x86_64")]
use pulp::{f32x8, x86::V3};

/// Output channels (or units) per accumulator vector.
const L: usize = 8;
/// Kernel side of both convolutions.
const KS: usize = 5;
/// Output pixels of each of two rows accumulated together for a lone channel block (register
/// blocking; two blocks take 2 pixels each, sharing every input broadcast).
const P: usize = 4;

type V = [f32; L];

/// The vector operations the kernels use, on eight lanes. Each lane is one f32 operation,
/// rounded once (the multiply-add is fused in both implementations), so every CPU gets the
/// same bits.
trait Ops: Copy {
    type R: Copy;
    fn zero(self) -> Self::R;
    fn splat(self, x: f32) -> Self::R;
    fn load(self, v: &V) -> Self::R;
    /// `acc + x·w`, rounded once.
    fn madd(self, acc: Self::R, x: Self::R, w: Self::R) -> Self::R;
    fn store(self, r: Self::R) -> V;
    fn add(self, a: Self::R, b: Self::R) -> Self::R;
    /// One step of burn-flex's max-pool chain: `c` if `c > m` or `c` is NaN, else `m`.
    fn take_max(self, m: Self::R, c: Self::R) -> Self::R;
    /// burn-flex's ReLU: `v` if `v > 0` or `v` is NaN, else `+0`.
    fn relu(self, v: Self::R) -> Self::R;
}

/// Plain arrays, for CPUs without the vector extensions below.
#[derive(Clone, Copy)]
struct Plain;

impl Ops for Plain {
    type R = V;
    #[inline(always)]
    fn zero(self) -> V {
        [0.0; L]
    }
    #[inline(always)]
    fn splat(self, x: f32) -> V {
        [x; L]
    }
    #[inline(always)]
    fn load(self, v: &V) -> V {
        *v
    }
    #[inline(always)]
    fn madd(self, mut acc: V, x: V, w: V) -> V {
        for l in 0..L {
            acc[l] = x[l].mul_add(w[l], acc[l]);
        }
        acc
    }
    #[inline(always)]
    fn store(self, r: V) -> V {
        r
    }
    #[inline(always)]
    fn add(self, mut a: V, b: V) -> V {
        for l in 0..L {
            a[l] += b[l];
        }
        a
    }
    #[inline(always)]
    fn take_max(self, mut m: V, c: V) -> V {
        for l in 0..L {
            if c[l] > m[l] || c[l].is_nan() {
                m[l] = c[l];
            }
        }
        m
    }
    #[inline(always)]
    fn relu(self, mut v: V) -> V {
        for x in &mut v {
            if !(x.is_nan() || *x > 0.0) {
                *x = 0.0;
            }
        }
        v
    }
}

#[cfg(target_arch = "x86_64")]
impl Ops for V3 {
    type R = f32x8;
    #[inline(always)]
    fn zero(self) -> f32x8 {
        self.splat_f32x8(0.0)
    }
    #[inline(always)]
    fn splat(self, x: f32) -> f32x8 {
        self.splat_f32x8(x)
    }
    #[inline(always)]
    fn load(self, v: &V) -> f32x8 {
        pulp::cast(*v)
    }
    #[inline(always)]
    fn madd(self, acc: f32x8, x: f32x8, w: f32x8) -> f32x8 {
        self.mul_add_f32x8(x, w, acc)
    }
    #[inline(always)]
    fn store(self, r: f32x8) -> V {
        pulp::cast(r)
    }
    #[inline(always)]
    fn add(self, a: f32x8, b: f32x8) -> f32x8 {
        self.add_f32x8(a, b)
    }
    #[inline(always)]
    fn take_max(self, m: f32x8, c: f32x8) -> f32x8 {
        let m = self.select_f32x8(self.cmp_gt_f32x8(c, m), c, m);
        self.select_f32x8(self.is_nan_f32x8(c), c, m)
    }
    #[inline(always)]
    fn relu(self, v: f32x8) -> f32x8 {
        // "not less or equal" is true for v > 0 and for NaN
        self.select_f32x8(self.cmp_not_le_f32x8(v, self.zero()), v, self.zero())
    }
}

/// One 5×5 convolution, stride 1, its weights packed for [`conv_px`].
#[derive(Debug, Clone)]
struct Conv {
    c_in: usize,
    c_out: usize,
    /// `[block][c_in·25]` vectors: `w[b][t][l]` is output channel `8b + l`, tap `t`
    /// (`ci·25 + ki·5 + kj`); zero past `c_out`.
    w: Vec<V>,
    bias: Vec<f32>,
}

impl Conv {
    /// `weight` as burn stores it, `[c_out, c_in, 5, 5]` row-major.
    fn new(weight: &[f32], bias: Option<&[f32]>, c_out: usize, c_in: usize) -> Self {
        let taps = c_in * KS * KS;
        assert_eq!(weight.len(), c_out * taps, "conv weight shape");
        Self {
            c_in,
            c_out,
            w: pack(weight, c_out, taps, [taps, 1]),
            bias: bias_or_zeros(bias, c_out),
        }
    }

    fn blocks(&self) -> usize {
        self.c_out.div_ceil(L)
    }

    /// Convolution, bias, ReLU and 2×2 max-pool of one sample: `input` is `[c_in, h, w]`
    /// (already padded), `out` is `[c_out, (h−4)/2, (w−4)/2]`.
    #[inline(always)]
    fn forward_pool<O: Ops>(&self, o: O, input: &[f32], h: usize, w: usize, out: &mut [f32]) {
        let blocks = self.blocks();
        let mut b = 0;
        while b < blocks {
            if blocks - b >= 2 {
                // two blocks share each input value's broadcast
                self.pool_blocks::<O, 2, 2>(o, input, h, w, b, out);
                b += 2;
            } else {
                self.pool_blocks::<O, 1, P>(o, input, h, w, b, out);
                b += 1;
            }
        }
    }

    /// [`Conv::forward_pool`] for the `B` channel blocks from block `b0`, `Q` pixels of each
    /// of two rows at a time (then 2 at the end of a row).
    #[inline(always)]
    fn pool_blocks<O: Ops, const B: usize, const Q: usize>(
        &self,
        o: O,
        input: &[f32],
        h: usize,
        w: usize,
        b0: usize,
        out: &mut [f32],
    ) {
        let (ph, pw) = (conv_pooled(h), conv_pooled(w));
        let taps = self.c_in * KS * KS;
        let plane = h * w;
        let mut wbs: [&[V]; B] = [&[]; B];
        let mut bias = [o.zero(); B];
        for (j, (wb, bv)) in wbs.iter_mut().zip(&mut bias).enumerate() {
            let b = b0 + j;
            *wb = &self.w[b * taps..(b + 1) * taps];
            let lanes = (self.c_out - b * L).min(L);
            let mut v = [0.0; L];
            v[..lanes].copy_from_slice(&self.bias[b * L..b * L + lanes]);
            *bv = o.load(&v);
        }
        for py in 0..ph {
            let mut x0 = 0;
            while x0 < 2 * pw {
                let base = 2 * py * w + x0;
                let at = py * pw + x0 / 2;
                if 2 * pw - x0 >= Q {
                    let acc = conv_px::<O, B, Q>(o, input, plane, w, &wbs, self.c_in, base);
                    self.store_blocks(o, &acc, &bias, b0, ph * pw, at, out);
                    x0 += Q;
                } else {
                    let acc = conv_px::<O, B, 2>(o, input, plane, w, &wbs, self.c_in, base);
                    self.store_blocks(o, &acc, &bias, b0, ph * pw, at, out);
                    x0 += 2;
                }
            }
        }
    }

    /// [`pool_store`] of each block's accumulators into its output planes.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn store_blocks<O: Ops, const B: usize, const Q: usize>(
        &self,
        o: O,
        acc: &[[[O::R; Q]; 2]; B],
        bias: &[O::R; B],
        b0: usize,
        stride: usize,
        at: usize,
        out: &mut [f32],
    ) {
        for (j, (acc, &bias)) in acc.iter().zip(bias).enumerate() {
            let b = b0 + j;
            let lanes = (self.c_out - b * L).min(L);
            let planes = &mut out[b * L * stride..(b * L + lanes) * stride];
            pool_store(o, *acc, bias, planes, stride, at);
        }
    }
}

/// Packs an `outs × ins` weight matrix, entry `(o, i)` at `weight[o·strides[0] + i·strides[1]]`,
/// into `[outs/8][ins]` vectors: lane `l` of vector `[b][i]` is output `8b + l` (zero past
/// `outs`).
fn pack(weight: &[f32], outs: usize, ins: usize, strides: [usize; 2]) -> Vec<V> {
    let mut w = vec![[0.0; L]; outs.div_ceil(L) * ins];
    for o in 0..outs {
        for i in 0..ins {
            w[(o / L) * ins + i][o % L] = weight[o * strides[0] + i * strides[1]];
        }
    }
    w
}

/// `bias`, or `n` zeros for a layer without one.
fn bias_or_zeros(bias: Option<&[f32]>, n: usize) -> Vec<f32> {
    let bias = bias.map_or_else(|| vec![0.0; n], <[f32]>::to_vec);
    assert_eq!(bias.len(), n, "bias shape");
    bias
}

/// Max-pools the accumulators of `2 × Q` conv pixels into `Q / 2` outputs, adds the bias,
/// applies ReLU and stores output `q` of lane `l` at `out[l·stride + at + q]`.
///
/// burn applies the bias and ReLU before the pool; both commute with the max exactly
/// (rounding `· + bias` is monotone, ReLU is monotone and sends every non-positive value to
/// +0, and a NaN wins either way), so pooling first gives the same values.
#[inline(always)]
fn pool_store<O: Ops, const Q: usize>(
    o: O,
    acc: [[O::R; Q]; 2],
    bias: O::R,
    out: &mut [f32],
    stride: usize,
    at: usize,
) {
    for q in 0..Q / 2 {
        let mut m = acc[0][2 * q];
        m = o.take_max(m, acc[0][2 * q + 1]);
        m = o.take_max(m, acc[1][2 * q]);
        m = o.take_max(m, acc[1][2 * q + 1]);
        let v = o.store(o.relu(o.add(m, bias)));
        for (plane, &x) in out.chunks_exact_mut(stride).zip(&v) {
            plane[at + q] = x;
        }
    }
}

/// The side of a 5×5 valid convolution's output of an `n`-wide input, max-pooled 2×2
/// (a last odd row or column is dropped).
fn conv_pooled(n: usize) -> usize {
    let conv = n + 1 - KS;
    conv / 2
}

/// The accumulators of `Q` consecutive output pixels in each of two consecutive rows, the
/// first starting at input offset `base` (`y·w + x`), for `B` blocks of output channels
/// with tap vectors `wbs`: `B·2·Q` independent sums, each over (input channel, kernel row,
/// kernel column) in that order.
#[inline(always)]
fn conv_px<O: Ops, const B: usize, const Q: usize>(
    o: O,
    input: &[f32],
    plane: usize,
    w: usize,
    wbs: &[&[V]; B],
    c_in: usize,
    base: usize,
) -> [[[O::R; Q]; 2]; B] {
    let mut acc = [[[o.zero(); Q]; 2]; B];
    for ci in 0..c_in {
        for ki in 0..KS {
            let row = ci * plane + ki * w + base;
            let rows = [
                &input[row..row + KS + Q - 1],
                &input[row + w..row + w + KS + Q - 1],
            ];
            let t0 = (ci * KS + ki) * KS;
            for kj in 0..KS {
                let mut wv = [o.zero(); B];
                for (v, wb) in wv.iter_mut().zip(wbs) {
                    *v = o.load(&wb[t0 + kj]);
                }
                for (r, src) in rows.iter().enumerate() {
                    for (q, &x) in src[kj..kj + Q].iter().enumerate() {
                        let x = o.splat(x);
                        for (a, &v) in acc.iter_mut().zip(&wv) {
                            a[r][q] = o.madd(a[r][q], x, v);
                        }
                    }
                }
            }
        }
    }
    acc
}

/// A linear layer `y = x·W + b` with `W` (`[in, out]`, as burn stores it) packed into
/// `[out/8][in]` vectors.
#[derive(Debug, Clone)]
struct Dense {
    d_in: usize,
    d_out: usize,
    w: Vec<V>,
    bias: Vec<f32>,
}

impl Dense {
    fn new(weight: &[f32], bias: Option<&[f32]>, d_in: usize, d_out: usize) -> Self {
        assert_eq!(weight.len(), d_in * d_out, "linear weight shape");
        Self {
            d_in,
            d_out,
            w: pack(weight, d_out, d_in, [1, d_out]),
            bias: bias_or_zeros(bias, d_out),
        }
    }

    /// `out = x·W + b`, then ReLU when `relu`.
    #[inline(always)]
    fn forward<O: Ops>(&self, o: O, x: &[f32], out: &mut [f32], relu: bool) {
        let blocks = self.d_out.div_ceil(L);
        let mut b = 0;
        while b < blocks {
            let g = (blocks - b).min(4);
            let acc: [V; 4] = match g {
                4 => self.sums::<O, 4>(o, x, b),
                3 => pad(self.sums::<O, 3>(o, x, b)),
                2 => pad(self.sums::<O, 2>(o, x, b)),
                _ => pad(self.sums::<O, 1>(o, x, b)),
            };
            for (j, acc) in acc.iter().enumerate().take(g) {
                let at = (b + j) * L;
                let lanes = (self.d_out - at).min(L);
                for l in 0..lanes {
                    let v = acc[l] + self.bias[at + l];
                    out[at + l] = if !relu || v.is_nan() || v > 0.0 {
                        v
                    } else {
                        0.0
                    };
                }
            }
            b += g;
        }
    }

    /// `x·W` of the `G` output blocks from block `b`: `G` independent sums over the inputs.
    #[inline(always)]
    fn sums<O: Ops, const G: usize>(&self, o: O, x: &[f32], b: usize) -> [V; G] {
        let mut acc = [o.zero(); G];
        let ws = &self.w[b * self.d_in..(b + G) * self.d_in];
        for (i, &xi) in x.iter().enumerate() {
            let xv = o.splat(xi);
            for (j, a) in acc.iter_mut().enumerate() {
                *a = o.madd(*a, xv, o.load(&ws[j * self.d_in + i]));
            }
        }
        let mut out = [[0.0; L]; G];
        for (ov, &a) in out.iter_mut().zip(&acc) {
            *ov = o.store(a);
        }
        out
    }
}

/// `G ≤ 4` vectors padded with zeros to four.
#[inline(always)]
fn pad<const G: usize>(v: [V; G]) -> [V; 4] {
    let mut out = [[0.0; L]; 4];
    out[..G].copy_from_slice(&v);
    out
}

/// LeNet-5's weights, packed for the fused kernels.
#[derive(Debug, Clone)]
pub(crate) struct LeNetHost {
    /// Input `[C, H, W]`.
    input: [usize; 3],
    conv1: Conv,
    conv2: Conv,
    fc1: Dense,
    fc2: Dense,
    fc3: Dense,
}

/// One layer's weight (burn's layout, row-major), its bias and its dimensions.
pub(crate) struct HostLayer {
    pub weight: Vec<f32>,
    pub bias: Option<Vec<f32>>,
    pub dims: Vec<usize>,
}

impl LeNetHost {
    /// From the five layers of a LeNet-5 built for `input` images.
    pub(crate) fn new(input: [usize; 3], layers: [HostLayer; 5]) -> Self {
        let [c1, c2, f1, f2, f3] = layers;
        let conv = |l: HostLayer| Conv::new(&l.weight, l.bias.as_deref(), l.dims[0], l.dims[1]);
        let dense = |l: HostLayer| Dense::new(&l.weight, l.bias.as_deref(), l.dims[0], l.dims[1]);
        let me = Self {
            input,
            conv1: conv(c1),
            conv2: conv(c2),
            fc1: dense(f1),
            fc2: dense(f2),
            fc3: dense(f3),
        };
        assert_eq!(me.conv1.c_in, input[0], "conv1 input channels");
        assert_eq!(me.conv2.c_in, me.conv1.c_out, "conv2 input channels");
        let (h2, w2) = me.pooled2();
        assert_eq!(me.fc1.d_in, me.conv2.c_out * h2 * w2, "fc1 input width");
        assert_eq!(me.fc2.d_in, me.fc1.d_out, "fc2 input width");
        assert_eq!(me.fc3.d_in, me.fc2.d_out, "fc3 input width");
        me
    }

    /// conv1's pooled output size.
    fn pooled1(&self) -> (usize, usize) {
        (self.input[1] / 2, self.input[2] / 2)
    }

    /// conv2's pooled output size.
    fn pooled2(&self) -> (usize, usize) {
        let (h, w) = self.pooled1();
        (conv_pooled(h), conv_pooled(w))
    }

    /// Feature width (fc2's units).
    pub(crate) fn feature_dim(&self) -> usize {
        self.fc2.d_out
    }

    /// Number of classes.
    pub(crate) fn classes(&self) -> usize {
        self.fc3.d_out
    }

    /// The forward pass of `n` images: `fill(rows, images)` writes the normalized images of
    /// rows `rows` (`[rows.len(), C, H, W]`); `features` gets `[n, F]`, `logits` `[n, K]`.
    /// Samples run in parallel, filled by the thread that runs them (each row is computed by
    /// one thread in a fixed order, so the result does not depend on the thread count).
    pub(crate) fn forward(
        &self,
        fill: impl Fn(std::ops::Range<usize>, &mut [f32]) + Sync,
        features: &mut [f32],
        logits: &mut [f32],
    ) {
        use rayon::prelude::*;
        let len = self.input.iter().product::<usize>();
        let (f, k) = (self.feature_dim(), self.classes());
        let n = logits.len() / k;
        assert_eq!(logits.len(), n * k, "logits are [n, K]");
        assert_eq!(features.len(), n * f, "features are [n, F]");
        const CHUNK: usize = 32;
        features
            .par_chunks_mut(CHUNK * f)
            .zip(logits.par_chunks_mut(CHUNK * k))
            .enumerate()
            .for_each(|(c, (feat, logit))| {
                let rows = c * CHUNK..c * CHUNK + logit.len() / k;
                let mut images = vec![0.0; rows.len() * len];
                fill(rows, &mut images);
                let chunk = Chunk {
                    net: self,
                    images: &images,
                    features: feat,
                    logits: logit,
                };
                #[cfg(target_arch = "x86_64")]
                if let Some(simd) = V3::try_new() {
                    simd.vectorize(WithOps(simd, chunk));
                    return;
                }
                chunk.run(Plain);
            });
    }
}

/// One chunk of samples.
struct Chunk<'a> {
    net: &'a LeNetHost,
    images: &'a [f32],
    features: &'a mut [f32],
    logits: &'a mut [f32],
}

/// [`Chunk::run`] as a function pulp compiles with the vector extensions enabled.
struct WithOps<'a, O>(O, Chunk<'a>);

impl<O: Ops> pulp::NullaryFnOnce for WithOps<'_, O> {
    type Output = ();
    #[inline(always)]
    fn call(self) {
        self.1.run(self.0);
    }
}

impl Chunk<'_> {
    #[inline(always)]
    fn run<O: Ops>(self, o: O) {
        let net = self.net;
        let [c, h, w] = net.input;
        let (hp, wp) = (h + 4, w + 4);
        let (h1, w1) = net.pooled1();
        let (h2, w2) = net.pooled2();
        let (f, k) = (net.feature_dim(), net.classes());
        let mut padded = vec![0.0f32; c * hp * wp];
        let mut pool1 = vec![0.0f32; net.conv1.c_out * h1 * w1];
        let mut pool2 = vec![0.0f32; net.conv2.c_out * h2 * w2];
        let mut hidden = vec![0.0f32; net.fc1.d_out];
        for ((img, feat), logit) in self
            .images
            .chunks_exact(c * h * w)
            .zip(self.features.chunks_exact_mut(f))
            .zip(self.logits.chunks_exact_mut(k))
        {
            // conv1 pads by 2 on every side
            for (ch, src) in img.chunks_exact(h * w).enumerate() {
                let dst = &mut padded[ch * hp * wp..(ch + 1) * hp * wp];
                for (y, row) in src.chunks_exact(w).enumerate() {
                    let at = (y + 2) * wp + 2;
                    dst[at..at + w].copy_from_slice(row);
                }
            }
            net.conv1.forward_pool(o, &padded, hp, wp, &mut pool1);
            net.conv2.forward_pool(o, &pool1, h1, w1, &mut pool2);
            net.fc1.forward(o, &pool2, &mut hidden, true);
            net.fc2.forward(o, &hidden, feat, true);
            net.fc3.forward(o, feat, logit, false);
        }
    }
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use super::*;
    use crate::model::{LeNet5, SwastModel};
    use burn::tensor::{Device, Tensor, TensorData};

    /// Deterministic pseudo-random values in [-2, 2).
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 40) as f32 / (1u64 << 24) as f32 * 4.0 - 2.0
            })
            .collect()
    }

    /// burn's features and logits of `images` (`[n, C, H, W]`).
    fn burn_forward(net: &LeNet5, input: [usize; 3], images: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let [c, h, w] = input;
        let n = images.len() / (c * h * w);
        let x = Tensor::<4>::from_data(
            TensorData::new(images.to_vec(), [n, c, h, w]),
            &Device::flex(),
        );
        let o = net.forward_output(x);
        (
            o.features.into_data().iter::<f32>().collect(),
            o.logits.into_data().iter::<f32>().collect(),
        )
    }

    /// The fused kernels' features and logits of `images`, with `ops` or, when `None`,
    /// the run-time choice.
    fn host_forward(host: &LeNetHost, images: &[f32], plain: bool) -> (Vec<f32>, Vec<f32>) {
        let len: usize = host.input.iter().product();
        let n = images.len() / len;
        let mut features = vec![0.0; n * host.feature_dim()];
        let mut logits = vec![0.0; n * host.classes()];
        if plain {
            Chunk {
                net: host,
                images,
                features: &mut features,
                logits: &mut logits,
            }
            .run(Plain);
        } else {
            let fill = |rows: std::ops::Range<usize>, out: &mut [f32]| {
                out.copy_from_slice(&images[rows.start * len..rows.end * len]);
            };
            host.forward(fill, &mut features, &mut logits);
        }
        (features, logits)
    }

    fn assert_close(got: &[f32], want: &[f32], what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: length");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-5 * (1.0 + w.abs()),
                "{what}[{i}]: fused {g}, burn {w}"
            );
        }
    }

    /// The fused pass against burn's `forward_output` on `n` random images.
    fn check(net: &LeNet5, input: [usize; 3], n: usize, seed: u64) {
        let images = values(n * input.iter().product::<usize>(), seed);
        let host = net.host(input);
        let (bf, bl) = burn_forward(net, input, &images);
        let (hf, hl) = host_forward(&host, &images, false);
        assert_close(&hf, &bf, "features");
        assert_close(&hl, &bl, "logits");
        // the plain-array kernels give the same bits as the vector ones
        let (pf, pl) = host_forward(&host, &images, true);
        assert_eq!(pf, hf, "plain features");
        assert_eq!(pl, hl, "plain logits");
    }

    #[test]
    fn matches_burn_on_mnist_shapes() {
        let net = LeNet5::new([1, 28, 28], 10, &Device::flex()).unwrap();
        // 70 samples: two full chunks of 32 and a short one
        check(&net, [1, 28, 28], 70, 1);
    }

    #[test]
    fn matches_burn_on_colour_and_odd_sizes() {
        // 3×32×32 (CIFAR): conv2's pooled rows are 5 wide (a 2-pixel tail block);
        // 13×17: odd sizes at both pools, whose last row and column are dropped
        for (input, classes) in [([3, 32, 32], 10), ([2, 13, 17], 3)] {
            let net = LeNet5::new(input, classes, &Device::flex()).unwrap();
            check(&net, input, 5, 2);
        }
    }

    #[test]
    fn matches_burn_after_channel_shrinking() {
        // channel counts that are not multiples of the 8 lanes
        let mut net = LeNet5::new([1, 28, 28], 10, &Device::flex()).unwrap();
        let keep = |n: usize, step: usize| (0..n).step_by(step).collect::<Vec<_>>();
        net.keep_channels(&[keep(6, 2), keep(16, 3), keep(120, 7), keep(84, 5)]);
        check(&net, [1, 28, 28], 9, 3);
    }

    #[test]
    fn nan_propagates_as_in_burn() {
        let net = LeNet5::new([1, 28, 28], 10, &Device::flex()).unwrap();
        let mut images = values(2 * 784, 4);
        images[300] = f32::NAN;
        let (bf, bl) = burn_forward(&net, [1, 28, 28], &images);
        let (hf, hl) = host_forward(&net.host([1, 28, 28]), &images, false);
        for (got, want, what) in [(&hf, &bf, "features"), (&hl, &bl, "logits")] {
            let nan = |v: &[f32]| v.iter().map(|x| x.is_nan()).collect::<Vec<_>>();
            assert_eq!(nan(got), nan(want), "{what}: where NaN is");
            assert!(
                got[..got.len() / 2].iter().all(|x| x.is_nan()),
                "{what}: sample 0 is NaN"
            );
        }
        assert_close(&hl[10..], &bl[10..], "logits of the clean sample");
    }

    #[test]
    fn the_thread_count_does_not_change_a_bit() {
        let net = LeNet5::new([1, 28, 28], 10, &Device::flex()).unwrap();
        let host = net.host([1, 28, 28]);
        let images = values(100 * 784, 5);
        let on = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| host_forward(&host, &images, false))
        };
        assert_eq!(on(1), on(2));
        assert_eq!(on(1), on(3));
    }
}
