//! # swast-prune
//!
//! Weight pruning for swast, behind swast-core's [`swast_core::prune::Pruner`] contract:
//! exact-count binary masks, layer-wise sparsity distributions (uniform, Erdős–Rényi, ERK),
//! and the online pruners RigL (SWaST's default), static random, one-shot magnitude
//! (layer-wise or global), gradual magnitude (Zhu & Gupta's cubic schedule) and SNIP.
//!
//! | method | paper | masks change |
//! |---|---|---|
//! | `rigl` | Evci et al., ICML 2020 | every ΔT steps until T_end (drop \|w\|, grow \|∇\|) |
//! | `random` | static sparse training | never |
//! | `magnitude` | Han et al., 2015 (one-shot) | once, at `begin` |
//! | `gmp` | Zhu & Gupta, 2017 | every ΔT steps from `begin` to `end` |
//! | `snip` | Lee et al., ICLR 2019 | once, on the first batch |
//! | `probmask` | Zhou et al., CVPR 2021 | learned keep probabilities under a cubic global budget, fixed at `end` |
//!
//! Structured channel pruning (`channel-l1`, physical removal) lives in swast-core's model
//! code ([`swast_core::model::shrink`]) and trainer, since it changes the architecture.

pub mod distribution;
pub mod mask;
pub mod probmask;
pub mod pruner;

pub use probmask::{ProbMask, ProbMaskSettings};
pub use pruner::{Algorithm, OnlinePruner, PruneSettings, cubic_progress, rigl_fraction};

use swast_core::config::{PruneConfig, PrunerName};
use swast_core::prune::{PruneError, Pruner, Scope};

/// The pruner a `[prune]` config asks for, over `scope`, seeded.
pub fn build(cfg: &PruneConfig, scope: Scope, seed: u64) -> Result<Box<dyn Pruner>, PruneError> {
    if cfg.method == PrunerName::Probmask {
        return Ok(Box::new(ProbMask::new(ProbMaskSettings::from_config(
            cfg, scope, seed,
        )?)));
    }
    Ok(Box::new(OnlinePruner::new(PruneSettings::from_config(
        cfg, scope, seed,
    )?)))
}
