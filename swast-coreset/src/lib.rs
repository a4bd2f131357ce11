//! # swast-coreset
//!
//! Coreset selection for swast, behind swast-core's [`Selector`] contract. Every selector
//! works on a probe pass of the *current* model ([`swast_core::probe::Probe`]) and returns
//! indices and per-sample weights; every score follows "higher = keep".
//!
//! | selector | paper | keeps |
//! |---|---|---|
//! | `el2n` | Paul et al., NeurIPS 2021 | high EL2N (hard) — low after `el2n_switch` of training (SWaST) |
//! | `grand` | Paul et al., NeurIPS 2021 | large last-layer gradient norm |
//! | `forgetting` | Toneva et al., ICLR 2019 | many forgetting events; never-learned first |
//! | `uncertainty` | Coleman et al., ICLR 2020 | least confidence / small margin / high entropy |
//! | `moderate` | Xia et al., ICLR 2023 | the band around the median distance to the class median |
//! | `ccs` | Zheng et al., ICLR 2023 | stratified coverage over the EL2N range, hardest `offset` dropped |
//! | `gradmatch` | Killamsetty et al., ICML 2021 | OMP match of the class gradient sum, per class, λ-ridge weights |
//! | `gradmatch-pb` | idem, per-batch | OMP over mini-batch gradients |
//! | `craig` | Mirzasoleiman et al., ICML 2020 | facility location on last-layer gradient distances, per class |
//! | `glister` | Killamsetty et al., AAAI 2021 | one-step Taylor greedy on the validation loss |
//! | `kcenter` | Sener & Savarese, ICLR 2018 | k-center greedy on features, per class |
//! | `herding` | Welling, ICML 2009 | herding on features, per class |
//! | `random` / `uniform` | — | uniform / uniform per class |

pub mod greedy;
pub mod omp;
pub mod quota;
pub mod scores;

mod ccs;
mod common;
mod craig;
mod el2n;
mod features;
mod forgetting;
mod glister;
mod gradmatch;
mod moderate;
mod random;
mod uncertainty;

pub use ccs::{Ccs, CcsSettings};
pub use common::ScoreSettings;
pub use craig::Craig;
pub use el2n::{El2n, El2nSettings, Grand};
pub use features::{Herding, KCenter};
pub use forgetting::Forgetting;
pub use glister::Glister;
pub use gradmatch::{GradMatch, GradMatchPb, GradMatchPbSettings, GradMatchSettings};
pub use moderate::Moderate;
pub use random::{Random, Uniform};
pub use swast_core::coreset::{Coreset, SelectContext, SelectError, Selector};
pub use uncertainty::{Uncertainty, UncertaintySettings};

use swast_core::config::{CoresetConfig, SelectorName};

/// The selector a `[coreset]` config asks for: the one place where a selector's config name
/// meets its type. Each selector reads its own keys into its own settings.
pub fn build(c: &CoresetConfig) -> Result<Box<dyn Selector>, SelectError> {
    let score = ScoreSettings::from_config(c);
    Ok(match c.selector {
        SelectorName::El2n => Box::new(El2n::from_config(c)),
        SelectorName::Grand => Box::new(Grand(score)),
        SelectorName::Forgetting => Box::new(Forgetting::new(score)),
        SelectorName::Uncertainty => Box::new(Uncertainty::from_config(c)?),
        SelectorName::Moderate => Box::new(Moderate),
        SelectorName::Ccs => Box::new(Ccs(CcsSettings { offset: c.offset })),
        SelectorName::Gradmatch => Box::new(GradMatch::from_config(c)),
        SelectorName::GradmatchPb => Box::new(GradMatchPb::from_config(c)),
        SelectorName::Craig => Box::new(Craig),
        SelectorName::Glister => Box::new(Glister),
        SelectorName::Kcenter => Box::new(KCenter),
        SelectorName::Herding => Box::new(Herding),
        SelectorName::Random => Box::new(Random),
        SelectorName::Uniform => Box::new(Uniform),
    })
}
