//! The library side of the `swast` binary: the wiring of concrete pruners and selectors
//! into swast-core's run loop ([`Parts`]), shared with `xtask`.

use swast_core::config::Config;
use swast_core::coreset::{SelectError, Selector};
use swast_core::prune::{PruneError, Pruner, Scope};
use swast_core::run::Components;

/// The concrete pruners (`swast-prune`) and selectors (`swast-coreset`) of a config.
#[derive(Debug, Default, Clone, Copy)]
pub struct Parts;

impl Components for Parts {
    fn pruner(&self, cfg: &Config, scope: Scope) -> Result<Box<dyn Pruner>, PruneError> {
        swast_prune::build(&cfg.prune, scope, cfg.seed)
    }
    fn selector(&self, cfg: &Config) -> Result<Box<dyn Selector>, SelectError> {
        Ok(swast_coreset::build(&cfg.coreset))
    }
}

pub mod report;
pub mod runge;
