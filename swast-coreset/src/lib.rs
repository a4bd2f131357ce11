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
//!
//! `SELECTORS` (behind [`build`]) is the one place where a name meets its type; [`SCHEMA`] declares the keys
//! this crate adds to `[coreset]`, read once into [`CoresetSettings`]. A selector of your own
//! needs none of this crate: `swast-cli/examples/custom_selector.rs` writes one, with a key,
//! and plugs it into a SWaST run.

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
mod kernels;
mod moderate;
mod random;
mod settings;
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
pub use settings::{CoresetSettings, GradmatchGradient, SCHEMA};
pub use swast_core::coreset::{Coreset, SelectContext, SelectError, Selector};
pub use uncertainty::{Uncertainty, UncertaintySettings};

use swast_core::config::CoresetConfig;

/// How a selector is made from swast-coreset's settings.
type Make = fn(&CoresetSettings) -> Box<dyn Selector>;

/// Every selector by config name: the one place where a selector's name meets its type.
const SELECTORS: &[(&str, Make)] = &[
    ("el2n", |s| Box::new(El2n::from_settings(s))),
    ("grand", |s| {
        Box::new(Grand(ScoreSettings::from_settings(s)))
    }),
    ("forgetting", |s| {
        Box::new(Forgetting::new(ScoreSettings::from_settings(s)))
    }),
    ("uncertainty", |s| Box::new(Uncertainty::from_settings(s))),
    ("moderate", |_| Box::new(Moderate)),
    ("ccs", |s| Box::new(Ccs(CcsSettings { offset: s.offset }))),
    ("gradmatch", |s| Box::new(GradMatch::from_settings(s))),
    ("gradmatch-pb", |s| Box::new(GradMatchPb::from_settings(s))),
    ("craig", |_| Box::new(Craig)),
    ("glister", |_| Box::new(Glister)),
    ("kcenter", |_| Box::new(KCenter)),
    ("herding", |_| Box::new(Herding)),
    ("random", |_| Box::new(Random)),
    ("uniform", |_| Box::new(Uniform)),
];

/// The selector names swast-coreset offers.
pub fn selector_names() -> Vec<&'static str> {
    SELECTORS.iter().map(|(n, _)| *n).collect()
}

/// The selector a `[coreset]` table asks for, with swast-coreset's keys read into its
/// settings (the reading [`SCHEMA`]'s check does at config load).
pub fn build(c: &CoresetConfig) -> Result<Box<dyn Selector>, SelectError> {
    let (_, make) = SELECTORS
        .iter()
        .find(|(n, _)| *n == c.selector)
        .ok_or_else(|| SelectError {
            selector: "none",
            message: format!(
                "coreset.selector `{}` is not a selector of swast-coreset; choose one of: {}",
                c.selector,
                selector_names().join(", ")
            ),
        })?;
    let settings = CoresetSettings::from_options(&c.options).map_err(|e| SelectError {
        selector: "coreset",
        message: e.0,
    })?;
    Ok(make(&settings))
}
