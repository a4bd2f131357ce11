//! Gradual magnitude pruning (Zhu & Gupta, 2017): from `begin` to `end` the sparsity follows
//! the cubic schedule, the smallest |w| pruned every ΔT.

use crate::base::{MaskedLayers, delegate_masks};
use crate::settings::{PruneSettings, cubic_progress, gmp_due};

use swast_core::prune::{PruneError, PruneInit, Pruner, WeightSource};
use swast_core::schedule::Tick;

/// See the module documentation.
#[derive(Debug)]
pub struct Gmp {
    b: MaskedLayers,
}

impl Gmp {
    /// A gradual magnitude pruner with these settings.
    pub fn new(s: PruneSettings) -> Self {
        Self {
            b: MaskedLayers::new(s),
        }
    }
}

impl Pruner for Gmp {
    fn name(&self) -> &'static str {
        "gmp"
    }

    fn init(&mut self, _model: &dyn WeightSource, init: &PruneInit<'_>) -> Result<(), PruneError> {
        self.b.init(self.name(), init)
    }

    fn after_step(&mut self, tick: Tick, model: &dyn WeightSource) -> bool {
        let span = tick.span(self.b.s.clock);
        let (t1, t2) = (span.point(self.b.s.begin), span.point(self.b.s.end));
        if !gmp_due(&span, t1, t2, self.b.s.interval) {
            return false;
        }
        let scores = self.b.magnitudes(model);
        self.b
            .prune_by(&scores, cubic_progress(span.next.min(t2), t1, t2))
    }

    delegate_masks!();
}
