//! Uncertainty sampling (Coleman et al., ICLR 2020): least confidence, smallest margin or
//! highest entropy of the current model's prediction.

use crate::common::{ScoreSettings, select_with};
use crate::scores::{Uncertainty as Measure, uncertainty};
use crate::settings::CoresetSettings;
use swast_core::coreset::{Coreset, SelectContext, SelectError, Selector};
use swast_data::SeededRng;

/// Uncertainty sampling's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UncertaintySettings {
    /// Ranking (`coreset.per_class`, `coreset.offset`).
    pub score: ScoreSettings,
    /// The measure (`coreset.uncertainty`).
    pub measure: Measure,
}

/// See the module documentation.
#[derive(Debug)]
pub struct Uncertainty(pub UncertaintySettings);

impl Uncertainty {
    /// From swast-coreset's `[coreset]` settings.
    pub fn from_settings(c: &CoresetSettings) -> Self {
        Self(UncertaintySettings {
            score: ScoreSettings::from_settings(c),
            measure: c.uncertainty,
        })
    }
}

impl Selector for Uncertainty {
    fn name(&self) -> &'static str {
        "uncertainty"
    }

    fn select(
        &mut self,
        ctx: &SelectContext<'_>,
        rng: &mut SeededRng,
    ) -> Result<Coreset, SelectError> {
        let s = self.0;
        select_with(self.name(), ctx, rng, |p, budget, _| {
            Ok(Coreset::unweighted(s.score.top(
                p,
                &uncertainty(p, s.measure),
                budget,
            )))
        })
    }
}
