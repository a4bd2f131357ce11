//! # swast
//!
//! Training that prunes weights and selects coresets at once (SWaST, Wan et al., AAAI
//! 2026), on burn 0.22: the umbrella crate. It re-exports the four crates, a
//! [`prelude`], and the default wiring of their pruners and selectors into a run
//! ([`Parts`], [`load_config`]), so a library user needs this one dependency.
//!
//! - [`core`] (`swast-core`): models, the trainer, the probe pass, the run loop
//!   (Algorithm 1), the `Selector` / `Pruner` contracts, config, events, checkpoints.
//! - [`data`] (`swast-data`): datasets, readers, label noise, batching.
//! - [`prune`] (`swast-prune`): RigL, ERK, GMP, SNIP, ProbMask, magnitude, random,
//!   structured channel pruning.
//! - [`coreset`] (`swast-coreset`): GradMatch, CRAIG, GLISTER, EL2N, forgetting, … and
//!   [`coreset::select`] for a selection in your own training loop.
//!
//! ```no_run
//! use swast::prelude::*;
//!
//! let cfg = load_config("", &["method=swast-cut".into(), "coreset.interval=2".into()])?;
//! let dir = std::path::Path::new("runs/demo");
//! let s = run(&cfg, &Device::flex(), dir, &RunOptions::default(), &mut NullSink, &Parts)?;
//! println!("{:.2}%", 100.0 * s.test_accuracy);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use swast_core as core;
pub use swast_core::burn;
pub use swast_coreset as coreset;
pub use swast_data as data;
pub use swast_prune as prune;

mod wiring;

pub use wiring::{PLUGINS, Parts, check_device, load_config, parse_device, probe_quietly};

/// What most programs that use swast need, in one `use swast::prelude::*`.
pub mod prelude {
    pub use crate::wiring::{Parts, load_config, parse_device};
    pub use swast_core::burn::tensor::{Device, Int, Tensor, TensorData};
    pub use swast_core::config::{Config, ConfigError, Method};
    pub use swast_core::coreset::{Coreset, SelectContext, SelectError, Selector};
    pub use swast_core::events::{Event, EventSink, NullSink, VecSink};
    pub use swast_core::model::{
        LayerInfo, ModelConfig, ModelError, ModelFactory, ModelOutput, ModelSpec, Network,
        NetworkFactory, Role, SwastModel, reinit,
    };
    pub use swast_core::probe::{Probe, ProbeError};
    pub use swast_core::prune::{PruneError, Pruner, Scope, WeightSource};
    pub use swast_core::run::{RunError, RunOptions, Summary, run, run_with_model};
    pub use swast_core::train::{TrainConfig, Trainer, TrainerBuilder};
    pub use swast_coreset::{CoresetParams, CoresetSettings, select};
    pub use swast_data::{Dataset, DatasetName, LoadOptions, SeededRng, load_with};
}
