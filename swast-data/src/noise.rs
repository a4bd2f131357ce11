//! Label noise: symmetric (to a uniformly drawn *different* class) and asymmetric (each class to
//! one fixed other class), seeded, with the corrupted sample ids recorded.

use crate::dataset::{Dataset, NoiseInfo};
use crate::error::{DataError, Result};
use crate::rng::SeededRng;
use serde::{Deserialize, Serialize};

/// How corrupted labels are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum NoiseKind {
    /// The new label is drawn uniformly from the other classes.
    #[default]
    Symmetric,
    /// Each class flips to one fixed other class: the usual pairs for 10-class digits
    /// (2→7, 3→8, 5↔6, 7→1) and CIFAR-10 (truck→automobile, bird→airplane, deer→horse,
    /// cat↔dog); `c → (c+1) mod K` for any other dataset.
    Asymmetric,
}

impl NoiseKind {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            NoiseKind::Symmetric => "symmetric",
            NoiseKind::Asymmetric => "asymmetric",
        }
    }
}

/// The asymmetric flip target of each class (`None` = this class is never flipped).
pub fn asymmetric_map(dataset_name: &str, classes: usize) -> Vec<Option<u16>> {
    let base = dataset_name.split('/').next().unwrap_or("");
    let mut map = vec![None; classes];
    let pairs: &[(u16, u16)] = match (base, classes) {
        ("cifar10", 10) => &[(9, 1), (2, 0), (4, 7), (3, 5), (5, 3)],
        ("mnist" | "embedded" | "digits", 10) => &[(2, 7), (3, 8), (5, 6), (6, 5), (7, 1)],
        _ => {
            for (c, m) in map.iter_mut().enumerate() {
                *m = Some(((c + 1) % classes) as u16);
            }
            return map;
        }
    };
    for &(from, to) in pairs {
        map[usize::from(from)] = Some(to);
    }
    map
}

/// Corrupts `round(fraction · n)` labels of `ds`, seeded.
///
/// Symmetric noise picks the samples uniformly from the whole set; asymmetric noise picks
/// `round(fraction · n_c)` samples in each class that has a flip target. Returns the dataset
/// with the noisy labels and its [`NoiseInfo`].
pub fn apply_label_noise(
    mut ds: Dataset,
    fraction: f64,
    kind: NoiseKind,
    seed: u64,
) -> Result<Dataset> {
    if !(0.0..=1.0).contains(&fraction) || fraction.is_nan() {
        return Err(DataError::BadArgument(format!(
            "data.label_noise must be in [0, 1], got {fraction}"
        )));
    }
    if fraction == 0.0 {
        return Ok(ds);
    }
    let k = ds.num_classes();
    if k < 2 {
        return Err(DataError::BadArgument(
            "label noise needs at least two classes".into(),
        ));
    }
    let mut rng = SeededRng::stream(seed, "label-noise");
    let clean = ds.labels().to_vec();
    let mut labels = clean.clone();
    let chosen: Vec<usize> = match kind {
        NoiseKind::Symmetric => {
            let mut all: Vec<usize> = (0..ds.len()).collect();
            rng.shuffle(&mut all);
            all.truncate((ds.len() as f64 * fraction).round() as usize);
            all
        }
        NoiseKind::Asymmetric => {
            let map = asymmetric_map(ds.name(), k);
            let mut out = Vec::new();
            for (c, mut members) in ds.indices_by_class().into_iter().enumerate() {
                if map[c].is_none() {
                    continue;
                }
                rng.shuffle(&mut members);
                members.truncate((members.len() as f64 * fraction).round() as usize);
                out.extend(members);
            }
            out
        }
    };
    let map = asymmetric_map(ds.name(), k);
    for &i in &chosen {
        let y = usize::from(clean[i]);
        labels[i] = match kind {
            NoiseKind::Symmetric => {
                let r = rng.below(k - 1);
                (if r >= y { r + 1 } else { r }) as u16
            }
            NoiseKind::Asymmetric => map[y].expect("chosen only among mapped classes"),
        };
    }
    let mut noisy_ids: Vec<u32> = (0..ds.len())
        .filter(|&i| labels[i] != clean[i])
        .map(|i| ds.ids()[i])
        .collect();
    noisy_ids.sort_unstable();
    let info = NoiseInfo {
        kind: kind.as_str().into(),
        fraction,
        noisy_ids,
        clean_labels: clean,
    };
    ds.set_noise(labels, info);
    Ok(ds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Pixels;
    use proptest::prelude::*;

    fn ds(n: usize, k: usize, name: &str) -> Dataset {
        Dataset::new(
            name,
            [1, 1, 1],
            Pixels::U8 {
                values: vec![0; n],
                max: 255,
            },
            (0..n).map(|i| (i % k) as u16).collect(),
            None,
            (0..k).map(|c| c.to_string()).collect(),
        )
        .unwrap()
    }

    proptest! {
        #[test]
        fn symmetric_noise_flips_exactly_the_share_to_other_classes(
            n in 10usize..400, k in 2usize..12, frac in 0.0f64..1.0, seed in any::<u64>()
        ) {
            let d = apply_label_noise(ds(n, k, "x"), frac, NoiseKind::Symmetric, seed).unwrap();
            let want = (n as f64 * frac).round() as usize;
            match d.noise() {
                None => prop_assert_eq!(want, 0),
                Some(info) => {
                    prop_assert_eq!(info.noisy_ids.len(), want);
                    for &id in &info.noisy_ids {
                        prop_assert_ne!(d.labels()[id as usize], info.clean_labels[id as usize]);
                    }
                    let same = apply_label_noise(ds(n, k, "x"), frac, NoiseKind::Symmetric, seed).unwrap();
                    prop_assert_eq!(same.labels(), d.labels());
                }
            }
        }
    }

    #[test]
    fn asymmetric_noise_follows_the_map() {
        let d =
            apply_label_noise(ds(1000, 10, "mnist/train"), 0.4, NoiseKind::Asymmetric, 3).unwrap();
        let info = d.noise().unwrap();
        // five mapped classes of 100 samples each, 40% of each flipped
        assert_eq!(info.noisy_ids.len(), 5 * 40);
        for &id in &info.noisy_ids {
            let (from, to) = (info.clean_labels[id as usize], d.labels()[id as usize]);
            assert!(
                matches!((from, to), (2, 7) | (3, 8) | (5, 6) | (6, 5) | (7, 1)),
                "{from}->{to}"
            );
        }
        assert!(apply_label_noise(ds(10, 2, "x"), 1.5, NoiseKind::Symmetric, 0).is_err());
    }
}
