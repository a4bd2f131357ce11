//! CIFAR-style ResNets (He et al. 2016): 3×3 stem, no max-pool, BasicBlock or Bottleneck
//! stages, global average pooling, one linear classifier. Shortcuts that change shape are
//! 1×1 convolutions with BatchNorm (option B).

use super::{LayerInfo, ModelOutput, Role, SwastModel, conv_info, conv_out, linear_info, scaled};
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::module::adaptive_avg_pool2d;
use burn::tensor::{Device, Tensor};

/// Residual block type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// Two 3×3 convolutions, expansion 1.
    Basic,
    /// 1×1, 3×3 (strided), 1×1 convolutions, expansion 4.
    Bottleneck,
}

impl BlockKind {
    fn expansion(self) -> usize {
        match self {
            BlockKind::Basic => 1,
            BlockKind::Bottleneck => 4,
        }
    }
}

/// The shape of a ResNet: block type, blocks per stage and stage widths (stage `i > 0` starts
/// with stride 2).
#[derive(Debug, Clone, PartialEq)]
pub struct ResNetSpec {
    /// Block type.
    pub kind: BlockKind,
    /// Blocks per stage.
    pub blocks: Vec<usize>,
    /// Stage widths before expansion; the stem has `widths[0]` channels.
    pub widths: Vec<usize>,
}

impl ResNetSpec {
    fn wide(kind: BlockKind, blocks: &[usize], width: f64) -> Self {
        Self {
            kind,
            blocks: blocks.to_vec(),
            widths: [64, 128, 256, 512]
                .iter()
                .map(|&c| scaled(c, width))
                .collect(),
        }
    }
    /// ResNet-18: BasicBlock [2, 2, 2, 2], widths 64–512.
    pub fn resnet18(width: f64) -> Self {
        Self::wide(BlockKind::Basic, &[2, 2, 2, 2], width)
    }
    /// ResNet-34: BasicBlock [3, 4, 6, 3].
    pub fn resnet34(width: f64) -> Self {
        Self::wide(BlockKind::Basic, &[3, 4, 6, 3], width)
    }
    /// ResNet-50: Bottleneck [3, 4, 6, 3].
    pub fn resnet50(width: f64) -> Self {
        Self::wide(BlockKind::Bottleneck, &[3, 4, 6, 3], width)
    }
    /// ResNet-101: Bottleneck [3, 4, 23, 3].
    pub fn resnet101(width: f64) -> Self {
        Self::wide(BlockKind::Bottleneck, &[3, 4, 23, 3], width)
    }
    /// ResNet-20 of the CIFAR paper: BasicBlock [3, 3, 3], widths 16–64.
    pub fn resnet20(width: f64) -> Self {
        Self {
            kind: BlockKind::Basic,
            blocks: vec![3, 3, 3],
            widths: [16, 32, 64].iter().map(|&c| scaled(c, width)).collect(),
        }
    }
}

fn conv(cin: usize, cout: usize, k: usize, stride: usize, device: &Device) -> Conv2d {
    let p = k / 2;
    Conv2dConfig::new([cin, cout], [k, k])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
        .with_bias(false)
        .init(device)
}

/// A 1×1 projection shortcut.
#[derive(Module, Debug)]
pub struct Shortcut {
    conv: Conv2d,
    bn: BatchNorm,
}

/// A BasicBlock (`conv3`/`bn3` absent) or a Bottleneck.
#[derive(Module, Debug)]
pub struct ResBlock {
    conv1: Conv2d,
    bn1: BatchNorm,
    conv2: Conv2d,
    bn2: BatchNorm,
    conv3: Option<Conv2d>,
    bn3: Option<BatchNorm>,
    shortcut: Option<Shortcut>,
    in_pixels: usize,
    out_pixels: usize,
}

impl ResBlock {
    #[allow(clippy::too_many_arguments)]
    fn new(
        kind: BlockKind,
        cin: usize,
        planes: usize,
        stride: usize,
        in_hw: [usize; 2],
        device: &Device,
    ) -> (Self, usize, [usize; 2]) {
        let cout = planes * kind.expansion();
        let out_hw = [
            conv_out(in_hw[0], 3, stride, 1),
            conv_out(in_hw[1], 3, stride, 1),
        ];
        let shortcut = (stride != 1 || cin != cout).then(|| Shortcut {
            conv: conv(cin, cout, 1, stride, device),
            bn: BatchNormConfig::new(cout).init(device),
        });
        let block = match kind {
            BlockKind::Basic => ResBlock {
                conv1: conv(cin, planes, 3, stride, device),
                bn1: BatchNormConfig::new(planes).init(device),
                conv2: conv(planes, planes, 3, 1, device),
                bn2: BatchNormConfig::new(planes).init(device),
                conv3: None,
                bn3: None,
                shortcut,
                in_pixels: in_hw[0] * in_hw[1],
                out_pixels: out_hw[0] * out_hw[1],
            },
            BlockKind::Bottleneck => ResBlock {
                conv1: conv(cin, planes, 1, 1, device),
                bn1: BatchNormConfig::new(planes).init(device),
                conv2: conv(planes, planes, 3, stride, device),
                bn2: BatchNormConfig::new(planes).init(device),
                conv3: Some(conv(planes, cout, 1, 1, device)),
                bn3: Some(BatchNormConfig::new(cout).init(device)),
                shortcut,
                in_pixels: in_hw[0] * in_hw[1],
                out_pixels: out_hw[0] * out_hw[1],
            },
        };
        (block, cout, out_hw)
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let identity = match &self.shortcut {
            Some(s) => s.bn.forward(s.conv.forward(x.clone())),
            None => x.clone(),
        };
        let mut out = relu(self.bn1.forward(self.conv1.forward(x)));
        out = self.bn2.forward(self.conv2.forward(out));
        if let (Some(c3), Some(b3)) = (&self.conv3, &self.bn3) {
            out = b3.forward(c3.forward(relu(out)));
        }
        relu(out + identity)
    }

    fn layers(&self, prefix: &str, out: &mut Vec<LayerInfo>) {
        let bottleneck = self.conv3.is_some();
        // Basic: conv1 strided. Bottleneck: conv1 (1×1) at the input size, conv2 strided.
        let c1_pixels = if bottleneck {
            self.in_pixels
        } else {
            self.out_pixels
        };
        out.push(conv_info(
            format!("{prefix}.conv1"),
            &self.conv1,
            c1_pixels,
            Role::Backbone,
        ));
        out.push(conv_info(
            format!("{prefix}.conv2"),
            &self.conv2,
            self.out_pixels,
            Role::Backbone,
        ));
        if let Some(c3) = &self.conv3 {
            out.push(conv_info(
                format!("{prefix}.conv3"),
                c3,
                self.out_pixels,
                Role::Backbone,
            ));
        }
        if let Some(s) = &self.shortcut {
            out.push(conv_info(
                format!("{prefix}.shortcut.conv"),
                &s.conv,
                self.out_pixels,
                Role::Backbone,
            ));
        }
    }
}

impl ResBlock {
    /// The convolution (and its BatchNorm) that writes the block's residual output.
    fn last_conv(&self) -> &Conv2d {
        self.conv3.as_ref().unwrap_or(&self.conv2)
    }

    fn last_mut(&mut self) -> (&mut Conv2d, &mut BatchNorm) {
        match (self.conv3.as_mut(), self.bn3.as_mut()) {
            (Some(c), Some(b)) => (c, b),
            _ => (&mut self.conv2, &mut self.bn2),
        }
    }

    fn channel_scores(&self, out: &mut Vec<Vec<f32>>) {
        out.push(super::shrink::conv_out_l1(&self.conv1));
        if self.conv3.is_some() {
            out.push(super::shrink::conv_out_l1(&self.conv2));
        }
    }

    /// Keeps inner channels; consumes one group (BasicBlock) or two (Bottleneck).
    fn keep_channels<'a>(&mut self, keeps: &mut impl Iterator<Item = &'a Vec<usize>>) {
        use super::shrink::{bn_keep, conv_keep_in, conv_keep_out};
        let k = keeps.next().expect("one group per inner width");
        conv_keep_out(&mut self.conv1, k);
        bn_keep(&mut self.bn1, k);
        conv_keep_in(&mut self.conv2, k);
        if let Some(c3) = self.conv3.as_mut() {
            let k = keeps.next().expect("two groups per bottleneck");
            conv_keep_out(&mut self.conv2, k);
            bn_keep(&mut self.bn2, k);
            conv_keep_in(c3, k);
        }
    }
}

/// A CIFAR-style ResNet for any input channels, image size and class count.
#[derive(Module, Debug)]
pub struct ResNet {
    stem: Conv2d,
    stem_bn: BatchNorm,
    blocks: Vec<ResBlock>,
    fc: Linear,
    stem_pixels: usize,
}

impl ResNet {
    /// Builds the network described by `spec` for `[C, H, W]` inputs.
    pub fn new(spec: ResNetSpec, input: [usize; 3], classes: usize, device: &Device) -> Self {
        let [c, h, w] = input;
        let mut hw = [h, w];
        let mut cin = spec.widths[0];
        let mut blocks = Vec::new();
        for (stage, (&n, &planes)) in spec.blocks.iter().zip(&spec.widths).enumerate() {
            for b in 0..n {
                let stride = if stage > 0 && b == 0 { 2 } else { 1 };
                let (block, cout, out_hw) =
                    ResBlock::new(spec.kind, cin, planes, stride, hw, device);
                blocks.push(block);
                cin = cout;
                hw = out_hw;
            }
        }
        Self {
            stem: conv(c, spec.widths[0], 3, 1, device),
            stem_bn: BatchNormConfig::new(spec.widths[0]).init(device),
            blocks,
            fc: LinearConfig::new(cin, classes).init(device),
            stem_pixels: h * w,
        }
    }
}

impl ResNet {
    /// The residual stream of each block's input and output (stream 0 is the stem's output;
    /// a block with a projection shortcut starts a new stream), and the number of streams.
    fn streams(&self) -> (Vec<(usize, usize)>, usize) {
        let (mut cur, mut n) = (0, 1);
        let mut io = Vec::with_capacity(self.blocks.len());
        for b in &self.blocks {
            let input = cur;
            if b.shortcut.is_some() {
                cur = n;
                n += 1;
            }
            io.push((input, cur));
        }
        (io, n)
    }

    /// L1 scores of every channel group: first the inner channels of each block (one group
    /// per BasicBlock, two per Bottleneck), then each residual stream, scored by the summed
    /// L1 norms of the output filters of everything that writes to it (the stem, the blocks'
    /// last convolutions, the projection shortcuts).
    pub fn channel_scores(&self) -> Vec<Vec<f32>> {
        use super::shrink::conv_out_l1;
        let mut v = Vec::new();
        for b in &self.blocks {
            b.channel_scores(&mut v);
        }
        let (io, n) = self.streams();
        let mut res: Vec<Vec<f32>> = vec![Vec::new(); n];
        let add = |acc: &mut Vec<f32>, s: Vec<f32>| {
            if acc.is_empty() {
                *acc = s;
            } else {
                acc.iter_mut().zip(s).for_each(|(a, b)| *a += b);
            }
        };
        add(&mut res[0], conv_out_l1(&self.stem));
        for (b, &(_, out)) in self.blocks.iter().zip(&io) {
            add(&mut res[out], conv_out_l1(b.last_conv()));
            if let Some(s) = &b.shortcut {
                add(&mut res[out], conv_out_l1(&s.conv));
            }
        }
        v.extend(res);
        v
    }

    /// Keeps the channels of each group of [`ResNet::channel_scores`]; a list that holds the
    /// inner groups only (checkpoints of earlier versions) leaves the residual widths alone.
    pub fn keep_channels(&mut self, keeps: &[Vec<usize>]) {
        use super::shrink::{bn_keep, conv_keep_in, conv_keep_out, linear_keep_in};
        let mut it = keeps.iter();
        for b in &mut self.blocks {
            b.keep_channels(&mut it);
        }
        let res: Vec<&Vec<usize>> = it.collect();
        if res.is_empty() {
            return;
        }
        let (io, n) = self.streams();
        if res.len() != n {
            // not this architecture's groups: leave the widths alone (loading the weights
            // then fails with a shape error that names the layer)
            return;
        }
        conv_keep_out(&mut self.stem, res[0]);
        bn_keep(&mut self.stem_bn, res[0]);
        for (b, &(i, o)) in self.blocks.iter_mut().zip(&io) {
            conv_keep_in(&mut b.conv1, res[i]);
            if let Some(s) = b.shortcut.as_mut() {
                conv_keep_in(&mut s.conv, res[i]);
                conv_keep_out(&mut s.conv, res[o]);
                bn_keep(&mut s.bn, res[o]);
            }
            let (c, bn) = b.last_mut();
            conv_keep_out(c, res[o]);
            bn_keep(bn, res[o]);
        }
        let last = io.last().map_or(0, |&(_, o)| o);
        linear_keep_in(&mut self.fc, res[last]);
    }
}

impl SwastModel for ResNet {
    fn forward_output(&self, x: Tensor<4>) -> ModelOutput {
        let mut x = relu(self.stem_bn.forward(self.stem.forward(x)));
        for b in &self.blocks {
            x = b.forward(x);
        }
        let features: Tensor<2> = adaptive_avg_pool2d(x, [1, 1]).flatten(1, 3);
        let logits = self.fc.forward(features.clone());
        ModelOutput { features, logits }
    }

    fn layers(&self) -> Vec<LayerInfo> {
        let mut v = vec![conv_info(
            "stem".into(),
            &self.stem,
            self.stem_pixels,
            Role::Backbone,
        )];
        for (i, b) in self.blocks.iter().enumerate() {
            b.layers(&format!("blocks.{i}"), &mut v);
        }
        v.push(linear_info("fc".into(), &self.fc, Role::Classifier));
        v
    }
}
