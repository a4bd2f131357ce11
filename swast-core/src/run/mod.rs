//! One run, end to end: Algorithm 1 of the SWaST paper with its baselines switched in by the
//! config (dense, coreset-only, pruning-only, SWaST-trim, SWaST-cut).
//!
//! `swast-cli/examples/library_run.rs` drives a SWaST-cut run from library code with its own
//! [`EventSink`].
//!
//! - `session`: one session of the loop — its context (config, data, options, folder,
//!   outputs) and loop state (trainer, selector, run state with the guard) — with the
//!   phases as methods: select a round, train an epoch, evaluate, guard, checkpoint, finish;
//! - [`setup`]: the pluggable parts, the data, the trainer;
//! - [`round`]: when to select, how much, one selection round (and the outputs SWaST-cut
//!   stores for state preservation);
//! - `epoch`: one training epoch, its evaluation and log line;
//! - `guard`: the critical double-loss guard (beyond the paper);
//! - `loop_state`, `state`: the loop's own state between epochs, and the run's record;
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
mod session;
pub mod setup;
mod state;

pub use crate::config::fraction_budget;
pub use context::{PreparedData, RunOptions};
pub use error::RunError;
pub use folder::{Summary, default_run_dir};
pub use round::RoundRecord;
pub use setup::{Components, DenseOnly, build_trainer, load_run, load_run_with, prepare_data};
pub use state::{PhaseSeconds, RunRecord, TrajectoryPoint, TrajectorySummary};

use crate::events::EventSink;
use crate::model::{ModelFactory, NetworkFactory, SwastModel};
use crate::schedule::Phase;
use burn::tensor::Device;
use session::Session;
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
    let mut s = match Session::open((cfg, dir, opts), device, sink, (parts, model))? {
        Ok(session) => session,
        Err(finished) => return Ok(finished),
    };
    s.start()?;
    while s.epoch() < cfg.train.epochs {
        s.check_stop()?;
        let t = s.epoch() + 1;
        // full data for the warm-up, then every R epochs a new coreset
        let phase = s.phase(t);
        // the guard checks the last round before a new one starts, then snapshots
        if phase == Phase::Select && s.guard_rolled_back(true)? {
            continue;
        }
        if phase == Phase::Skip {
            s.skip_epoch();
            continue;
        }
        let t0 = Instant::now();
        // select with the *current* (sparse) model; SWaST-cut stores its outputs on the coreset
        if phase == Phase::Select {
            s.select_round(t)?;
        }
        // train: pruning in every step, CE + λ·KL(stored ‖ current) for SWaST-cut
        let Some(trained) = s.train_epoch(t)? else {
            continue; // diverged, and the guard rolled the round back
        };
        let test = s.evaluate(t, t0, trained)?;
        // the last round is checked too
        if t == cfg.train.epochs && s.guard_rolled_back(false)? {
            continue;
        }
        s.checkpoint(t, test)?;
    }
    s.finish()
}
