//! Forgetting events (Toneva et al., ICLR 2019): how often a sample went from correct to
//! wrong across the epochs the trainer reported; never-learned samples rank first.

use crate::common::{ScoreSettings, select_with};
use crate::scores::ForgettingStats;
use swast_core::coreset::{Coreset, SelectContext, SelectError, Selector};
use swast_data::SeededRng;

/// See the module documentation. Observes per-sample correctness; its counters resume.
#[derive(Debug)]
pub struct Forgetting {
    score: ScoreSettings,
    stats: ForgettingStats,
}

impl Forgetting {
    /// A forgetting selector ranking by `score`, with no history yet.
    pub fn new(score: ScoreSettings) -> Self {
        Self {
            score,
            stats: ForgettingStats::default(),
        }
    }
}

impl Selector for Forgetting {
    fn name(&self) -> &'static str {
        "forgetting"
    }

    fn observes(&self) -> bool {
        true
    }

    fn observe(&mut self, indices: &[usize], correct: &[bool]) {
        self.stats.observe(indices, correct);
    }

    fn select(
        &mut self,
        ctx: &SelectContext<'_>,
        rng: &mut SeededRng,
    ) -> Result<Coreset, SelectError> {
        let (score, stats) = (self.score, &self.stats);
        select_with("forgetting", ctx, rng, |p, budget, _| {
            // the counters are kept by dataset index; row r of the probe is sample
            // `p.indices[r]` (a probe of part of the training set, or in another order)
            let s = stats.scores_of(&p.indices);
            Ok(Coreset::unweighted(score.top(p, &s, budget)))
        })
    }

    fn state_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.stats).expect("serializes")
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), SelectError> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.stats = serde_json::from_slice(bytes).map_err(|e| SelectError {
            selector: "forgetting",
            message: format!("bad saved state: {e}"),
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use swast_core::probe::Probe;

    /// Rows of a probe are samples `p.indices[r]`, not `r`: a probe of part of the
    /// training set (or in another order) is scored by its samples' own counters.
    #[test]
    fn counters_follow_the_dataset_index_of_each_row() {
        let mut f = Forgetting::new(ScoreSettings {
            per_class: false,
            offset: 0.0,
        });
        // sample 7 is learned, then forgotten twice; sample 2 is learned and kept
        for ok in [true, false, true, false, true] {
            f.observe(&[2, 7], &[true, ok]);
        }
        let p = Probe {
            indices: vec![2, 7],
            labels: vec![0, 0],
            classes: 2,
            feature_dim: 1,
            probs: vec![0.9, 0.1, 0.9, 0.1],
            features: vec![0.0, 0.0],
            loss: vec![0.1, 0.1],
            correct: vec![true, true],
            flops: 0.0,
        };
        let ctx = SelectContext {
            probe: &p,
            val: None,
            budget: 1,
            epoch: 5,
            total_epochs: 10,
        };
        let c = f.select(&ctx, &mut SeededRng::new(0)).unwrap();
        // the most forgotten sample is kept: dataset index 7 (row 1)
        assert_eq!(c.indices, [7]);
    }
}
