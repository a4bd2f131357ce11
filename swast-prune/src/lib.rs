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
//! One module per pruner; [`build`] is the one place where config names meet types.
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
pub use settings::{PruneSettings, cubic_progress, rigl_fraction};
pub use snip::Snip;

use swast_core::config::{PruneConfig, PrunerName};
use swast_core::prune::{PruneError, PruneScheme, Scope};

/// The pruner a `[prune]` config asks for, over `scope`, seeded: the one place where a
/// pruner's config name meets its type.
pub fn build(cfg: &PruneConfig, scope: Scope, seed: u64) -> Result<PruneScheme, PruneError> {
    let mask = || PruneSettings::from_config(cfg, scope, seed);
    Ok(PruneScheme::Masks(match cfg.method {
        PrunerName::Rigl => Box::new(Rigl::new(mask()?)),
        PrunerName::Random => Box::new(StaticRandom::new(mask()?)),
        PrunerName::Magnitude => Box::new(Magnitude::new(mask()?)),
        PrunerName::Gmp => Box::new(Gmp::new(mask()?)),
        PrunerName::Snip => Box::new(Snip::new(mask()?)),
        PrunerName::Probmask => Box::new(ProbMask::new(ProbMaskSettings::from_config(
            cfg, scope, seed,
        )?)),
        PrunerName::ChannelL1 => {
            return Ok(PruneScheme::Channels(Box::new(ChannelL1::from_config(
                cfg, scope,
            )?)));
        }
    }))
}
