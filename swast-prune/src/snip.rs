//! SNIP (Lee et al., ICLR 2019): connection saliency |w ⊙ ∇| on the first batch, pruned to
//! the final density at once, then fixed.

use crate::base::{MaskedLayers, delegate_masks};
use crate::settings::PruneSettings;
use burn::optim::GradientsParams;

use swast_core::prune::{PruneError, PruneInit, Pruner, WeightSource, grad_values};
use swast_core::schedule::Tick;

/// See the module documentation.
#[derive(Debug)]
pub struct Snip {
    b: MaskedLayers,
    /// The first batch changed the masks (reported after its step).
    changed: bool,
}

impl Snip {
    /// A SNIP pruner with these settings.
    pub fn new(s: PruneSettings) -> Self {
        Self {
            b: MaskedLayers::new(s),
            changed: false,
        }
    }
}

impl Pruner for Snip {
    fn name(&self) -> &'static str {
        "snip"
    }

    fn init(&mut self, _model: &dyn WeightSource, init: &PruneInit<'_>) -> Result<(), PruneError> {
        self.b.init(self.name(), init)
    }

    fn after_backward(&mut self, tick: Tick, model: &dyn WeightSource, grads: &GradientsParams) {
        if tick.step != 0 {
            return;
        }
        let layers = self.b.masked_layers();
        let w = model.weight_values(&layers);
        let scores: Vec<Vec<f32>> = layers
            .iter()
            .map(|l| {
                let g = grad_values(grads, l).unwrap_or_else(|| vec![0.0; l.params]);
                w[&l.param_id]
                    .iter()
                    .zip(&g)
                    .map(|(w, g)| (w * g).abs())
                    .collect()
            })
            .collect();
        self.changed = self.b.prune_by(&scores, 1.0);
    }

    fn after_step(&mut self, _tick: Tick, _model: &dyn WeightSource) -> bool {
        std::mem::take(&mut self.changed)
    }

    delegate_masks!();
}
