//! What the phases of a run share: its options, its data and where its events go. Nothing
//! here imports the other files of `run/`.

use super::error::{RunError, io_err};
use crate::events::{Event, EventSink, JsonlSink};
use burn::tensor::Device;
use std::path::{Path, PathBuf};
use swast_data::Dataset;

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Stop (with a checkpoint written) after this many epochs in total, as an interruption
    /// would; the next run resumes from there.
    pub stop_after_epoch: Option<usize>,
    /// Test hook: zero every weight at the end of this (1-based) epoch, once, to simulate a
    /// collapse the guard must catch.
    pub collapse_after_epoch: Option<usize>,
    /// Test hook: set one weight to NaN at the end of this (1-based) epoch, once, to simulate
    /// a divergence.
    pub nan_after_epoch: Option<usize>,
    /// Set (e.g. by a Ctrl-C handler) to stop cleanly at the next epoch boundary, after the
    /// checkpoint of the epoch in progress is written.
    pub stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Devices to shard probe passes over (selection, the guard, state preservation); empty:
    /// one flex device per core on flex, the run's device otherwise. Rows do not depend on
    /// each other, so results do not change.
    pub probe_devices: Vec<Device>,
}

/// The data a run trains and tests on, prepared from its config.
#[derive(Debug, Clone)]
pub struct PreparedData {
    /// Training set (noisy labels applied, validation held out, subset taken).
    pub train: Dataset,
    /// Test set.
    pub test: Dataset,
    /// Validation set, when `data.val_fraction > 0`.
    pub val: Option<Dataset>,
}

/// Where a run's events go: the run's `metrics.jsonl` and the caller's sink.
pub(super) struct Outputs<'a> {
    pub(super) metrics: JsonlSink,
    pub(super) metrics_path: PathBuf,
    pub(super) sink: &'a mut dyn EventSink,
}

impl Outputs<'_> {
    pub(super) fn emit(&mut self, e: &Event, to_metrics: bool) -> Result<(), RunError> {
        if to_metrics {
            self.metrics.emit(e).map_err(io_err(&self.metrics_path))?;
        }
        self.sink.emit(e).map_err(io_err(Path::new("<event sink>")))
    }
}
