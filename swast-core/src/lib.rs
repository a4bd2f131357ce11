//! # swast-core
//!
//! The core of swast: the models every other crate trains ([`model`]), the dense trainer
//! with exact resume ([`train`]), the run loop ([`run`]), typed events ([`events`]) and
//! atomic checkpoints ([`checkpoint`]). The backend is whatever [`burn::tensor::Device`] the
//! caller passes: this crate never picks one.

pub mod checkpoint;
pub mod config;
pub mod coreset;
pub mod events;
pub mod export;
pub mod model;
pub mod optim;
pub mod parallel;
pub mod probe;
pub mod prune;
pub mod run;
pub mod schedule;
pub mod tensorboard;
pub mod testing;
pub mod train;

pub use burn;
pub use model::{Arch, LayerInfo, ModelConfig, Network, Role, SwastModel};
pub use train::{PassStats, TrainConfig, TrainError, Trainer};
