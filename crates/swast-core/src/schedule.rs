//! When coresets are selected: Algorithm 1's literal schedule (SWaST paper, §3.2 of the
//! digest): full data for the warm-up `K = ⌈T·α/2⌉` epochs and until the first multiple of
//! `R` after it, then a new coreset at the start of every epoch `t > K` with `t mod R = 0`.

use serde::{Deserialize, Serialize};

/// A selection schedule over `epochs` epochs (epochs are 1-based here, as in the paper).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// Total epochs `T`.
    pub epochs: usize,
    /// Warm-up epochs `K`.
    pub warmup: usize,
    /// Selection interval `R`.
    pub interval: usize,
}

impl Schedule {
    /// The literal schedule; `warmup = None` means `⌈T·α/2⌉`.
    pub fn literal(epochs: usize, fraction: f64, interval: usize, warmup: Option<usize>) -> Self {
        let warmup = warmup.unwrap_or_else(|| (epochs as f64 * fraction / 2.0).ceil() as usize);
        Self {
            epochs,
            warmup,
            interval: interval.max(1),
        }
    }

    /// Whether a coreset is selected at the start of (1-based) epoch `t`.
    pub fn selects_at(&self, t: usize) -> bool {
        t > self.warmup && t <= self.epochs && t.is_multiple_of(self.interval)
    }

    /// The (1-based) epochs that start with a selection.
    pub fn selection_epochs(&self) -> Vec<usize> {
        (1..=self.epochs).filter(|&t| self.selects_at(t)).collect()
    }

    /// Samples trained on in epoch `t` for a training set of `n` and a budget of `k`.
    pub fn samples_at(&self, t: usize, n: usize, k: usize) -> usize {
        if self.selection_epochs().first().is_some_and(|&f| t >= f) {
            k
        } else {
            n
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_schedule_t300_r20() {
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
}
