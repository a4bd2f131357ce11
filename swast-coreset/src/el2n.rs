//! EL2N and GraNd (Paul et al., NeurIPS 2021): the error-vector norm ‖p − y‖ and the
//! last-layer gradient norm of each sample, with the current model.

use crate::common::{ScoreSettings, select_with};
use crate::scores::{el2n, grand};
use crate::settings::CoresetSettings;
use swast_core::coreset::{Coreset, SelectContext, SelectError, Selector};
use swast_data::SeededRng;

/// EL2N's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct El2nSettings {
    /// Ranking (`coreset.per_class`, `coreset.offset`).
    pub score: ScoreSettings,
    /// Share of training after which the lowest scores are kept instead (SWaST's switch,
    /// `coreset.el2n_switch`).
    pub switch: f64,
}

/// High EL2N (hard samples) until `switch` of training, low after.
#[derive(Debug)]
pub struct El2n(pub El2nSettings);

impl El2n {
    /// From swast-coreset's `[coreset]` settings.
    pub fn from_settings(c: &CoresetSettings) -> Self {
        Self(El2nSettings {
            score: ScoreSettings::from_settings(c),
            switch: c.el2n_switch,
        })
    }
}

impl Selector for El2n {
    fn name(&self) -> &'static str {
        "el2n"
    }

    fn select(
        &mut self,
        ctx: &SelectContext<'_>,
        rng: &mut SeededRng,
    ) -> Result<Coreset, SelectError> {
        let s = self.0;
        let late = ctx.epoch as f64 >= s.switch * ctx.total_epochs as f64;
        select_with(self.name(), ctx, rng, |p, budget, _| {
            let mut score = el2n(p);
            if late {
                score.iter_mut().for_each(|v| *v = -*v);
            }
            Ok(Coreset::unweighted(s.score.top(p, &score, budget)))
        })
    }
}

/// Large last-layer gradient norm.
#[derive(Debug)]
pub struct Grand(pub ScoreSettings);

impl Selector for Grand {
    fn name(&self) -> &'static str {
        "grand"
    }

    fn select(
        &mut self,
        ctx: &SelectContext<'_>,
        rng: &mut SeededRng,
    ) -> Result<Coreset, SelectError> {
        let s = self.0;
        select_with(self.name(), ctx, rng, |p, budget, _| {
            Ok(Coreset::unweighted(s.top(p, &grand(p), budget)))
        })
    }
}
