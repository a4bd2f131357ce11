//! # swast-data
//!
//! In-memory classification datasets for swast: readers for IDX (MNIST, Fashion-MNIST),
//! CIFAR-10/100 binary and CSV files, image folders of PNG/JPEG files ([`folder`]), the real MNIST-5k subset compiled in as the default
//! (`embedded`), seeded label noise, stratified splits, normalization, augmentation and
//! batching into burn tensors.
//!
//! Every reader returns a typed [`DataError`] that names the file, what was expected and what
//! was found; none panics on bad input.

pub mod batch;
pub mod dataset;
pub mod error;
#[cfg(feature = "fetch")]
pub mod fetch;
pub mod files;
pub mod folder;
pub mod hash;
pub mod limits;
pub mod noise;
pub mod pickle;
pub mod readers;
pub mod rng;
pub mod sources;

pub use batch::{Batch, Batcher, epoch_batches};
pub use dataset::{Dataset, DatasetInfo, NoiseInfo, Normalization, Pixels};
pub use error::{DataError, Result};
pub use folder::FolderOptions;
pub use noise::{NoiseKind, apply_label_noise};
pub use rng::SeededRng;
pub use sources::{DatasetName, LoadOptions, Splits, load, load_with};
