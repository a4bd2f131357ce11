//! Typed training events and the sinks they go to (JSON lines, tracing, progress display).
//!
//! Library code never prints: it emits [`Event`]s, and the caller decides where they go.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Something that happened during a run. Serialized as one JSON object per line with an
/// `event` tag, e.g. `{"event":"epoch_end","epoch":3,...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A run started (or resumed at `start_epoch`).
    RunStart {
        /// Method name.
        method: String,
        /// Total epochs.
        epochs: usize,
        /// First epoch to run (0 for a fresh run).
        start_epoch: usize,
        /// Training samples.
        train_samples: usize,
        /// Test samples.
        test_samples: usize,
        /// Dense forward FLOPs of one sample.
        forward_flops: u64,
        /// Trainable parameters.
        params: usize,
    },
    /// An epoch finished.
    EpochEnd {
        /// 1-based epoch number.
        epoch: usize,
        /// Total epochs.
        epochs: usize,
        /// Training phase (`full` for dense full-data training).
        phase: String,
        /// Mean training loss over the epoch.
        train_loss: f64,
        /// Training accuracy over the epoch (a fraction).
        train_accuracy: f64,
        /// Test loss after the epoch.
        test_loss: f64,
        /// Test accuracy after the epoch (a fraction).
        test_accuracy: f64,
        /// Validation accuracy, when a validation split exists.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        val_accuracy: Option<f64>,
        /// Learning rate of the epoch's first step.
        lr: f64,
        /// Samples trained on in this epoch.
        samples: usize,
        /// Wall seconds of the epoch (training and evaluation).
        seconds: f64,
        /// Training FLOPs so far.
        train_flops: f64,
        /// Share of zero weights over all prunable weights.
        sparsity: f64,
        /// Mask updates that changed the mask so far (0 without a pruner).
        #[serde(default)]
        mask_updates: u64,
    },
    /// A coreset was selected.
    Selection {
        /// 1-based round.
        round: usize,
        /// The (1-based) epoch it starts.
        epoch: usize,
        /// Samples selected.
        size: usize,
        /// Wall seconds of probe + selection.
        seconds: f64,
        /// FLOPs of probe + selection.
        flops: f64,
        /// Share of noisy labels in the coreset, when label noise is on.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        noisy_share: Option<f64>,
    },
    /// The double-loss guard rolled a round back.
    Rollback {
        /// The epoch training resumes from (0-based count of epochs done).
        to_epoch: usize,
        /// Accuracy on the stored coreset when it was recorded.
        accuracy_before: f64,
        /// Accuracy on it at the end of the round.
        accuracy_after: f64,
        /// The coreset fraction of the retry.
        new_fraction: f64,
        /// Why: `"accuracy drop"` (the double-loss check) or `"diverged"` (a NaN or infinite
        /// loss or weight).
        #[serde(default)]
        reason: String,
    },
    /// A checkpoint was written.
    Checkpoint {
        /// The epoch it holds.
        epoch: usize,
        /// Where.
        path: PathBuf,
    },
    /// The run finished.
    RunEnd {
        /// Final test accuracy.
        test_accuracy: f64,
        /// Wall seconds over all sessions of the run.
        wall_seconds: f64,
    },
}

/// Where events go.
pub trait EventSink {
    /// Receives one event.
    fn emit(&mut self, event: &Event) -> std::io::Result<()>;
}

/// Discards events.
#[derive(Debug, Default)]
pub struct NullSink;

impl EventSink for NullSink {
    fn emit(&mut self, _: &Event) -> std::io::Result<()> {
        Ok(())
    }
}

/// Collects events in memory (tests, reports).
#[derive(Debug, Default)]
pub struct VecSink(pub Vec<Event>);

impl EventSink for VecSink {
    fn emit(&mut self, e: &Event) -> std::io::Result<()> {
        self.0.push(e.clone());
        Ok(())
    }
}

/// Appends each event as one JSON line to a file, flushed after every line.
#[derive(Debug)]
pub struct JsonlSink {
    path: PathBuf,
    file: std::fs::File,
}

impl JsonlSink {
    /// Opens `path` for appending (creating it).
    pub fn append(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
        })
    }
    /// The file written to.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// Current length of the file in bytes.
    pub fn len(&self) -> std::io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }
    /// True when nothing has been written.
    pub fn is_empty(&self) -> std::io::Result<bool> {
        Ok(self.len()? == 0)
    }
}

impl EventSink for JsonlSink {
    fn emit(&mut self, e: &Event) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(e)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.flush()
    }
}

/// Sends every event to several sinks.
#[derive(Default)]
pub struct Fanout<'a>(pub Vec<&'a mut dyn EventSink>);

impl std::fmt::Debug for Fanout<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fanout({} sinks)", self.0.len())
    }
}

impl EventSink for Fanout<'_> {
    fn emit(&mut self, e: &Event) -> std::io::Result<()> {
        for s in &mut self.0 {
            s.emit(e)?;
        }
        Ok(())
    }
}

/// Logs events through `tracing` at info level.
#[derive(Debug, Default)]
pub struct TracingSink;

impl EventSink for TracingSink {
    fn emit(&mut self, e: &Event) -> std::io::Result<()> {
        tracing::info!(target: "swast::events", "{}", serde_json::to_string(e)?);
        Ok(())
    }
}
