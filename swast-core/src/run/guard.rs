//! The critical double-loss guard (beyond the paper): snapshots before a round, the check
//! after it, and the rollback.

use super::context::{Outputs, PreparedData};
use super::error::RunError;
use super::state::RunRecord;
use crate::config::Config;
use crate::coreset::Selector;
use crate::events::{Event, RollbackReason};
use crate::model::SwastModel;
use crate::train::Trainer;
use std::time::Instant;

/// A snapshot for the guard: the epoch it was taken at, the trainer's checkpoint bytes, the
/// selector's state and the run's record.
#[derive(Debug)]
pub(super) struct Snapshot {
    pub(super) epoch: usize,
    pub(super) trainer: Vec<u8>,
    pub(super) selector: Vec<u8>,
    pub(super) record: RunRecord,
}

/// The critical double-loss guard, run before a new selection (and after the last epoch):
/// the accuracy on the coreset stored at the last selection must not have dropped by more
/// than `guard.threshold` since it was recorded. When it has, and retries are left, the
/// trainer is rolled back to the snapshot taken before that round, the coreset fraction is
/// multiplied by `guard.growth` for the retry, a `Rollback` event is emitted, and the epoch
/// to resume from is returned.
/// What the guard reads and resets besides the trainer.
pub(super) struct Guard<'a> {
    snapshot: &'a Option<Snapshot>,
    retries: &'a mut usize,
    selector: Option<&'a mut (dyn Selector + 'static)>,
    record: &'a mut RunRecord,
}

impl<'a> Guard<'a> {
    pub(super) fn new(
        snapshot: &'a Option<Snapshot>,
        retries: &'a mut usize,
        selector: &'a mut Option<Box<dyn Selector>>,
        record: &'a mut RunRecord,
    ) -> Self {
        Self {
            snapshot,
            retries,
            selector: selector.as_deref_mut(),
            record,
        }
    }
}

pub(super) fn guard_check<M: SwastModel>(
    cfg: &Config,
    trainer: &mut Trainer<M>,
    data: &PreparedData,
    g: &mut Guard<'_>,
    eval_batch: usize,
    out: &mut Outputs<'_>,
) -> Result<Option<usize>, RunError> {
    let (Some(stored), Some(_)) = (g.record.preserved.clone(), g.snapshot) else {
        return Ok(None);
    };
    let t0 = Instant::now();
    let probe = trainer.probe(&data.train, &stored.indices, eval_batch);
    let now = probe.correct.iter().filter(|c| **c).count() as f64 / probe.len().max(1) as f64;
    g.record
        .charge_selection(trainer, probe.flops, t0.elapsed().as_secs_f64());
    let drop = stored.accuracy - now;
    if drop <= cfg.guard.threshold {
        *g.retries = 0;
        return Ok(None);
    }
    roll_back(
        cfg,
        trainer,
        g,
        out,
        (stored.accuracy, now),
        RollbackReason::AccuracyDrop,
    )
}

/// Rolls the trainer (and the selector) back to the guard's snapshot, unless there is none or
/// the retries are spent (then `None`): the failed round's cost stays charged to the run, the
/// retry gets a coreset `guard.growth` times larger, and a `Rollback` event says why.
pub(super) fn roll_back<M: SwastModel>(
    cfg: &Config,
    trainer: &mut Trainer<M>,
    g: &mut Guard<'_>,
    out: &mut Outputs<'_>,
    (accuracy_before, accuracy_after): (f64, f64),
    reason: RollbackReason,
) -> Result<Option<usize>, RunError> {
    let Some(snap) = g.snapshot else {
        return Ok(None);
    };
    let retries = &mut *g.retries;
    if *retries >= cfg.guard.max_retries {
        *retries = 0;
        return Ok(None);
    }
    *retries += 1;
    let spent_flops = trainer.state().train_flops;
    trainer.restore_checkpoint_bytes(&snap.trainer)?;
    trainer.set_train_flops(spent_flops);
    if let Some(s) = g.selector.as_deref_mut() {
        s.load_state(&snap.selector)?;
    }
    // back to the snapshot's coreset and stored outputs; what the failed round cost stays
    let now = &*g.record;
    *g.record = RunRecord {
        rollbacks: now.rollbacks + 1,
        selection_flops: now.selection_flops,
        phase_seconds: now.phase_seconds,
        wall_seconds: now.wall_seconds,
        budget_scale: now.budget_scale * cfg.guard.growth,
        ..snap.record.clone()
    };
    let new_fraction = (cfg.coreset.fraction * g.record.budget_scale).min(1.0);
    out.emit(
        &Event::Rollback {
            to_epoch: snap.epoch,
            accuracy_before,
            accuracy_after,
            new_fraction,
            reason,
        },
        true,
    )?;
    Ok(Some(snap.epoch))
}
