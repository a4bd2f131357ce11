//! The run's state: what must survive a restart ([`RunRecord`]: the coreset, the stored
//! outputs, rounds, rollbacks, budget scale, accounting), checkpointed beside the trainer's
//! own state, and what a session keeps between epochs ([`RunState`]: where it is, the
//! guard's snapshot and retries, the test hooks already fired, the last test result).

use super::error::RunError;
use crate::checkpoint;
use crate::coreset::Coreset;
use crate::model::SwastModel;
use crate::train::{Preserved, TrainError, Trainer};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Wall time per phase.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct PhaseSeconds {
    /// Training epochs.
    pub train: f64,
    /// Test / validation evaluation.
    pub eval: f64,
    /// Probe passes and selections.
    pub selection: f64,
    /// Writing checkpoints (each checkpoint's own time is counted in the next one).
    #[serde(default)]
    pub checkpoint: f64,
}

/// What a run carries across a restart besides the trainer (model, optimizer, schedule,
/// random streams): stored in the checkpoint beside the selector's own state.
///
/// The field names are those the trainer's state used for them before they moved here, so a
/// checkpoint written before the move resumes unchanged (see [`RunRecord::from_sections`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The coreset trained on since the last selection (`None` = the full training set).
    #[serde(default)]
    pub coreset: Option<Coreset>,
    /// Selection rounds so far.
    #[serde(default)]
    pub rounds: usize,
    /// FLOPs of probe passes and selections (also counted in the trainer's `train_flops`).
    #[serde(default)]
    pub selection_flops: f64,
    /// The outputs stored at the last selection (SWaST-cut's state preservation).
    #[serde(default)]
    pub preserved: Option<Preserved>,
    /// Guard rollbacks so far.
    #[serde(default)]
    pub rollbacks: usize,
    /// Wall seconds spent training (optimizer steps), evaluating, and selecting.
    #[serde(default)]
    pub phase_seconds: PhaseSeconds,
    /// Multiplier of the coreset fraction (raised by the guard's retries).
    #[serde(default = "one")]
    pub budget_scale: f64,
    /// Wall seconds of this run's epochs over all its sessions.
    #[serde(default)]
    pub wall_seconds: f64,
    /// Length of `metrics.jsonl` when this state was saved; a resume truncates the file to it.
    #[serde(default)]
    pub metrics_len: u64,
    /// Best test accuracy of any epoch so far.
    #[serde(default)]
    pub best_test_accuracy: f64,
    /// Training accuracy of the last epoch (on the labels trained on, noisy ones included).
    #[serde(default)]
    pub last_train_accuracy: f64,
    /// Samples trained on since the last evaluation (`train.eval_every = 0`).
    #[serde(default)]
    pub samples_since_eval: u64,
    /// Every test evaluation on the run's cadence, in order (the run's trajectory).
    #[serde(default)]
    pub trajectory: Vec<TrajectoryPoint>,
    /// Test accuracy of the model just before the first selection round (evaluated then
    /// when the cadence had not evaluated the epoch before).
    #[serde(default)]
    pub accuracy_at_first_selection: Option<f64>,
}

/// One test evaluation of a run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrajectoryPoint {
    /// The (1-based) epoch after which the model was evaluated.
    pub epoch: usize,
    /// Test accuracy, a fraction in 0..1.
    pub test_accuracy: f64,
    /// Selection rounds done by then (0: still in the full-data warm-up).
    pub rounds: usize,
}

/// What a run's trajectory says about its path, beside its end point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct TrajectorySummary {
    /// Test accuracy just before the first selection round.
    pub at_first_selection: Option<f64>,
    /// The lowest test accuracy evaluated after the first selection.
    pub min_after_selection: Option<f64>,
    /// The mean test accuracy over the coreset phase's evaluations (on the run's cadence).
    pub mean_coreset_phase: Option<f64>,
    /// Evaluations the two figures above are taken over.
    pub coreset_phase_evals: usize,
}

impl TrajectorySummary {
    /// The figures of `points` (and the accuracy before the first selection).
    pub fn of(points: &[TrajectoryPoint], at_first_selection: Option<f64>) -> Self {
        let after: Vec<f64> = points
            .iter()
            .filter(|p| p.rounds > 0)
            .map(|p| p.test_accuracy)
            .collect();
        Self {
            at_first_selection,
            min_after_selection: after.iter().copied().reduce(f64::min),
            mean_coreset_phase: (!after.is_empty())
                .then(|| after.iter().sum::<f64>() / after.len() as f64),
            coreset_phase_evals: after.len(),
        }
    }
}

fn one() -> f64 {
    1.0
}

impl Default for RunRecord {
    fn default() -> Self {
        Self {
            coreset: None,
            rounds: 0,
            selection_flops: 0.0,
            preserved: None,
            rollbacks: 0,
            phase_seconds: PhaseSeconds::default(),
            budget_scale: 1.0,
            wall_seconds: 0.0,
            metrics_len: 0,
            best_test_accuracy: 0.0,
            last_train_accuracy: 0.0,
            samples_since_eval: 0,
            trajectory: Vec::new(),
            accuracy_at_first_selection: None,
        }
    }
}

/// Marks a checkpoint's last section as `[run record, selector state]`.
const RECORD_TAG: &[u8] = b"swast-run-record-1";

impl RunRecord {
    /// Charges a probe pass or selection to the run: its FLOPs count in the trainer's
    /// `train_flops` and in `selection_flops`, its wall time in `phase_seconds.selection`.
    pub fn charge_selection<M: SwastModel>(
        &mut self,
        trainer: &mut Trainer<M>,
        flops: f64,
        seconds: f64,
    ) {
        self.selection_flops += flops;
        trainer.charge_flops(flops);
        self.phase_seconds.selection += seconds;
    }

    /// The checkpoint section holding this record and the selector's state.
    pub(super) fn to_section(&self, selector: &[u8]) -> Vec<u8> {
        let json = serde_json::to_vec(self).expect("the run record serializes");
        checkpoint::pack(&[RECORD_TAG, &json, selector])
    }

    /// The record and the selector's state from a checkpoint's trainer-state section and its
    /// last section. A checkpoint written before the record had a section of its own holds
    /// the selector's bytes alone there, and the record's fields in the trainer's state.
    pub fn from_sections(
        path: &Path,
        trainer_state: &[u8],
        last: Vec<u8>,
    ) -> Result<(Self, Vec<u8>), TrainError> {
        let bad = |message: String| TrainError::Record {
            path: path.display().to_string(),
            message,
        };
        if let Ok(parts) = checkpoint::unpack(path, &last)
            && let [tag, json, selector] = parts.as_slice()
            && tag.as_slice() == RECORD_TAG
        {
            let rec = serde_json::from_slice(json).map_err(|e| bad(format!("run record: {e}")))?;
            return Ok((rec, selector.clone()));
        }
        let rec = serde_json::from_slice(trainer_state)
            .map_err(|e| bad(format!("run record (older checkpoint): {e}")))?;
        Ok((rec, last))
    }

    /// The record of the run in `dir` as its last checkpoint left it.
    pub fn of_run(dir: &Path) -> Result<Self, RunError> {
        let path = dir.join(super::files::CHECKPOINT);
        let mut sections = checkpoint::read(&path).map_err(TrainError::from)?;
        let last = sections.pop().unwrap_or_default();
        let state = sections.first().cloned().unwrap_or_default();
        Ok(Self::from_sections(&path, &state, last)?.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> RunRecord {
        RunRecord {
            coreset: Some(Coreset::unweighted(vec![3, 1, 2])),
            rounds: 2,
            selection_flops: 5.0,
            budget_scale: 1.5,
            metrics_len: 77,
            best_test_accuracy: 0.9,
            ..RunRecord::default()
        }
    }

    #[test]
    fn the_record_and_the_selector_state_share_the_last_section() {
        let path = Path::new("c.bin");
        let rec = record();
        let section = rec.to_section(b"forgetting counters");
        let (back, sel) = RunRecord::from_sections(path, b"{}", section).unwrap();
        assert_eq!(back, rec);
        assert_eq!(sel, b"forgetting counters");
        // an empty selector state too
        let (back, sel) = RunRecord::from_sections(path, b"{}", rec.to_section(&[])).unwrap();
        assert_eq!((back, sel), (rec, Vec::new()));
    }

    #[test]
    fn a_checkpoint_from_before_the_record_resumes_from_the_trainer_state_fields() {
        // the trainer's state JSON of older checkpoints held these fields, and the selector's
        // bytes alone were the last section
        let rec = record();
        let mut old = serde_json::to_value(&rec).unwrap();
        old["step"] = 320.into();
        old["epoch"] = 4.into();
        let state = serde_json::to_vec(&old).unwrap();
        let (back, sel) =
            RunRecord::from_sections(Path::new("c.bin"), &state, b"raw".to_vec()).unwrap();
        assert_eq!(back, rec);
        assert_eq!(sel, b"raw");
        // no such fields (a dense run's old state): the defaults, budget scale 1
        let (back, _) =
            RunRecord::from_sections(Path::new("c.bin"), b"{\"step\": 3}", Vec::new()).unwrap();
        assert_eq!(back, RunRecord::default());
        assert_eq!(back.budget_scale, 1.0);
    }

    #[test]
    fn the_trajectory_summary_reads_only_the_points_after_the_first_selection() {
        let p = |epoch, test_accuracy, rounds| TrajectoryPoint {
            epoch,
            test_accuracy,
            rounds,
        };
        let points = [
            p(5, 0.80, 0),
            p(10, 0.70, 1),
            p(15, 0.60, 1),
            p(20, 0.90, 2),
        ];
        let s = TrajectorySummary::of(&points, Some(0.82));
        assert_eq!(s.at_first_selection, Some(0.82));
        assert_eq!(s.min_after_selection, Some(0.60));
        assert!((s.mean_coreset_phase.unwrap() - 0.7333333333).abs() < 1e-9);
        assert_eq!(s.coreset_phase_evals, 3);
        // a run that never selected has no coreset phase
        let s = TrajectorySummary::of(&points[..1], None);
        assert_eq!((s.min_after_selection, s.mean_coreset_phase), (None, None));
    }

    #[test]
    fn a_corrupt_record_is_an_error_naming_the_checkpoint() {
        let bad = checkpoint::pack(&[RECORD_TAG, b"{not json", b""]);
        let e = RunRecord::from_sections(Path::new("run/checkpoint.bin"), b"{}", bad).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("run/checkpoint.bin") && msg.contains("run record"),
            "{msg}"
        );
    }
}
