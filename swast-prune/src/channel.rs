//! Structured L1 channel pruning (`channel-l1`): at `prune.begin` (a share of the run on
//! `prune.clock`; 0 = the initial weights) the `prune.sparsity` share of every channel group
//! with the smallest summed L1 norm of its writers' filters is removed, physically (BatchNorm
//! included; in ResNets the blocks' inner channels and the residual streams), so training
//! really gets faster. SWaST-trim leaves the backbone dense, so it cannot use it.

use swast_core::config::PruneConfig;
use swast_core::prune::{PruneError, Scope, StructuredPruner};
use swast_core::schedule::{Clock, Tick};

/// See the module documentation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChannelL1 {
    /// Share of every channel group removed.
    pub share: f64,
    /// When, as a share of the run on `clock`.
    pub begin: f64,
    /// The clock `begin` is read on.
    pub clock: Clock,
}

impl ChannelL1 {
    /// From the `[prune]` table, over `scope` (the whole network only).
    pub fn from_config(cfg: &PruneConfig, scope: Scope) -> Result<Self, PruneError> {
        if scope == Scope::Classifier {
            return Err(PruneError {
                pruner: "channel-l1",
                message: "removes backbone channels, which SWaST-trim leaves dense: use it with pruning-only or swast-cut".into(),
            });
        }
        Ok(Self {
            share: cfg.sparsity,
            begin: cfg.begin,
            clock: cfg.clock,
        })
    }
}

impl StructuredPruner for ChannelL1 {
    fn name(&self) -> &'static str {
        "channel-l1"
    }

    fn at_start(&self, start: Tick) -> bool {
        start.span(self.clock).point(self.begin) <= 0.0
    }

    fn due(&self, tick: Tick) -> bool {
        let span = tick.span(self.clock);
        let at = span.point(self.begin);
        at > 0.0 && span.at < at && at <= span.next
    }

    fn keeps(&self, channel_scores: &[Vec<f32>]) -> Vec<Vec<usize>> {
        swast_core::model::shrink::l1_keeps(channel_scores, self.share)
    }
}
