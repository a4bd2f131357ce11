//! One run, end to end: Algorithm 1 of the SWaST paper with its baselines switched in by the
//! config (dense, coreset-only, pruning-only, SWaST-trim, SWaST-cut).
//!
//! `swast-cli/examples/library_run.rs` drives a SWaST-cut run from library code with its own
//! [`EventSink`].
//!
//! - [`setup`]: the pluggable parts, the data, the trainer;
//! - [`round`]: when to select, how much, one selection round (and the outputs SWaST-cut
//!   stores for state preservation);
//! - `epoch`: one training epoch, its evaluation and log line;
//! - `guard`: the critical double-loss guard (beyond the paper);
//! - `state`: the loop's own state between epochs;
//! - [`folder`]: the run folder (`config.toml`, `metrics.jsonl`, `summary.json`,
//!   `checkpoint.bin`, `coresets/`), exact resume and the summary.

mod context;
mod epoch;
mod error;
pub mod files;
pub mod folder;
mod guard;
pub mod lock;
mod loop_state;
pub mod round;
pub mod setup;
mod state;

pub use context::{PreparedData, RunOptions};
pub use error::RunError;
pub use folder::{Summary, default_run_dir};
pub use round::{RoundRecord, budget_of, fraction_budget, scaled_budget, schedule_of, selects};
pub use setup::{Components, DenseOnly, build_trainer, load_run, load_run_with, prepare_data};
pub use state::{PhaseSeconds, RunRecord, TrajectoryPoint, TrajectorySummary};

use crate::events::{Event, EventSink};
use crate::model::{ModelFactory, NetworkFactory, SwastModel, trainable_params};
use crate::schedule::Phase;
use crate::train::TrainError;
use burn::tensor::Device;
use context::Outputs;
use loop_state::RunState;
use std::path::Path;
use std::time::Instant;

/// Runs `cfg` on `device` in the folder `dir`, resuming from its checkpoint when there is one
/// and returning the existing summary when the run already finished. The model is the
/// `[model]` section's architecture; [`run_with_model`] trains a model of your own.
pub fn run(
    cfg: &crate::config::Config,
    device: &Device,
    dir: &Path,
    opts: &RunOptions,
    sink: &mut dyn EventSink,
    parts: &dyn Components,
) -> Result<Summary, RunError> {
    run_with_model(cfg, device, dir, opts, sink, parts, &NetworkFactory)
}

/// [`run`] on the model `model` builds (any [`SwastModel`]: a burn module of your own, see
/// `swast/examples/custom_model.rs`). Everything else is the same run: schedule, pruners,
/// selectors, state preservation, guard, run folder and resume.
pub fn run_with_model<M: SwastModel>(
    cfg: &crate::config::Config,
    device: &Device,
    dir: &Path,
    opts: &RunOptions,
    sink: &mut dyn EventSink,
    parts: &dyn Components,
    model: &dyn ModelFactory<M>,
) -> Result<Summary, RunError> {
    let cfg = &cfg.clone().resolve(&parts.plugins())?;
    let (folder, mut metrics, data, mut trainer, mut selector, record) =
        match setup::open(cfg, device, dir, opts, (parts, model))? {
            Ok(session) => session,
            Err(finished) => return Ok(finished),
        };
    let mut out = Outputs {
        metrics: &mut metrics,
        metrics_path: &folder.metrics,
        sink,
    };
    out.emit(&run_start(cfg, &trainer, &data), true)?;
    let schedule = schedule_of(cfg);
    let mut st = RunState::at(trainer.state().epoch, record);
    while st.epoch < cfg.train.epochs {
        st.check_stop(opts, dir)?;
        let t = st.epoch + 1;
        // full data for the warm-up (and until the first multiple of R), then every R epochs
        // a new coreset; baselines without a selector always train on full data
        let phase = match selector {
            Some(_) => schedule.phase(t),
            None => Phase::Full,
        };
        // the guard checks the last round before a new one starts, then snapshots
        if phase == Phase::Select
            && cfg.guard.enabled
            && let Some(back) = st.guard(cfg, &mut trainer, &data, &mut selector, &mut out, true)?
        {
            st.epoch = back;
            continue;
        }
        if phase == Phase::Skip {
            trainer.skip_epoch();
            st.epoch += 1;
            continue;
        }
        let t0 = Instant::now();
        // select with the *current* (sparse) model; SWaST-cut stores its outputs on the coreset
        if phase == Phase::Select {
            epoch::before_first_selection(cfg, &mut trainer, &data, &mut st.rec, t);
            let sel = selector
                .as_deref_mut()
                .expect("selection phases need a selector");
            let round = round::select(cfg, &mut trainer, sel, &data, (&mut st.rec, dir))?;
            out.emit(&round, true)?;
        }
        // train: pruning in every step, CE + λ·KL(stored ‖ current) for SWaST-cut
        let trained = match epoch::train(cfg, &mut trainer, &data, &mut selector, &mut st, opts, t)
        {
            Err(e @ TrainError::Diverged { .. }) => {
                // with the guard on, a divergence is rolled back to the round's snapshot
                st.epoch = st
                    .roll_back_divergence(cfg, &mut trainer, &mut selector, &mut out)?
                    .ok_or(e)?;
                continue;
            }
            other => other?,
        };
        let rec_out = (&mut out, &mut st.rec);
        let test = epoch::evaluate(cfg, &mut trainer, &data, rec_out, (t, t0), trained)?;
        // the last round is checked too
        if t == cfg.train.epochs
            && cfg.guard.enabled
            && selector.is_some()
            && let Some(back) =
                st.guard(cfg, &mut trainer, &data, &mut selector, &mut out, false)?
        {
            st.epoch = back;
            continue;
        }
        folder.checkpoint((&trainer, &mut st.rec), selector.as_deref(), &mut out, t)?;
        if test.is_some() {
            st.last_test = test;
        }
        st.epoch += 1;
    }
    let last = st.last_test.take();
    folder.finish((cfg, &st.rec), &trainer, &data, last, &mut out)
}

/// The `RunStart` event of a session.
fn run_start<M: SwastModel>(
    cfg: &crate::config::Config,
    trainer: &crate::Trainer<M>,
    data: &PreparedData,
) -> Event {
    Event::RunStart {
        method: cfg.method.as_str().into(),
        epochs: cfg.train.epochs,
        start_epoch: trainer.state().epoch,
        train_samples: data.train.len(),
        test_samples: data.test.len(),
        forward_flops: trainer.forward_flops(),
        params: trainable_params(trainer.model()),
    }
}
