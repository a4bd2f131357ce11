//! Typed training events and the sinks they go to (JSON lines, tracing, progress display).
//!
//! Library code never prints: it emits [`Event`]s, and the caller decides where they go.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What an epoch trained on (serialized `"full"` / `"coreset"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EpochPhase {
    /// The full training set.
    Full,
    /// The current coreset.
    Coreset,
}

impl EpochPhase {
    /// The serialized spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EpochPhase::Full => "full",
            EpochPhase::Coreset => "coreset",
        }
    }
}

impl std::fmt::Display for EpochPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// Why the guard rolled a round back (serialized `"accuracy drop"` / `"diverged"`; logs
/// written before the reason existed read as an accuracy drop, the only reason then).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum RollbackReason {
    /// The double-loss check: accuracy on the stored coreset fell by more than the threshold.
    #[default]
    #[serde(rename = "accuracy drop")]
    AccuracyDrop,
    /// A NaN or infinite loss or weight.
    #[serde(rename = "diverged")]
    Diverged,
}

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
        /// Training phase: full data or the current coreset.
        phase: EpochPhase,
        /// Mean training loss over the epoch.
        train_loss: f64,
        /// Training accuracy over the epoch (a fraction).
        train_accuracy: f64,
        /// Test loss after the epoch (`None`: not evaluated, see `train.eval_every`).
        test_loss: Option<f64>,
        /// Test accuracy after the epoch, a fraction (`None`: not evaluated).
        test_accuracy: Option<f64>,
        /// Validation accuracy, when a validation split exists.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        val_accuracy: Option<f64>,
        /// Learning rate of the epoch's first step.
        lr: f64,
        /// Samples trained on in this epoch.
        samples: usize,
        /// Wall seconds of the epoch (its selection, training and evaluation).
        seconds: f64,
        /// Of `seconds`, those spent evaluating (0 when not evaluated).
        #[serde(default)]
        eval_seconds: f64,
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
        /// Of `seconds`, the probe: the model's pass over the training set (and the
        /// validation split, for selectors that use it). The rest is the selector itself.
        #[serde(default)]
        probe_seconds: f64,
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
        /// Why the round was rolled back.
        #[serde(default)]
        reason: RollbackReason,
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

/// The current UTC time in RFC 3339 with milliseconds, e.g. `2026-12-04T22:15:03.123Z`.
pub fn utc_now() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(d.as_secs() as i64, d.subsec_millis())
}

/// `secs` after the Unix epoch (and `ms`) as `YYYY-MM-DDTHH:MM:SS.mmmZ` (proleptic
/// Gregorian calendar; Hinnant's days-to-civil algorithm).
pub fn rfc3339(secs: i64, ms: u32) -> String {
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let (era, doe) = (z.div_euclid(146_097), z.rem_euclid(146_097));
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

impl EventSink for JsonlSink {
    /// One line per event, its UTC time first: `{"time":"…Z","event":"epoch_end",…}`
    /// (pandas: `pd.read_json(path, lines=True, convert_dates=["time"])`).
    fn emit(&mut self, e: &Event) -> std::io::Result<()> {
        let body = serde_json::to_vec(e)?;
        let mut line = format!("{{\"time\":\"{}\",", utc_now()).into_bytes();
        line.extend_from_slice(body.get(1..).unwrap_or_default());
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

#[cfg(test)]
mod time_tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(rfc3339(1_796_423_703, 123), "2026-12-04T22:35:03.123Z");
        assert_eq!(rfc3339(-1, 0), "1969-12-31T23:59:59.000Z");
    }

    #[test]
    fn every_metrics_line_starts_with_its_utc_time_and_still_parses() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("m.jsonl");
        let mut s = JsonlSink::append(&p).unwrap();
        let e = Event::RunEnd {
            test_accuracy: 0.5,
            wall_seconds: 1.0,
        };
        s.emit(&e).unwrap();
        let line = std::fs::read_to_string(&p).unwrap();
        assert!(line.starts_with("{\"time\":\"20"), "{line}");
        let back: Event = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(back, e);
        let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
        assert!(v["time"].as_str().unwrap().ends_with('Z'));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_phase_and_reason_serialize_as_the_strings_the_logs_always_held() {
        let e = Event::Rollback {
            to_epoch: 1,
            accuracy_before: 0.9,
            accuracy_after: 0.1,
            new_fraction: 0.15,
            reason: RollbackReason::Diverged,
        };
        let line = serde_json::to_string(&e).unwrap();
        assert!(line.contains(r#""reason":"diverged""#), "{line}");
        let drop = line.replace(r#""diverged""#, r#""accuracy drop""#);
        assert!(matches!(
            serde_json::from_str::<Event>(&drop).unwrap(),
            Event::Rollback {
                reason: RollbackReason::AccuracyDrop,
                ..
            }
        ));
        // a log written before the reason existed
        let old = r#"{"event":"rollback","to_epoch":1,"accuracy_before":0.9,"accuracy_after":0.1,"new_fraction":0.15}"#;
        assert!(matches!(
            serde_json::from_str::<Event>(old).unwrap(),
            Event::Rollback {
                reason: RollbackReason::AccuracyDrop,
                ..
            }
        ));
        let epoch = r#"{"event":"epoch_end","epoch":2,"epochs":4,"phase":"coreset","train_loss":0.5,"train_accuracy":0.8,"test_loss":0.6,"test_accuracy":0.7,"lr":0.04,"samples":300,"seconds":1.0,"train_flops":1.0,"sparsity":0.0}"#;
        let e: Event = serde_json::from_str(epoch).unwrap();
        assert!(matches!(
            e,
            Event::EpochEnd {
                phase: EpochPhase::Coreset,
                mask_updates: 0,
                ..
            }
        ));
        assert!(
            serde_json::to_string(&e)
                .unwrap()
                .contains(r#""phase":"coreset""#)
        );
        assert_eq!(format!("{:<7}|", EpochPhase::Full), "full   |");
    }
}
