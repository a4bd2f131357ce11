//! One training epoch of the loop, and its evaluation and log line.

use super::context::{Outputs, PreparedData, RunOptions};
use super::error::RunError;
use super::loop_state::RunState;
use super::state::RunRecord;
use crate::config::{Config, Method, PreserveMode};
use crate::coreset::Selector;
use crate::events::{EpochPhase, Event};
use crate::model::SwastModel;
use crate::train::{EpochOptions, PassStats, TrainError, Trainer};
use std::time::Instant;

/// What an epoch of training did.
#[derive(Debug)]
pub(super) struct Trained {
    stats: PassStats,
    /// The learning rate of its first step.
    lr: f64,
    /// Whether it trained on a coreset.
    on_coreset: bool,
    /// Wall seconds of the optimizer steps.
    seconds: f64,
}

/// Trains (1-based) epoch `t` on the current coreset (the whole training set when there is
/// none), with the selection weights when `coreset.weighted`, the selector observing
/// per-sample correctness when it keeps a history, and SWaST-cut's `λ·KL(stored ‖ current)`
/// when preservation is on. A loss or weight that is no longer finite is a divergence.
pub(super) fn train<M: SwastModel>(
    cfg: &Config,
    trainer: &mut Trainer<M>,
    data: &PreparedData,
    selector: &mut Option<Box<dyn Selector>>,
    st: &mut RunState,
    opts: &RunOptions,
    t: usize,
) -> Result<Trained, TrainError> {
    let all: Vec<usize> = (0..data.train.len()).collect();
    let lr = trainer.current_lr();
    let coreset = st.rec.coreset.clone();
    let preserved = st.rec.preserved.clone();
    let (view, weights) = match &coreset {
        Some(c) => (
            c.indices.as_slice(),
            cfg.coreset.weighted.then_some(c.weights.as_slice()),
        ),
        None => (all.as_slice(), None),
    };
    let observer = match selector.as_mut() {
        Some(s) if s.observes() => Some(s.as_mut() as &mut dyn Selector),
        _ => None,
    };
    let preserve = match (&preserved, cfg.method, cfg.preserve.mode) {
        (Some(p), Method::SwastCut, m) if m != PreserveMode::Off => Some((p, cfg.preserve.lambda)),
        _ => None,
    };
    let tt = Instant::now();
    let trained = trainer.train_epoch(
        &data.train,
        view,
        EpochOptions {
            weights,
            observer,
            preserve,
        },
    );
    let seconds = tt.elapsed().as_secs_f64();
    if opts.collapse_after_epoch == Some(t) && !st.injected {
        st.injected = true;
        trainer.inject_collapse();
    }
    if opts.nan_after_epoch == Some(t) && !st.poisoned {
        st.poisoned = true;
        trainer.inject_nan();
    }
    let (sum, sq) = trainer.weight_checksum();
    let stats = match trained {
        Ok(_) if !(sum.is_finite() && sq.is_finite()) => Err(TrainError::Diverged {
            epoch: t,
            step: trainer.state().step,
            loss: f64::NAN,
        }),
        other => other,
    }?;
    Ok(Trained {
        stats,
        lr,
        on_coreset: coreset.is_some(),
        seconds,
    })
}

/// Evaluates after (1-based) epoch `t` when it is due ([`evaluates`]: the test set, and the
/// validation split when there is one), books the epoch's times (`t0`: when the epoch, its
/// selection included, started) and emits its `EpochEnd`. Returns the test result and the
/// validation accuracy, when evaluated.
pub(super) fn evaluate<M: SwastModel>(
    cfg: &Config,
    trainer: &mut Trainer<M>,
    data: &PreparedData,
    (out, st): (&mut Outputs<'_>, &mut RunRecord),
    (t, t0): (usize, Instant),
    tr: Trained,
) -> Result<Option<(PassStats, Option<f64>)>, RunError> {
    let eval_batch = cfg.eval_batch();
    let te_t = Instant::now();
    st.samples_since_eval += tr.stats.samples as u64;
    let evaluated = evaluates(cfg, data, t, st.samples_since_eval).then(|| {
        let te = trainer.evaluate(&data.test, eval_batch);
        let va = data
            .val
            .as_ref()
            .map(|v| trainer.evaluate(v, eval_batch).accuracy);
        (te, va)
    });
    let seconds = t0.elapsed().as_secs_f64();
    if let Some((te, _)) = &evaluated {
        st.samples_since_eval = 0;
        st.best_test_accuracy = st.best_test_accuracy.max(te.accuracy);
        st.trajectory.push(super::state::TrajectoryPoint {
            epoch: t,
            test_accuracy: te.accuracy,
            rounds: st.rounds,
        });
    }
    st.last_train_accuracy = tr.stats.accuracy;
    st.wall_seconds += seconds;
    st.phase_seconds.train += tr.seconds;
    let eval_seconds = te_t.elapsed().as_secs_f64();
    st.phase_seconds.eval += eval_seconds;
    out.emit(
        &Event::EpochEnd {
            epoch: t,
            epochs: cfg.train.epochs,
            phase: if tr.on_coreset {
                EpochPhase::Coreset
            } else {
                EpochPhase::Full
            },
            train_loss: tr.stats.loss,
            train_accuracy: tr.stats.accuracy,
            test_loss: evaluated.as_ref().map(|e| e.0.loss),
            test_accuracy: evaluated.as_ref().map(|e| e.0.accuracy),
            val_accuracy: evaluated.as_ref().and_then(|e| e.1),
            lr: tr.lr,
            samples: tr.stats.samples,
            seconds,
            eval_seconds,
            train_flops: trainer.state().train_flops,
            sparsity: trainer.overall_sparsity(),
            mask_updates: trainer.state().mask_updates,
        },
        true,
    )?;
    Ok(evaluated)
}

/// Before the first selection round (starting epoch `t`): the test accuracy of the model
/// the round will probe, kept in the record. The evaluation of epoch `t − 1` is reused when
/// the cadence made one; otherwise the test set is evaluated now (no weight, random stream
/// or schedule changes: the run's arithmetic stays the same).
pub(super) fn before_first_selection<M: SwastModel>(
    cfg: &Config,
    trainer: &mut Trainer<M>,
    data: &PreparedData,
    st: &mut RunRecord,
    t: usize,
) {
    if st.rounds > 0 || st.accuracy_at_first_selection.is_some() {
        return;
    }
    let acc = match st.trajectory.last() {
        Some(p) if p.epoch + 1 == t => p.test_accuracy,
        _ => {
            let t0 = Instant::now();
            let acc = trainer.evaluate(&data.test, cfg.eval_batch()).accuracy;
            st.phase_seconds.eval += t0.elapsed().as_secs_f64();
            acc
        }
    };
    st.accuracy_at_first_selection = Some(acc);
}

/// Whether epoch `t` is evaluated: every `train.eval_every` epochs and the last one; with
/// 0 (automatic), once `since` samples trained since the last evaluation reach three times
/// the evaluated sets' size (a forward pass costs about a third of a training step, so
/// evaluation stays near a tenth of the training it follows).
pub(super) fn evaluates(cfg: &Config, data: &PreparedData, t: usize, since: u64) -> bool {
    if t == cfg.train.epochs {
        return true;
    }
    match cfg.train.eval_every {
        0 => {
            let eval_set = data.test.len() + data.val.as_ref().map_or(0, |v| v.len());
            since >= 3 * eval_set as u64
        }
        k => t.is_multiple_of(k),
    }
}
