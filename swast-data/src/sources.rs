//! Named datasets: where their files live and how each is split into train and test.

use crate::dataset::Dataset;
use crate::error::{DataError, Result};
use crate::readers::{CifarKind, find_file, parse_csv, read_cifar_split, read_idx_split};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The real MNIST 5k subset (500 images per class) compiled into the crate; see the crate
/// README for its source and attribution.
pub const EMBEDDED_MNIST_5K_CSV_GZ: &[u8] = include_bytes!("../data/mnist_5k.csv.gz");

/// Seed of the fixed train/test split of the datasets that ship without one (`embedded`,
/// `digits`). It never changes with the run's seed, so every run tests on the same samples.
pub const FIXED_SPLIT_SEED: u64 = 20_251_113;

/// The datasets swast knows by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetName {
    /// Real MNIST 5k, compiled in: 4,000 train / 1,000 test, stratified.
    #[default]
    Embedded,
    /// sklearn's 8×8 digits (`digits.csv.gz`), 1,797 samples split 80/20 stratified.
    Digits,
    /// MNIST, IDX files.
    Mnist,
    /// Fashion-MNIST, IDX files.
    FashionMnist,
    /// CIFAR-10 binary version.
    Cifar10,
    /// CIFAR-100 binary version.
    Cifar100,
    /// An image folder: `train/<class>/*.png|jpg` and `test/` or `val/` (see [`crate::folder`]).
    Folder,
}

const MNIST_NAMES: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
const FASHION_NAMES: [&str; 10] = [
    "t-shirt/top",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
];

impl DatasetName {
    /// Every name, in the order the docs list them.
    pub const ALL: [DatasetName; 7] = [
        DatasetName::Embedded,
        DatasetName::Digits,
        DatasetName::Mnist,
        DatasetName::FashionMnist,
        DatasetName::Cifar10,
        DatasetName::Cifar100,
        DatasetName::Folder,
    ];

    /// The config spelling (`fashion-mnist`, …), also the folder name `fetch.sh` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetName::Embedded => "embedded",
            DatasetName::Digits => "digits",
            DatasetName::Mnist => "mnist",
            DatasetName::FashionMnist => "fashion-mnist",
            DatasetName::Cifar10 => "cifar10",
            DatasetName::Cifar100 => "cifar100",
            DatasetName::Folder => "folder",
        }
    }

    /// Whether the dataset is read from files (everything but `embedded`).
    pub fn needs_files(self) -> bool {
        self != DatasetName::Embedded
    }
}

impl std::str::FromStr for DatasetName {
    type Err = DataError;
    fn from_str(s: &str) -> Result<Self> {
        DatasetName::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| DataError::UnknownDataset(s.to_string()))
    }
}

impl std::fmt::Display for DatasetName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

pub use crate::dataset::Splits;

/// The folder that holds `name`'s files: `dir` itself when the files are there, else
/// `dir/<name>` (the layout `fetch.sh DIR` makes).
pub fn resolve_dir(name: DatasetName, dir: &Path) -> Result<PathBuf> {
    let probe: &[&str] = match name {
        DatasetName::Embedded => return Ok(dir.to_path_buf()),
        DatasetName::Folder => {
            return if dir.is_dir() {
                Ok(dir.to_path_buf())
            } else {
                Err(DataError::MissingDir {
                    dir: dir.to_path_buf(),
                    dataset: "an image folder (train/<class>/…)".into(),
                })
            };
        }
        DatasetName::Digits => &["digits.csv.gz", "digits.csv"],
        DatasetName::Mnist | DatasetName::FashionMnist => &[
            "train-images-idx3-ubyte",
            "train-images-idx3-ubyte.gz",
            "train-images.idx3-ubyte",
            "train-images.idx3-ubyte.gz",
        ],
        DatasetName::Cifar10 => &[
            "data_batch_1.bin",
            "cifar-10-batches-bin",
            "cifar-10-batches-py",
        ],
        DatasetName::Cifar100 => &["train.bin", "cifar-100-binary", "cifar-100-python"],
    };
    let sub = dir.join(name.as_str());
    for cand in [dir.to_path_buf(), sub.clone()] {
        if probe.iter().any(|p| cand.join(p).exists()) {
            return Ok(cand);
        }
    }
    if sub.is_dir() {
        return Ok(sub);
    }
    if dir.is_dir() {
        return Ok(dir.to_path_buf());
    }
    Err(DataError::MissingDir {
        dir: dir.to_path_buf(),
        dataset: name.as_str().into(),
    })
}

/// How a dataset is read, beyond its name and folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    /// Image side for `folder` datasets (0: the files' own size); ignored by the others.
    pub image_size: usize,
    /// Cache decoded `folder` images next to the data.
    pub cache: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            image_size: 0,
            cache: true,
        }
    }
}

/// Loads the train and test sets of `name` (files under `dir`, see [`resolve_dir`]).
pub fn load(name: DatasetName, dir: &Path) -> Result<Splits> {
    load_with(name, dir, &LoadOptions::default())
}

/// [`load`] with options (the image size of a `folder` dataset).
pub fn load_with(name: DatasetName, dir: &Path, opts: &LoadOptions) -> Result<Splits> {
    // the bounds every command shares, before anything is read or allocated
    crate::limits::check_image_size(opts.image_size)?;
    if opts.image_size > 0 && name != DatasetName::Folder {
        return Err(DataError::Invalid {
            name: "data.image_size".into(),
            message: format!(
                "{} applies only to folder datasets; the {} files have a fixed size: leave it at 0",
                opts.image_size,
                name.as_str()
            ),
        });
    }
    let splits = load_unchecked(name, dir, opts)?;
    for ds in [&splits.train, &splits.test] {
        crate::limits::check_samples(Path::new(ds.name()), ds.len())?;
        crate::limits::check_classes(Path::new(ds.name()), ds.num_classes())?;
    }
    Ok(splits)
}

fn load_unchecked(name: DatasetName, dir: &Path, opts: &LoadOptions) -> Result<Splits> {
    match name {
        DatasetName::Folder => {
            let d = resolve_dir(name, dir)?;
            crate::folder::load_folder(
                &d,
                &crate::folder::FolderOptions {
                    image_size: opts.image_size,
                    cache: opts.cache,
                },
            )
        }
        DatasetName::Embedded => {
            let path = Path::new("<embedded mnist_5k.csv.gz>");
            let text = crate::readers::decode_maybe_gz(path, EMBEDDED_MNIST_5K_CSV_GZ.to_vec())?;
            let all = parse_csv(path, &text, "embedded", [1, 28, 28], 255, 10)?;
            split_fixed(all, "embedded")
        }
        DatasetName::Digits => {
            let d = resolve_dir(name, dir)?;
            let path = find_file(&d, &["digits.csv".into()])?;
            let text = crate::readers::read_maybe_gz(&path)?;
            let all = parse_csv(&path, &text, "digits", [1, 8, 8], 16, 10)?;
            split_fixed(all, "digits")
        }
        DatasetName::Mnist | DatasetName::FashionMnist => {
            let d = resolve_dir(name, dir)?;
            let names: &[&str] = if name == DatasetName::Mnist {
                &MNIST_NAMES
            } else {
                &FASHION_NAMES
            };
            let base = name.as_str();
            Ok(Splits {
                train: read_idx_split(&d, "train", &format!("{base}/train"), names)?,
                test: read_idx_split(&d, "t10k", &format!("{base}/test"), names)?,
            })
        }
        DatasetName::Cifar10 | DatasetName::Cifar100 => {
            let d = resolve_dir(name, dir)?;
            let kind = if name == DatasetName::Cifar10 {
                CifarKind::Cifar10
            } else {
                CifarKind::Cifar100
            };
            Ok(Splits {
                train: read_cifar_split(&d, kind, true)?,
                test: read_cifar_split(&d, kind, false)?,
            })
        }
    }
}

fn split_fixed(all: Dataset, base: &str) -> Result<Splits> {
    let (train, test) = all.stratified_split(0.2, FIXED_SPLIT_SEED)?;
    Ok(Splits {
        train: train.with_name(format!("{base}/train")),
        test: test.with_name(format!("{base}/test")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_is_real_mnist_5k_split_4000_1000_stratified() {
        let s = load(DatasetName::Embedded, Path::new("unused")).unwrap();
        assert_eq!(s.train.len(), 4000);
        assert_eq!(s.test.len(), 1000);
        assert_eq!(s.train.class_histogram(), vec![400; 10]);
        assert_eq!(s.test.class_histogram(), vec![100; 10]);
        assert_eq!(s.train.shape(), [1, 28, 28]);
        // disjoint ids, deterministic
        let again = load(DatasetName::Embedded, Path::new("unused")).unwrap();
        assert_eq!(s.test.ids(), again.test.ids());
        assert!(s.test.ids().iter().all(|id| !s.train.ids().contains(id)));
        // real images: mean intensity of MNIST is about 0.13
        let m = s.train.channel_stats().mean[0];
        assert!((0.10..0.16).contains(&m), "mean {m}");
    }

    #[test]
    fn names_round_trip() {
        for d in DatasetName::ALL {
            assert_eq!(d.as_str().parse::<DatasetName>().unwrap(), d);
        }
        let e = "cifar".parse::<DatasetName>().unwrap_err();
        assert!(e.to_string().contains("cifar10"));
    }
}
