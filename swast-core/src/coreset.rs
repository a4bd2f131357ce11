//! The coreset contract: a selection (indices and per-sample weights), what a selector is
//! given, and the hooks it gets from the trainer. Implementations live in `swast-coreset`;
//! `swast-cli/examples/custom_selector.rs` implements one outside it, with a config key of its
//! own, and plugs it into a SWaST-cut run.
//!
//! The contract everywhere: a higher score means "keep".

use crate::probe::Probe;
use serde::{Deserialize, Serialize};
use swast_data::SeededRng;

/// A selected subset of the training set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Coreset {
    /// Training-set indices, distinct, ascending.
    pub indices: Vec<usize>,
    /// One non-negative weight per index (1.0 for unweighted selectors).
    pub weights: Vec<f32>,
    /// FLOPs the selection itself cost, beyond the probe pass.
    pub flops: f64,
}

impl Coreset {
    /// Indices with unit weights, sorted.
    pub fn unweighted(mut indices: Vec<usize>) -> Self {
        indices.sort_unstable();
        indices.dedup();
        let n = indices.len();
        Self {
            indices,
            weights: vec![1.0; n],
            flops: 0.0,
        }
    }

    /// Sorts by index, keeping each weight with its index.
    pub fn sorted(mut self) -> Self {
        let mut pairs: Vec<(usize, f32)> = self.indices.into_iter().zip(self.weights).collect();
        pairs.sort_unstable_by_key(|p| p.0);
        (self.indices, self.weights) = pairs.into_iter().unzip();
        self
    }
}

/// Everything a selector may look at.
#[derive(Debug)]
pub struct SelectContext<'a> {
    /// The probe pass of the current model over the whole training set (row `r` = sample `r`).
    pub probe: &'a Probe,
    /// The probe pass over the validation set, when one was held out (GLISTER needs it).
    pub val: Option<&'a Probe>,
    /// Number of samples to select.
    pub budget: usize,
    /// Epochs completed so far.
    pub epoch: usize,
    /// Total epochs of the run.
    pub total_epochs: usize,
}

/// A selector could not select.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("selector {selector}: {message}")]
pub struct SelectError {
    /// The selector.
    pub selector: &'static str,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// A coreset selector.
pub trait Selector: Send {
    /// Config name.
    fn name(&self) -> &'static str;
    /// Chooses `ctx.budget` distinct samples with the current model.
    fn select(
        &mut self,
        ctx: &SelectContext<'_>,
        rng: &mut SeededRng,
    ) -> Result<Coreset, SelectError>;
    /// Whether the trainer should report per-sample correctness ([`Selector::observe`]).
    fn observes(&self) -> bool {
        false
    }
    /// Per-sample correctness of a training batch (dataset indices), as the trainer saw it.
    fn observe(&mut self, _indices: &[usize], _correct: &[bool]) {}
    /// Whether [`SelectContext::val`] must be present.
    fn needs_validation(&self) -> bool {
        false
    }
    /// State to resume (forgetting counters, …).
    fn state_bytes(&self) -> Vec<u8> {
        Vec::new()
    }
    /// Restores [`Selector::state_bytes`].
    fn load_state(&mut self, _bytes: &[u8]) -> Result<(), SelectError> {
        Ok(())
    }
}
