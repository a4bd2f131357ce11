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
            let s = stats.scores(p.len());
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
