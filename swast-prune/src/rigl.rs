//! RigL (Evci et al., ICML 2020), SWaST's default: a random sparse mask at step 0 (at each
//! layer's ERK density), then every ΔT until T_end the smallest |w| are dropped and as many
//! weights with the largest dense |∇| grown, a cosine-decayed fraction α of each layer's
//! active weights; grown weights start at zero with zero momentum.

use crate::base::{MaskedLayers, delegate_masks};
use crate::mask::drop_and_grow;
use crate::settings::{PruneSettings, rigl_fraction};
use burn::optim::GradientsParams;

use swast_core::prune::{PruneError, PruneInit, Pruner, WeightSource, grad_values};
use swast_core::schedule::Tick;

/// See the module documentation.
#[derive(Debug)]
pub struct Rigl {
    b: MaskedLayers,
    /// |∇| of each masked layer, captured at an update step.
    pending_grads: Option<Vec<Vec<f32>>>,
}

impl Rigl {
    /// A RigL pruner with these settings.
    pub fn new(s: PruneSettings) -> Self {
        Self {
            b: MaskedLayers::new(s),
            pending_grads: None,
        }
    }

    /// Whether the step at `tick` updates the mask: it reaches a multiple of ΔT before T_end.
    fn is_update(&self, tick: Tick) -> bool {
        let span = tick.span(self.b.s.clock);
        span.hits(0.0, self.b.s.interval) && span.at < span.point(self.b.s.end)
    }
}

impl Pruner for Rigl {
    fn name(&self) -> &'static str {
        "rigl"
    }

    fn init(&mut self, _model: &dyn WeightSource, init: &PruneInit<'_>) -> Result<(), PruneError> {
        self.b.init(self.name(), init)?;
        self.b.draw_random();
        Ok(())
    }

    fn init_weight_scale(&self) -> Vec<(burn::module::ParamId, f32)> {
        self.b.scale_factors()
    }

    fn after_backward(&mut self, tick: Tick, _model: &dyn WeightSource, grads: &GradientsParams) {
        if self.is_update(tick) {
            let layers = self.b.masked_layers();
            let g: Vec<Vec<f32>> = layers
                .iter()
                .map(|l| grad_values(grads, l).unwrap_or_else(|| vec![0.0; l.params]))
                .collect();
            self.pending_grads = Some(g);
        }
    }

    fn after_step(&mut self, tick: Tick, model: &dyn WeightSource) -> bool {
        let span = tick.span(self.b.s.clock);
        let Some(grads) = self.pending_grads.take() else {
            return false;
        };
        let layers = self.b.masked_layers();
        let w = model.weight_values(&layers);
        let frac = rigl_fraction(self.b.s.drop_fraction, span.at, span.point(self.b.s.end));
        let masks = self.b.masks.as_mut().expect("initialised");
        let mut changed = false;
        for (i, l) in layers.iter().enumerate() {
            let keep = masks.layers()[i].keep().to_vec();
            let active = keep.iter().filter(|k| **k).count();
            let k = (frac * active as f64).floor() as usize;
            if k == 0 {
                continue;
            }
            let new = drop_and_grow(&keep, &w[&l.param_id], &grads[i], k);
            if new != keep {
                masks.set(i, new);
                changed = true;
            }
        }
        changed
    }

    delegate_masks!();
}
