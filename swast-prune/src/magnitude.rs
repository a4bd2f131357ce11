//! One-shot magnitude pruning (Han et al., 2015) at `begin`: the smallest |w| of each layer
//! (or of all layers of a role, with `global`) are pruned to the final density; at
//! `begin = 0` on the initial weights.

use crate::base::{MaskedLayers, delegate_masks};
use crate::settings::PruneSettings;

use swast_core::prune::{PruneError, PruneInit, Pruner, WeightSource};
use swast_core::schedule::Tick;

/// See the module documentation.
#[derive(Debug)]
pub struct Magnitude {
    b: MaskedLayers,
}

impl Magnitude {
    /// A one-shot magnitude pruner with these settings.
    pub fn new(s: PruneSettings) -> Self {
        Self {
            b: MaskedLayers::new(s),
        }
    }
}

impl Pruner for Magnitude {
    fn name(&self) -> &'static str {
        "magnitude"
    }

    fn init(&mut self, model: &dyn WeightSource, init: &PruneInit<'_>) -> Result<(), PruneError> {
        self.b.init(self.name(), init)?;
        if self.b.point(self.b.s.begin) <= 0.0 {
            let scores = self.b.magnitudes(model);
            self.b.prune_by(&scores, 1.0);
        }
        Ok(())
    }

    fn after_step(&mut self, tick: Tick, model: &dyn WeightSource) -> bool {
        let span = tick.span(self.b.s.clock);
        let at = span.point(self.b.s.begin);
        if at > 0.0 && span.at < at && at <= span.next {
            let scores = self.b.magnitudes(model);
            return self.b.prune_by(&scores, 1.0);
        }
        false
    }

    delegate_masks!();
}
