//! Static sparse training: a random mask at step 0 (at each layer's final density), never
//! changed.

use crate::base::MaskedLayers;
use crate::settings::PruneSettings;
use swast_core::model::{LayerInfo, Network};
use swast_core::prune::{MaskSet, PruneError, PruneInit, Pruner};

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

    fn init(&mut self, _model: &Network, init: &PruneInit<'_>) -> Result<(), PruneError> {
        self.b.init(self.name(), init)?;
        self.b.draw_random();
        Ok(())
    }

    fn init_weight_scale(&self) -> Vec<(burn::module::ParamId, f32)> {
        self.b.scale_factors()
    }

    fn masks(&self) -> Option<&MaskSet> {
        self.b.masks.as_ref()
    }

    fn state_bytes(&self) -> Vec<u8> {
        self.b.state_bytes()
    }

    fn load_state(&mut self, bytes: &[u8], layers: &[LayerInfo]) -> Result<(), PruneError> {
        self.b.load_state(self.name(), bytes, layers)
    }
}
