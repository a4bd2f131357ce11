//! The `[train]` table: optimisation hyper-parameters.

use crate::optim::{MaskedSgd, SgdSettings};
use crate::schedule::Clock;
use serde::{Deserialize, Serialize};

/// Optimisation hyper-parameters (the `[train]` config table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Total epochs `T`.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Initial learning rate (cosine-annealed to 0 over the run on `clock`).
    pub lr: f64,
    /// SGD momentum (0 turns it off).
    pub momentum: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// L2 weight decay.
    pub weight_decay: f64,
    /// The clock the cosine schedule runs on: `epoch` (epoch progress, as CORDS) or `step`
    /// (the run's optimizer steps; the reading before issue 12).
    pub clock: Clock,
    /// Evaluate on the test (and validation) set every this many epochs, and after the last
    /// one; 0 = automatic: once at least three test sets' worth of samples have been trained
    /// on since the last evaluation (every epoch on full data; every few epochs on a small
    /// coreset, where a test pass would otherwise cost as much as the epoch), so evaluation
    /// stays under about a tenth of a run.
    pub eval_every: usize,
    /// Write the checkpoint every this many epochs, after the last one, and at the epoch a
    /// run is stopped at (Ctrl-C). A resumed run replays the epochs since the last
    /// checkpoint, bit for bit; 1 (every epoch) keeps that replay shortest.
    pub checkpoint_every: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 128,
            lr: 0.05,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 5e-4,
            clock: Clock::Epoch,
            eval_every: 0,
            checkpoint_every: 1,
        }
    }
}

impl TrainConfig {
    /// Checks every value; the message names the key and the accepted range.
    pub fn validate(&self) -> Result<(), String> {
        if self.epochs == 0 {
            return Err("train.epochs must be at least 1".into());
        }
        if self.batch_size == 0 {
            return Err("train.batch_size must be at least 1".into());
        }
        if self.checkpoint_every == 0 {
            return Err(
                "train.checkpoint_every must be at least 1 (1 = a checkpoint every epoch)".into(),
            );
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(format!(
                "train.lr must be a positive number, got {}",
                self.lr
            ));
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return Err(format!(
                "train.momentum must be in [0, 1), got {}",
                self.momentum
            ));
        }
        if self.nesterov && self.momentum == 0.0 {
            return Err("train.nesterov needs train.momentum > 0".into());
        }
        super::non_negative("train.weight_decay", self.weight_decay, "")
            .map_err(|super::ConfigError(m)| m)
    }

    /// The (mask-aware) SGD optimizer these settings describe.
    pub fn optimizer(&self) -> MaskedSgd {
        MaskedSgd::new(SgdSettings {
            momentum: self.momentum,
            nesterov: self.nesterov,
            weight_decay: self.weight_decay,
        })
    }
}
