//! What a session of the run loop keeps between epochs: where it is, the guard's snapshot
//! and retries, the test hooks already fired, the last test result, and the run's record.

use super::context::{Outputs, PreparedData, RunOptions};
use super::error::RunError;
use super::guard::{Guard, Snapshot, guard_check, roll_back};
use super::state::RunRecord;
use crate::config::Config;
use crate::coreset::Selector;
use crate::events::RollbackReason;
use crate::model::SwastModel;
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
    /// What the checkpoint carries.
    pub(super) rec: RunRecord,
}

impl RunState {
    /// The state of a session that starts after `epoch` epochs with the record `rec`.
    pub(super) fn at(epoch: usize, rec: RunRecord) -> Self {
        Self {
            epoch,
            rec,
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
    pub(super) fn guard<M: SwastModel>(
        &mut self,
        cfg: &Config,
        trainer: &mut Trainer<M>,
        data: &PreparedData,
        selector: &mut Option<Box<dyn Selector>>,
        out: &mut Outputs<'_>,
        snapshot_after: bool,
    ) -> Result<Option<usize>, RunError> {
        let mut g = Guard::new(&self.snapshot, &mut self.retries, selector, &mut self.rec);
        if let Some(back) = guard_check(cfg, trainer, data, &mut g, cfg.eval_batch(), out)? {
            return Ok(Some(back));
        }
        if snapshot_after {
            self.snapshot = Some(Snapshot {
                epoch: self.epoch,
                trainer: trainer.checkpoint_bytes(&[])?,
                selector: selector
                    .as_ref()
                    .map(|s| s.state_bytes())
                    .unwrap_or_default(),
                record: self.rec.clone(),
            });
        }
        Ok(None)
    }

    /// With the guard on, a divergence inside a coreset round is rolled back: the epoch to
    /// resume from, or `None` when there is nothing to roll back to.
    pub(super) fn roll_back_divergence<M: SwastModel>(
        &mut self,
        cfg: &Config,
        trainer: &mut Trainer<M>,
        selector: &mut Option<Box<dyn Selector>>,
        out: &mut Outputs<'_>,
    ) -> Result<Option<usize>, RunError> {
        if !cfg.guard.enabled {
            return Ok(None);
        }
        let before = self.rec.preserved.as_ref().map_or(0.0, |p| p.accuracy);
        let mut g = Guard::new(&self.snapshot, &mut self.retries, selector, &mut self.rec);
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
