//! The library side of the `swast` binary: reports and plots (`swast report`), the
//! polynomial analysis (`swast analyze runge`). The wiring of pruners and selectors into a
//! run lives in the `swast` crate and is re-exported here.

pub use swast::{PLUGINS, Parts, check_device, load_config, parse_device, probe_quietly};

pub mod export;
pub mod plot;
pub mod report;
pub mod runge;
