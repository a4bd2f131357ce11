//! # swast-prune
//!
//! Weight pruning for swast, behind swast-core's [`swast_core::prune::Pruner`] contract:
//! exact-count binary masks, layer-wise sparsity distributions (uniform, Erdős–Rényi, ERK),
//! and the online pruners RigL (SWaST's default), static random, one-shot magnitude
//! (layer-wise or global), gradual magnitude (Zhu & Gupta's cubic schedule) and SNIP.
//!
//! | method | paper | masks change |
//! |---|---|---|
//! | `rigl` | Evci et al., ICML 2020 | every ΔT until T_end (drop \|w\|, grow \|∇\|) |
//! | `random` | static sparse training | never |
//! | `magnitude` | Han et al., 2015 (one-shot) | once, at `begin` |
//! | `gmp` | Zhu & Gupta, 2017 | every ΔT from `begin` to `end` |
//! | `snip` | Lee et al., ICLR 2019 | once, on the first batch |
//! | `probmask` | Zhou et al., CVPR 2021 | learned keep probabilities under a cubic global budget, fixed at `end` |
//!
//! ΔT, `begin` and `end` are read on `prune.clock`: epoch progress by default (ΔT =
//! `prune.interval_epochs`), optimizer steps with `clock = "step"` (ΔT = `prune.interval`).
//! One module per pruner; `PRUNERS` (behind [`build`]) is the one place where config names
//! meet types; [`SCHEMA`] declares the keys this crate adds to `[prune]`, read once into
//! [`PruneOptions`]. `swast-cli/examples/custom_pruner.rs` writes a pruner outside this crate.
//!
//! Structured channel pruning (`channel-l1`) is a [`swast_core::prune::StructuredPruner`]:
//! it chooses the channels; swast-core's model code ([`swast_core::model::shrink`]) removes
//! them and the trainer restarts the optimizer state of the shrunk layers.

pub mod distribution;
pub mod mask;
pub mod probmask;
pub mod settings;

mod base;
mod channel;
mod gmp;
mod magnitude;
mod random;
mod rigl;
mod snip;

pub use channel::ChannelL1;
pub use gmp::Gmp;
pub use magnitude::Magnitude;
pub use probmask::{ProbMask, ProbMaskSettings};
pub use random::StaticRandom;
pub use rigl::Rigl;
pub use settings::{
    Distribution, PruneOptions, PruneSettings, SCHEMA, cubic_progress, rigl_fraction,
};
pub use snip::Snip;

use swast_core::config::PruneConfig;
use swast_core::prune::{PruneError, PruneScheme, Scope};

/// How a pruner is made from a `[prune]` table, its scope and the seed.
type Make = fn(&PruneConfig, Scope, u64) -> Result<PruneScheme, PruneError>;

/// A mask pruner built by `new` from the shared [`PruneSettings`] of a `[prune]` table.
fn masks<P: swast_core::prune::Pruner + 'static>(
    new: fn(PruneSettings) -> P,
    (c, s, seed): (&PruneConfig, Scope, u64),
) -> Result<PruneScheme, PruneError> {
    Ok(PruneScheme::Masks(Box::new(new(
        PruneSettings::from_config(c, s, seed)?,
    ))))
}

/// Every pruner by config name: the one place where a pruner's name meets its type.
const PRUNERS: &[(&str, Make)] = &[
    ("rigl", |c, s, seed| masks(Rigl::new, (c, s, seed))),
    ("random", |c, s, seed| {
        masks(StaticRandom::new, (c, s, seed))
    }),
    ("magnitude", |c, s, seed| {
        masks(Magnitude::new, (c, s, seed))
    }),
    ("gmp", |c, s, seed| masks(Gmp::new, (c, s, seed))),
    ("snip", |c, s, seed| masks(Snip::new, (c, s, seed))),
    ("probmask", |c, s, seed| {
        let p = ProbMask::new(ProbMaskSettings::from_config(c, s, seed)?);
        Ok(PruneScheme::Masks(Box::new(p)))
    }),
    ("channel-l1", |c, s, _| {
        Ok(PruneScheme::Channels(Box::new(ChannelL1::from_config(
            c, s,
        )?)))
    }),
];

/// The pruner names swast-prune offers.
pub fn pruner_names() -> Vec<&'static str> {
    PRUNERS.iter().map(|(n, _)| *n).collect()
}

/// The pruner a `[prune]` config asks for, over `scope`, seeded.
pub fn build(cfg: &PruneConfig, scope: Scope, seed: u64) -> Result<PruneScheme, PruneError> {
    let (_, make) = PRUNERS
        .iter()
        .find(|(n, _)| *n == cfg.method)
        .ok_or_else(|| PruneError {
            pruner: "none",
            message: format!(
                "prune.method `{}` is not a pruner of swast-prune; choose one of: {}",
                cfg.method,
                pruner_names().join(", ")
            ),
        })?;
    make(cfg, scope, seed)
}
