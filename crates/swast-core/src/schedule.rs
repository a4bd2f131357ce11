//! When coresets are selected.
//!
//! - **Literal** (Algorithm 1 of the SWaST paper, the default): full data for the warm-up
//!   `K = ⌈T·α/2⌉` epochs and until the first multiple of `R` after it, then a new coreset at
//!   the start of every epoch `t > K` with `t mod R = 0`.
//! - **CORDS warm start** (the GradMatch reference code; digest §8 A1): `select_after =
//!   ⌊T/2⌋`, `warmup = round(select_after·α)` full-data epochs, the epochs up to
//!   `select_after` skipped, then `T − select_after` coreset epochs with a selection at the
//!   start of epochs `select_after + 1`, `+ R`, …

use serde::{Deserialize, Serialize};

/// Which schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleKind {
    /// Algorithm 1 as written.
    #[default]
    Literal,
    /// CORDS' warm start.
    Cords,
}

/// What happens in an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Train on the full training set.
    Full,
    /// Select a new coreset, then train on it.
    Select,
    /// Train on the current coreset.
    Coreset,
    /// No training (CORDS' skipped epochs).
    Skip,
}

/// A selection schedule over `epochs` epochs (epochs are 1-based here, as in the paper).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// Which schedule.
    pub kind: ScheduleKind,
    /// Total epochs `T`.
    pub epochs: usize,
    /// Full-data warm-up epochs.
    pub warmup: usize,
    /// Selection interval `R`.
    pub interval: usize,
    /// CORDS: the epoch after which coreset training starts (`⌊T/2⌋`); 0 for literal.
    pub select_after: usize,
}

impl Schedule {
    /// The literal schedule; `warmup = None` means `⌈T·α/2⌉`.
    pub fn literal(epochs: usize, fraction: f64, interval: usize, warmup: Option<usize>) -> Self {
        let warmup = warmup.unwrap_or_else(|| (epochs as f64 * fraction / 2.0).ceil() as usize);
        Self {
            kind: ScheduleKind::Literal,
            epochs,
            warmup,
            interval: interval.max(1),
            select_after: 0,
        }
    }

    /// The CORDS warm-start schedule; `warmup = None` means `round(⌊T/2⌋·α)`.
    pub fn cords(epochs: usize, fraction: f64, interval: usize, warmup: Option<usize>) -> Self {
        let select_after = epochs / 2;
        let warmup = warmup
            .unwrap_or_else(|| (select_after as f64 * fraction).round() as usize)
            .min(select_after);
        Self {
            kind: ScheduleKind::Cords,
            epochs,
            warmup,
            interval: interval.max(1),
            select_after,
        }
    }

    /// What happens in (1-based) epoch `t`.
    pub fn phase(&self, t: usize) -> Phase {
        match self.kind {
            ScheduleKind::Literal => {
                if t > self.warmup && t.is_multiple_of(self.interval) {
                    Phase::Select
                } else if self.selection_epochs().first().is_some_and(|&f| t > f) {
                    Phase::Coreset
                } else {
                    Phase::Full
                }
            }
            ScheduleKind::Cords => {
                if t <= self.warmup {
                    Phase::Full
                } else if t <= self.select_after {
                    Phase::Skip
                } else if (t - self.select_after - 1).is_multiple_of(self.interval) {
                    Phase::Select
                } else {
                    Phase::Coreset
                }
            }
        }
    }

    /// Whether a coreset is selected at the start of (1-based) epoch `t`.
    pub fn selects_at(&self, t: usize) -> bool {
        t <= self.epochs && self.phase(t) == Phase::Select
    }

    /// The (1-based) epochs that start with a selection.
    pub fn selection_epochs(&self) -> Vec<usize> {
        (1..=self.epochs)
            .filter(|&t| match self.kind {
                ScheduleKind::Literal => t > self.warmup && t.is_multiple_of(self.interval),
                ScheduleKind::Cords => self.phase(t) == Phase::Select,
            })
            .collect()
    }

    /// Samples trained on in epoch `t` for a training set of `n` and a budget of `k`.
    pub fn samples_at(&self, t: usize, n: usize, k: usize) -> usize {
        match self.phase(t) {
            Phase::Full => n,
            Phase::Select | Phase::Coreset => k,
            Phase::Skip => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_schedule_t300_r20() {
        // digest §3.1/§3.2: T = 300, α = 10% → K = 15; 5% → 8; 1% → 2;
        // selections at the start of epochs 20, 40, …, 300 (15 of them) in every case
        for (alpha, k) in [(0.1, 15), (0.05, 8), (0.01, 2)] {
            let s = Schedule::literal(300, alpha, 20, None);
            assert_eq!(s.warmup, k, "α = {alpha}");
            let sel = s.selection_epochs();
            assert_eq!(
                sel,
                (1..=15).map(|i| i * 20).collect::<Vec<_>>(),
                "α = {alpha}"
            );
            assert_eq!(s.samples_at(19, 50_000, 5_000), 50_000);
            assert_eq!(s.samples_at(20, 50_000, 5_000), 5_000);
            assert_eq!(s.phase(21), Phase::Coreset);
            let full = (1..=300).filter(|&t| s.phase(t) == Phase::Full).count();
            assert_eq!(full, 19);
        }
        // ImageNet: T = 90, α = 10% → K = 5, R = 5: selections at 10, 15, …, 90
        let s = Schedule::literal(90, 0.1, 5, None);
        assert_eq!(s.warmup, 5);
        assert_eq!(s.selection_epochs()[0], 10);
        // a set warm-up
        assert_eq!(
            Schedule::literal(10, 0.1, 2, Some(0)).selection_epochs(),
            [2, 4, 6, 8, 10]
        );
    }

    #[test]
    fn cords_warm_start_t300_r20() {
        // digest §3.2: α = 10% → 15 full-data epochs, epochs 16–150 skipped, 150 coreset
        // epochs with 8 selections (151, 171, …, 291)
        let s = Schedule::cords(300, 0.1, 20, None);
        assert_eq!((s.warmup, s.select_after), (15, 150));
        assert_eq!(
            s.selection_epochs(),
            [151, 171, 191, 211, 231, 251, 271, 291]
        );
        let count = |p| (1..=300).filter(|&t| s.phase(t) == p).count();
        assert_eq!(count(Phase::Full), 15);
        assert_eq!(count(Phase::Skip), 135);
        assert_eq!(count(Phase::Select) + count(Phase::Coreset), 150);
        // α = 5% → round(7.5) = 8 warm-up epochs; α = 1% → round(1.5) = 2
        for (alpha, k) in [(0.05, 8), (0.01, 2)] {
            let s = Schedule::cords(300, alpha, 20, None);
            assert_eq!(s.warmup, k, "α = {alpha}");
            assert_eq!(s.selection_epochs().len(), 8);
        }
    }
}
