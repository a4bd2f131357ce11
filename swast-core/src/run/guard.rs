//! The critical double-loss guard (beyond the paper): snapshots before a round, the check
//! after it, and the rollback.

use super::error::RunError;
use super::folder::Outputs;
use super::setup::PreparedData;
use crate::config::Config;
use crate::coreset::Selector;
use crate::events::{Event, RollbackReason};
use crate::train::Trainer;
use std::time::Instant;

/// A snapshot for the guard: the epoch it was taken at, the trainer's checkpoint bytes and
/// the selector's state.
pub(super) type Snapshot = (usize, (Vec<u8>, Vec<u8>));

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
}

impl<'a> Guard<'a> {
    pub(super) fn new(
        snapshot: &'a Option<Snapshot>,
        retries: &'a mut usize,
        selector: &'a mut Option<Box<dyn Selector>>,
    ) -> Self {
        Self {
            snapshot,
            retries,
            selector: selector.as_deref_mut(),
        }
    }
}

pub(super) fn guard_check(
    cfg: &Config,
    trainer: &mut Trainer,
    data: &PreparedData,
    g: &mut Guard<'_>,
    eval_batch: usize,
    out: &mut Outputs<'_>,
) -> Result<Option<usize>, RunError> {
    let (Some(stored), Some(_)) = (trainer.state().preserved.clone(), g.snapshot) else {
        return Ok(None);
    };
    let t0 = Instant::now();
    let probe = trainer.probe(&data.train, &stored.indices, eval_batch);
    let now = probe.correct.iter().filter(|c| **c).count() as f64 / probe.len().max(1) as f64;
    trainer
        .state_mut()
        .charge_selection(probe.flops, t0.elapsed().as_secs_f64());
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
pub(super) fn roll_back(
    cfg: &Config,
    trainer: &mut Trainer,
    g: &mut Guard<'_>,
    out: &mut Outputs<'_>,
    (accuracy_before, accuracy_after): (f64, f64),
    reason: RollbackReason,
) -> Result<Option<usize>, RunError> {
    let Some((back, (bytes, sel_state))) = g.snapshot else {
        return Ok(None);
    };
    let retries = &mut *g.retries;
    if *retries >= cfg.guard.max_retries {
        *retries = 0;
        return Ok(None);
    }
    *retries += 1;
    let (rollbacks, flops, secs, scale, wall) = {
        let st = trainer.state();
        (
            st.rollbacks,
            st.selection_flops,
            st.phase_seconds,
            st.budget_scale,
            st.wall_seconds,
        )
    };
    let spent_flops = trainer.state().train_flops;
    trainer.restore_checkpoint_bytes(bytes)?;
    if let Some(s) = g.selector.as_deref_mut() {
        s.load_state(sel_state)?;
    }
    let st = trainer.state_mut();
    st.rollbacks = rollbacks + 1;
    st.train_flops = spent_flops;
    st.selection_flops = flops;
    st.phase_seconds = secs;
    st.wall_seconds = wall;
    st.budget_scale = scale * cfg.guard.growth;
    let new_fraction = (cfg.coreset.fraction * st.budget_scale).min(1.0);
    out.emit(
        &Event::Rollback {
            to_epoch: *back,
            accuracy_before,
            accuracy_after,
            new_fraction,
            reason,
        },
        true,
    )?;
    Ok(Some(*back))
}
