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

/// Which clock a schedule that spans the run (the learning rate, a pruner's ΔT, T_end, begin
/// and end) counts on.
///
/// - **Epoch** (the default): epoch progress `epoch − 1 + i/steps_in_epoch`, as CORDS anneals
///   its learning rate (T_max = T epochs). A coreset epoch has 10–100× fewer steps than a
///   full-data one; on this clock it still advances the schedule by one epoch, so the coreset
///   phase trains at the learning rate its epoch index deserves and the mask keeps moving.
/// - **Step**: optimizer steps over the run's real step count (the reading before
///   issue 12), kept for comparison: in a coreset run the warm-up spends most of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Clock {
    /// Epoch progress.
    #[default]
    Epoch,
    /// Optimizer steps.
    Step,
}

/// Where one optimizer step lies in the run, on both clocks: the pruners and the learning
/// rate pick the clock they were configured with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tick {
    /// Steps taken before this one (0-based index of this step).
    pub step: u64,
    /// The run's total optimizer steps.
    pub total_steps: u64,
    /// Epoch progress when the step starts: `epoch − 1 + i/steps_in_epoch` (0-based epochs).
    pub epoch_at: f64,
    /// Epoch progress once the step is done: `epoch − 1 + (i + 1)/steps_in_epoch`.
    pub epoch_next: f64,
    /// The run's epochs `T`.
    pub epochs: usize,
}

impl Tick {
    /// The step's span on `clock`.
    pub fn span(&self, clock: Clock) -> Span {
        match clock {
            Clock::Step => Span {
                at: self.step as f64,
                next: (self.step + 1) as f64,
                total: self.total_steps as f64,
                steps: true,
            },
            Clock::Epoch => Span {
                at: self.epoch_at,
                next: self.epoch_next,
                total: self.epochs as f64,
                steps: false,
            },
        }
    }

    /// A tick on the step clock alone (epoch progress 0), for driving a pruner by hand.
    pub fn at_step(step: u64, total_steps: u64) -> Self {
        Self {
            step,
            total_steps,
            epoch_at: 0.0,
            epoch_next: 0.0,
            epochs: 0,
        }
    }

    /// The tick of the first step of a run (for decisions made at initialisation).
    pub fn start(total_steps: u64, epochs: usize) -> Self {
        Self {
            step: 0,
            total_steps,
            epoch_at: 0.0,
            epoch_next: 0.0,
            epochs,
        }
    }
}

/// One step on one clock: it runs from `at` to `next`, of `total` for the run (steps or
/// epochs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    /// The clock's reading when the step starts.
    pub at: f64,
    /// The clock's reading once the step is done.
    pub next: f64,
    /// The run's length on this clock.
    pub total: f64,
    /// Step clock: points of the run are rounded to whole steps.
    pub steps: bool,
}

impl Span {
    /// The clock reading at `share` of the run (rounded to a whole step on the step clock).
    pub fn point(&self, share: f64) -> f64 {
        let x = share * self.total;
        if self.steps { x.round() } else { x }
    }

    /// Whether the step reaches a multiple of `every` counted from `origin`: on the step
    /// clock, the step index itself is one (`(at − origin) mod every = 0`, `at > origin`);
    /// on the epoch clock, the step ends on or past the next multiple.
    pub fn hits(&self, origin: f64, every: f64) -> bool {
        if every <= 0.0 {
            return false;
        }
        if self.steps {
            let k = self.at - origin;
            return k > 0.0 && (k % every) == 0.0;
        }
        // a small tolerance so 0.1 + 0.2-style sums still land on their boundary
        let before = ((self.at - origin) / every + 1e-9).floor();
        let after = ((self.next - origin) / every + 1e-9).floor();
        self.next > origin && after > before
    }
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
    fn epoch_clock_hits_every_half_epoch() {
        // an epoch of 3 steps: progress 0 → 1/3 → 2/3 → 1; every 0.5 epochs the step that
        // reaches 0.5 (the second) and the one that reaches 1.0 (the third) are due
        let ticks: Vec<Tick> = (0..3)
            .map(|i| Tick {
                step: i,
                total_steps: 3,
                epoch_at: i as f64 / 3.0,
                epoch_next: (i + 1) as f64 / 3.0,
                epochs: 1,
            })
            .collect();
        let due: Vec<bool> = ticks
            .iter()
            .map(|t| t.span(Clock::Epoch).hits(0.0, 0.5))
            .collect();
        assert_eq!(due, [false, true, true]);
        // the step clock: step indices that are multiples of 2, step 0 excluded
        let due: Vec<bool> = ticks
            .iter()
            .map(|t| t.span(Clock::Step).hits(0.0, 2.0))
            .collect();
        assert_eq!(due, [false, false, true]);
        // a one-step coreset epoch crosses a boundary too
        let one = Tick {
            step: 7,
            total_steps: 9,
            epoch_at: 4.0,
            epoch_next: 5.0,
            epochs: 10,
        };
        assert!(one.span(Clock::Epoch).hits(0.0, 0.5));
        assert_eq!(one.span(Clock::Epoch).point(0.75), 7.5);
        assert_eq!(one.span(Clock::Step).point(0.75), 7.0);
    }

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
