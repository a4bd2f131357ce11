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
pub use gradmatch::{
    GradMatch, GradMatchPb, GradMatchPbSettings, GradMatchSettings, gradmatch_on_gradients,
};
pub use moderate::Moderate;
pub use random::{Random, Uniform};
pub use scores::Uncertainty as UncertaintyMeasure;
pub use settings::{CoresetParams, CoresetSettings, GradmatchGradient};
pub use swast_core::coreset::{Coreset, SelectContext, SelectError, Selector};
pub use swast_core::probe::{Probe, ProbeError};
pub use swast_data::SeededRng;
pub use uncertainty::{Uncertainty, UncertaintySettings};

use swast_core::config::{Config, CoresetConfig, PluginSchema, PluginTable};

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

/// swast-coreset's part of the config: its selectors and keys.
pub const SCHEMA: PluginSchema = PluginSchema {
    table: PluginTable::Coreset,
    methods: selector_names,
    defaults: || toml::Table::try_from(CoresetSettings::default()).expect("defaults serialize"),
    check: |cfg: &Config| CoresetSettings::from_options(&cfg.coreset.options).map(|_| ()),
};

/// The selector names swast-coreset offers.
pub fn selector_names() -> Vec<&'static str> {
    SELECTORS.iter().map(|(n, _)| *n).collect()
}

/// The selector a `[coreset]` table asks for, with swast-coreset's keys read into its
/// settings (the reading [`SCHEMA`]'s check does at config load).
pub fn build(c: &CoresetConfig) -> Result<Box<dyn Selector>, SelectError> {
    let settings = CoresetSettings::from_options(&c.options).map_err(|e| SelectError {
        selector: "coreset",
        message: e.0,
    })?;
    build_named(&c.selector, &settings)
}

/// The selector called `name` (see [`selector_names`]) with checked `settings`.
pub fn build_named(
    name: &str,
    settings: &CoresetSettings,
) -> Result<Box<dyn Selector>, SelectError> {
    let (_, make) = SELECTORS
        .iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| SelectError {
            selector: "none",
            message: format!(
                "`{name}` is not a selector of swast-coreset; choose one of: {}",
                selector_names().join(", ")
            ),
        })?;
    Ok(make(settings))
}

/// One selection in your own training loop: `budget` samples of `probe` (from
/// [`Probe::from_outputs`] or a swast probe pass) by the selector `name`, its random
/// choices drawn from `seed` (the same stream a swast run's round 1 draws). `epoch` of
/// `total_epochs` is where training stands (EL2N switches at `el2n_switch` of it; the
/// others ignore it); `val` is the validation probe GLISTER needs.
///
/// ```
/// use swast_coreset::{CoresetSettings, Probe, select};
/// // 4 samples, 2 classes, features of width 1
/// let probe = Probe::from_outputs(
///     &[0, 1, 0, 1],
///     &[2.0, -1.0, 0.5, 0.4, -0.3, 0.2, 0.1, 1.5],
///     &[1.0, 0.5, -0.5, 2.0],
///     2,
/// )?;
/// let s = CoresetSettings::params().check()?;
/// let c = select("el2n", &probe, None, 2, (0, 10), 7, &s)?;
/// assert_eq!(c.indices.len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn select(
    name: &str,
    probe: &Probe,
    val: Option<&Probe>,
    budget: usize,
    (epoch, total_epochs): (usize, usize),
    seed: u64,
    settings: &CoresetSettings,
) -> Result<Coreset, SelectError> {
    if budget == 0 || budget > probe.len() {
        return Err(SelectError {
            selector: "select",
            message: format!(
                "budget {budget} must be between 1 and the probe's {} samples",
                probe.len()
            ),
        });
    }
    let mut sel = build_named(name, settings)?;
    let ctx = SelectContext {
        probe,
        val,
        budget,
        epoch,
        total_epochs: total_epochs.max(1),
    };
    let mut rng = SeededRng::stream(seed, "select-1");
    sel.select(&ctx, &mut rng)
}
