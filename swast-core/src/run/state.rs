//! The loop's own state between epochs: where it is, the guard's snapshot and retries, the
//! test hooks already fired, the last test result.
//!
//! What must survive a restart (coreset, stored outputs, rounds, rollbacks, budget scale,
//! accounting) lives in the trainer's checkpointed [`crate::train::TrainState`]; this is
//! what a session rebuilds from it.

use super::epoch::eval_batch;
use super::error::RunError;
use super::folder::Outputs;
use super::guard::{Guard, Snapshot, guard_check, roll_back};
use super::setup::{PreparedData, RunOptions};
use crate::config::Config;
use crate::coreset::Selector;
use crate::events::RollbackReason;
use crate::train::{PassStats, Trainer};
use std::path::Path;

/// See the module documentation.
#[derive(Debug, Default)]
pub(super) struct RunState {
    /// Epochs done (0-based index of the next epoch).
    pub(super) epoch: usize,
    /// The guard's snapshot: taken before each selection round.
    snapshot: Option<Snapshot>,
    /// Guard retries of the current round.
    retries: usize,
    /// The collapse and NaN test hooks fire once per session.
    pub(super) injected: bool,
    pub(super) poisoned: bool,
    /// The last epoch's test result and validation accuracy.
    pub(super) last_test: Option<(PassStats, Option<f64>)>,
}

impl RunState {
    /// The state of a session that starts after `epoch` epochs.
    pub(super) fn at(epoch: usize) -> Self {
        Self {
            epoch,
            ..Self::default()
        }
    }

    /// Stops at an epoch boundary when asked (Ctrl-C, or the test hook's epoch count).
    pub(super) fn check_stop(&self, opts: &RunOptions, dir: &Path) -> Result<(), RunError> {
        let epoch = self.epoch;
        if opts
            .stop
            .as_ref()
            .is_some_and(|s| s.load(std::sync::atomic::Ordering::SeqCst))
        {
            return Err(RunError::Interrupted { epochs_done: epoch });
        }
        if opts.stop_after_epoch.is_some_and(|s| epoch >= s) {
            return Err(RunError::Io {
                path: dir.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::Interrupted,
                    format!("stopped after epoch {epoch} as asked; run again to resume"),
                ),
            });
        }
        Ok(())
    }

    /// The guard's check of the last round (before a new one or after the last epoch):
    /// the epoch to resume from when it rolled back. With `snapshot_after`, a snapshot for
    /// the coming round is taken when nothing was rolled back.
    pub(super) fn guard(
        &mut self,
        cfg: &Config,
        trainer: &mut Trainer,
        data: &PreparedData,
        selector: &mut Option<Box<dyn Selector>>,
        out: &mut Outputs<'_>,
        snapshot_after: bool,
    ) -> Result<Option<usize>, RunError> {
        let mut g = Guard::new(&self.snapshot, &mut self.retries, selector);
        if let Some(back) = guard_check(cfg, trainer, data, &mut g, eval_batch(cfg), out)? {
            return Ok(Some(back));
        }
        if snapshot_after {
            let extra = selector
                .as_ref()
                .map(|s| s.state_bytes())
                .unwrap_or_default();
            self.snapshot = Some((self.epoch, (trainer.checkpoint_bytes(&[])?, extra)));
        }
        Ok(None)
    }

    /// With the guard on, a divergence inside a coreset round is rolled back: the epoch to
    /// resume from, or `None` when there is nothing to roll back to.
    pub(super) fn roll_back_divergence(
        &mut self,
        cfg: &Config,
        trainer: &mut Trainer,
        selector: &mut Option<Box<dyn Selector>>,
        out: &mut Outputs<'_>,
    ) -> Result<Option<usize>, RunError> {
        if !cfg.guard.enabled {
            return Ok(None);
        }
        let mut g = Guard::new(&self.snapshot, &mut self.retries, selector);
        let before = trainer
            .state()
            .preserved
            .as_ref()
            .map_or(0.0, |p| p.accuracy);
        roll_back(
            cfg,
            trainer,
            &mut g,
            out,
            (before, 0.0),
            RollbackReason::Diverged,
        )
    }
}
