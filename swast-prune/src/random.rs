//! Static sparse training: a random mask at step 0 (at each layer's final density), never
//! changed.

use crate::base::{MaskedLayers, delegate_masks};
use crate::settings::PruneSettings;

use swast_core::prune::{PruneError, PruneInit, Pruner, WeightSource};

/// See the module documentation.
#[derive(Debug)]
pub struct StaticRandom {
    b: MaskedLayers,
}

impl StaticRandom {
    /// A static random pruner with these settings.
    pub fn new(s: PruneSettings) -> Self {
        Self {
            b: MaskedLayers::new(s),
        }
    }
}

impl Pruner for StaticRandom {
    fn name(&self) -> &'static str {
        "random"
    }

    fn init(&mut self, _model: &dyn WeightSource, init: &PruneInit<'_>) -> Result<(), PruneError> {
        self.b.init(self.name(), init)?;
        self.b.draw_random();
        Ok(())
    }

    fn init_weight_scale(&self) -> Vec<(burn::module::ParamId, f32)> {
        self.b.scale_factors()
    }

    delegate_masks!();
}
