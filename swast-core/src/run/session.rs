//! One session of a run: its context (config, data, options, folder, outputs: fixed for the
//! session) and its loop state (trainer, selector, and the run state with the guard inside),
//! with the phases of Algorithm 1 as methods. `run/mod.rs` calls them in the paper's order.

use super::context::{Outputs, PreparedData, RunOptions};
use super::epoch::{self, Trained};
use super::error::RunError;
use super::folder::{RunFolder, Summary};
use super::loop_state::RunState;
use super::round;
use super::setup;
use crate::config::Config;
use crate::coreset::Selector;
use crate::events::{Event, EventSink};
use crate::model::{ModelFactory, SwastModel, trainable_params};
use crate::run::Components;
use crate::schedule::{Phase, Schedule};
use crate::train::{PassStats, TrainError, Trainer};
use burn::tensor::Device;
use std::path::Path;
use std::time::Instant;

/// What stays fixed during a session.
struct Context<'a> {
    cfg: &'a Config,
    dir: &'a Path,
    opts: &'a RunOptions,
    schedule: Schedule,
    data: PreparedData,
    folder: RunFolder,
    /// Where events go: the run's `metrics.jsonl` and the caller's sink.
    out: Outputs<'a>,
}

/// What the loop changes from epoch to epoch.
struct LoopState<M: SwastModel> {
    trainer: Trainer<M>,
    selector: Option<Box<dyn Selector>>,
    st: RunState,
}

/// A session of the run loop. See the module documentation.
pub(super) struct Session<'a, M: SwastModel> {
    ctx: Context<'a>,
    lp: LoopState<M>,
}

impl<'a, M: SwastModel> Session<'a, M> {
    /// Opens the run folder of the resolved config `cfg` in `dir` and resumes from its
    /// checkpoint (or starts afresh); `Err` holds the summary of a run that already finished.
    pub(super) fn open(
        (cfg, dir, opts): (&'a Config, &'a Path, &'a RunOptions),
        device: &Device,
        sink: &'a mut dyn EventSink,
        (parts, model): (&dyn Components, &dyn ModelFactory<M>),
    ) -> Result<Result<Self, Summary>, RunError> {
        let (folder, metrics, data, trainer, selector, record) =
            match setup::open(cfg, device, dir, opts, (parts, model))? {
                Ok(session) => session,
                Err(finished) => return Ok(Err(finished)),
            };
        let st = RunState::at(trainer.state().epoch, record);
        Ok(Ok(Self {
            ctx: Context {
                cfg,
                dir,
                opts,
                schedule: cfg.schedule(),
                data,
                out: Outputs {
                    metrics,
                    metrics_path: folder.metrics.clone(),
                    sink,
                },
                folder,
            },
            lp: LoopState {
                trainer,
                selector,
                st,
            },
        }))
    }

    /// Emits the session's `RunStart`.
    pub(super) fn start(&mut self) -> Result<(), RunError> {
        let (cfg, trainer, data) = (self.ctx.cfg, &self.lp.trainer, &self.ctx.data);
        let e = Event::RunStart {
            method: cfg.method.as_str().into(),
            epochs: cfg.train.epochs,
            start_epoch: trainer.state().epoch,
            train_samples: data.train.len(),
            test_samples: data.test.len(),
            forward_flops: trainer.forward_flops(),
            params: trainable_params(trainer.model()),
        };
        self.ctx.out.emit(&e, true)
    }

    /// Epochs done (the next epoch is `epoch() + 1`).
    pub(super) fn epoch(&self) -> usize {
        self.lp.st.epoch
    }

    /// Stops at an epoch boundary when asked (Ctrl-C, or the test hook's epoch count).
    pub(super) fn check_stop(&self) -> Result<(), RunError> {
        self.lp.st.check_stop(self.ctx.opts, self.ctx.dir)
    }

    /// What (1-based) epoch `t` does: full data for the warm-up (and until the first
    /// multiple of R), then a new coreset every R epochs; baselines without a selector
    /// always train on full data.
    pub(super) fn phase(&self, t: usize) -> Phase {
        match self.lp.selector {
            Some(_) => self.ctx.schedule.phase(t),
            None => Phase::Full,
        }
    }

    /// Counts epoch `t` without training (CORDS' skipped epochs).
    pub(super) fn skip_epoch(&mut self) {
        self.lp.trainer.skip_epoch();
        self.lp.st.epoch += 1;
    }

    /// The guard (when `guard.enabled`, on a run that selects) checks the last round; true
    /// when it rolled back (the loop goes on from the round's start). `before_round`: a new
    /// round comes next, so a snapshot is taken for it when nothing was rolled back.
    pub(super) fn guard_rolled_back(&mut self, before_round: bool) -> Result<bool, RunError> {
        if !self.ctx.cfg.guard.enabled || self.lp.selector.is_none() {
            return Ok(false);
        }
        let Self { ctx, lp } = self;
        let back = lp.st.guard(
            ctx.cfg,
            &mut lp.trainer,
            &ctx.data,
            &mut lp.selector,
            &mut ctx.out,
            before_round,
        )?;
        Ok(back.map(|e| lp.st.epoch = e).is_some())
    }

    /// Selects the coreset of the round that starts at epoch `t` with the *current* (sparse)
    /// model; SWaST-cut stores the model's outputs on it for state preservation.
    pub(super) fn select_round(&mut self, t: usize) -> Result<(), RunError> {
        let Self { ctx, lp } = self;
        epoch::before_first_selection(ctx.cfg, &mut lp.trainer, &ctx.data, &mut lp.st.rec, t);
        let sel = lp
            .selector
            .as_deref_mut()
            .expect("selection phases need a selector");
        let round = round::select(
            ctx.cfg,
            &mut lp.trainer,
            sel,
            &ctx.data,
            (&mut lp.st.rec, ctx.dir),
        )?;
        ctx.out.emit(&round, true)
    }

    /// Trains epoch `t`: pruning in every step, CE + λ·KL(stored ‖ current) for SWaST-cut.
    /// `None` when it diverged and the guard rolled the round back.
    pub(super) fn train_epoch(&mut self, t: usize) -> Result<Option<Trained>, RunError> {
        let Self { ctx, lp } = self;
        let trained = epoch::train(
            ctx.cfg,
            &mut lp.trainer,
            &ctx.data,
            &mut lp.selector,
            &mut lp.st,
            ctx.opts,
            t,
        );
        match trained {
            Err(e @ TrainError::Diverged { .. }) => {
                // with the guard on, a divergence is rolled back to the round's snapshot
                let back = lp
                    .st
                    .roll_back_divergence(ctx.cfg, &mut lp.trainer, &mut lp.selector, &mut ctx.out)?
                    .ok_or(e)?;
                lp.st.epoch = back;
                Ok(None)
            }
            other => Ok(Some(other?)),
        }
    }

    /// Evaluates after epoch `t` when due and logs the epoch (`t0`: when the epoch, its
    /// selection included, started). Returns the test result, when evaluated.
    pub(super) fn evaluate(
        &mut self,
        t: usize,
        t0: Instant,
        trained: Trained,
    ) -> Result<Option<(PassStats, Option<f64>)>, RunError> {
        let Self { ctx, lp } = self;
        let rec_out = (&mut ctx.out, &mut lp.st.rec);
        epoch::evaluate(
            ctx.cfg,
            &mut lp.trainer,
            &ctx.data,
            rec_out,
            (t, t0),
            trained,
        )
    }

    /// Writes the checkpoint of epoch `t` when it is due (`train.checkpoint_every`, the last
    /// epoch, a stop) and closes the epoch (`test`: its test result).
    pub(super) fn checkpoint(
        &mut self,
        t: usize,
        test: Option<(PassStats, Option<f64>)>,
    ) -> Result<(), RunError> {
        let Self { ctx, lp } = self;
        let every = ctx.cfg.train.checkpoint_every.max(1);
        let stopping = ctx.opts.stop_after_epoch == Some(t)
            || ctx
                .opts
                .stop
                .as_ref()
                .is_some_and(|s| s.load(std::sync::atomic::Ordering::SeqCst));
        if t.is_multiple_of(every) || t == ctx.cfg.train.epochs || stopping {
            let t0 = Instant::now();
            ctx.folder.checkpoint(
                (&lp.trainer, &mut lp.st.rec),
                lp.selector.as_deref(),
                &mut ctx.out,
                t,
            )?;
            lp.st.rec.phase_seconds.checkpoint += t0.elapsed().as_secs_f64();
        }
        if test.is_some() {
            lp.st.last_test = test;
        }
        lp.st.epoch += 1;
        Ok(())
    }

    /// The final evaluation, `summary.json`, the masks and the coreset: the run's result.
    pub(super) fn finish(mut self) -> Result<Summary, RunError> {
        let last = self.lp.st.last_test.take();
        let Self { mut ctx, lp } = self;
        ctx.folder.finish(
            (ctx.cfg, &lp.st.rec),
            &lp.trainer,
            &ctx.data,
            last,
            &mut ctx.out,
        )
    }
}
