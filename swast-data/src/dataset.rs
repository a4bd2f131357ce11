//! The in-memory classification dataset and its operations (splits, views, statistics).

use crate::error::{DataError, Result};
use crate::rng::SeededRng;
use serde::{Deserialize, Serialize};

/// Sample values: raw bytes with their maximum (images) or floats (feature vectors).
#[derive(Debug, Clone, PartialEq)]
pub enum Pixels {
    /// Unsigned bytes in `0..=max` (e.g. 255 for MNIST, 16 for sklearn digits), scaled to
    /// `[0, 1]` when batched.
    U8 {
        /// The values, sample-major, each sample `C·H·W` long in CHW order.
        values: Vec<u8>,
        /// The largest value the format allows.
        max: u8,
    },
    /// Floating-point features, used as they are.
    F32(Vec<f32>),
}

impl Pixels {
    fn len(&self) -> usize {
        match self {
            Pixels::U8 { values, .. } => values.len(),
            Pixels::F32(v) => v.len(),
        }
    }

    /// Value `k` scaled to `[0, 1]` for bytes, as-is for floats.
    #[inline]
    pub fn unit(&self, k: usize) -> f32 {
        match self {
            Pixels::U8 { values, max } => f32::from(values[k]) / f32::from(*max),
            Pixels::F32(v) => v[k],
        }
    }

    fn gather(&self, indices: &[usize], sample_len: usize) -> Pixels {
        match self {
            Pixels::U8 { values, max } => {
                let mut out = Vec::with_capacity(indices.len() * sample_len);
                for &i in indices {
                    out.extend_from_slice(&values[i * sample_len..(i + 1) * sample_len]);
                }
                Pixels::U8 {
                    values: out,
                    max: *max,
                }
            }
            Pixels::F32(v) => {
                let mut out = Vec::with_capacity(indices.len() * sample_len);
                for &i in indices {
                    out.extend_from_slice(&v[i * sample_len..(i + 1) * sample_len]);
                }
                Pixels::F32(out)
            }
        }
    }
}

/// Which labels were corrupted, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct NoiseInfo {
    /// `symmetric` or `asymmetric`.
    pub kind: String,
    /// The fraction asked for.
    pub fraction: f64,
    /// Stable ids of the samples whose label now differs from the true one, ascending.
    pub noisy_ids: Vec<u32>,
    /// The true labels of every sample, in dataset order.
    pub clean_labels: Vec<u16>,
}

/// An in-memory classification dataset: `n` samples of shape `C×H×W`, a label each, class
/// names and a stable id per sample (its index in the file it came from).
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    name: String,
    shape: [usize; 3],
    pixels: Pixels,
    labels: Vec<u16>,
    ids: Vec<u32>,
    class_names: Vec<String>,
    noise: Option<NoiseInfo>,
}

/// Per-class sample counts and basic facts, as printed by `swast data info`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetInfo {
    /// Dataset name.
    pub name: String,
    /// Number of samples.
    pub samples: usize,
    /// Number of classes.
    pub classes: usize,
    /// Sample shape `[C, H, W]`.
    pub shape: [usize; 3],
    /// Samples per class.
    pub histogram: Vec<usize>,
    /// Class names.
    pub class_names: Vec<String>,
    /// Number of samples with a corrupted label.
    pub noisy: usize,
}

impl Dataset {
    /// Builds a dataset, checking that every length agrees and every label is in range.
    ///
    /// `ids` defaults to `0..n` when `None`.
    pub fn new(
        name: impl Into<String>,
        shape: [usize; 3],
        pixels: Pixels,
        labels: Vec<u16>,
        ids: Option<Vec<u32>>,
        class_names: Vec<String>,
    ) -> Result<Self> {
        let name = name.into();
        let invalid = |message: String| DataError::Invalid {
            name: name.clone(),
            message,
        };
        let sample_len: usize = shape.iter().product();
        if sample_len == 0 {
            return Err(invalid(format!("sample shape {shape:?} has no elements")));
        }
        if class_names.is_empty() {
            return Err(invalid("no classes".into()));
        }
        let n = labels.len();
        if pixels.len() != n * sample_len {
            return Err(invalid(format!(
                "{} values for {n} samples of shape {shape:?} (expected {})",
                pixels.len(),
                n * sample_len
            )));
        }
        if let Some((i, &l)) = labels
            .iter()
            .enumerate()
            .find(|(_, l)| usize::from(**l) >= class_names.len())
        {
            return Err(invalid(format!(
                "label {l} of sample {i} is out of range: expected 0..{}",
                class_names.len()
            )));
        }
        let ids = ids.unwrap_or_else(|| (0..n as u32).collect());
        if ids.len() != n {
            return Err(invalid(format!("{} ids for {n} samples", ids.len())));
        }
        Ok(Self {
            name,
            shape,
            pixels,
            labels,
            ids,
            class_names,
            noise: None,
        })
    }

    /// The dataset's name (e.g. `mnist/train`).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// Sample shape `[C, H, W]`.
    pub fn shape(&self) -> [usize; 3] {
        self.shape
    }
    /// Number of values in one sample.
    pub fn sample_len(&self) -> usize {
        self.shape.iter().product()
    }
    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }
    /// Class names.
    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }
    /// Labels (possibly noisy), in sample order.
    pub fn labels(&self) -> &[u16] {
        &self.labels
    }
    /// Stable sample ids, in sample order.
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }
    /// The raw sample values.
    pub fn pixels(&self) -> &Pixels {
        &self.pixels
    }
    /// Label-noise record, when noise was applied.
    pub fn noise(&self) -> Option<&NoiseInfo> {
        self.noise.as_ref()
    }
    pub(crate) fn set_noise(&mut self, labels: Vec<u16>, noise: NoiseInfo) {
        self.labels = labels;
        self.noise = Some(noise);
    }
    /// Renames the dataset.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Samples per class.
    pub fn class_histogram(&self) -> Vec<usize> {
        let mut h = vec![0; self.num_classes()];
        for &l in &self.labels {
            h[usize::from(l)] += 1;
        }
        h
    }

    /// A summary of the dataset.
    pub fn info(&self) -> DatasetInfo {
        DatasetInfo {
            name: self.name.clone(),
            samples: self.len(),
            classes: self.num_classes(),
            shape: self.shape,
            histogram: self.class_histogram(),
            class_names: self.class_names.clone(),
            noisy: self.noise.as_ref().map_or(0, |n| n.noisy_ids.len()),
        }
    }

    /// Indices of the samples of each class, in ascending order.
    pub fn indices_by_class(&self) -> Vec<Vec<usize>> {
        let mut by = vec![Vec::new(); self.num_classes()];
        for (i, &l) in self.labels.iter().enumerate() {
            by[usize::from(l)].push(i);
        }
        by
    }

    /// A new dataset holding the samples at `indices` (in that order). Ids, class names and the
    /// noise record follow the samples.
    pub fn subset(&self, indices: &[usize]) -> Result<Dataset> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(DataError::BadArgument(format!(
                "subset index {bad} out of range for {} ({} samples)",
                self.name,
                self.len()
            )));
        }
        let sample_len = self.sample_len();
        let noise = self.noise.as_ref().map(|n| {
            let clean_labels: Vec<u16> = indices.iter().map(|&i| n.clean_labels[i]).collect();
            let mut noisy_ids: Vec<u32> = indices
                .iter()
                .filter(|&&i| n.clean_labels[i] != self.labels[i])
                .map(|&i| self.ids[i])
                .collect();
            noisy_ids.sort_unstable();
            NoiseInfo {
                kind: n.kind.clone(),
                fraction: n.fraction,
                noisy_ids,
                clean_labels,
            }
        });
        Ok(Dataset {
            name: self.name.clone(),
            shape: self.shape,
            pixels: self.pixels.gather(indices, sample_len),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            ids: indices.iter().map(|&i| self.ids[i]).collect(),
            class_names: self.class_names.clone(),
            noise,
        })
    }

    /// Splits off a stratified share `fraction` of every class (rounded, at least one sample of
    /// each class that has two or more), seeded. Returns `(rest, split)`, each in the original
    /// sample order.
    pub fn stratified_split(&self, fraction: f64, seed: u64) -> Result<(Dataset, Dataset)> {
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(DataError::BadArgument(format!(
                "split fraction must be in (0, 1), got {fraction}"
            )));
        }
        let mut rng = SeededRng::stream(seed, "stratified-split");
        let mut take = vec![false; self.len()];
        for mut members in self.indices_by_class() {
            if members.len() < 2 {
                continue;
            }
            let k =
                ((members.len() as f64 * fraction).round() as usize).clamp(1, members.len() - 1);
            rng.shuffle(&mut members);
            for &i in &members[..k] {
                take[i] = true;
            }
        }
        let (split, rest): (Vec<usize>, Vec<usize>) = (0..self.len()).partition(|&i| take[i]);
        Ok((self.subset(&rest)?, self.subset(&split)?))
    }

    /// Per-channel mean and standard deviation of the values scaled to `[0, 1]`.
    pub fn channel_stats(&self) -> Normalization {
        let [c, h, w] = self.shape;
        let plane = h * w;
        let mut sum = vec![0f64; c];
        let mut sq = vec![0f64; c];
        for s in 0..self.len() {
            for ch in 0..c {
                let base = s * c * plane + ch * plane;
                for k in base..base + plane {
                    let v = f64::from(self.pixels.unit(k));
                    sum[ch] += v;
                    sq[ch] += v * v;
                }
            }
        }
        let count = (self.len() * plane).max(1) as f64;
        let mean: Vec<f32> = sum.iter().map(|s| (s / count) as f32).collect();
        let std = sq
            .iter()
            .zip(&sum)
            .map(|(q, s)| {
                let m = s / count;
                ((q / count - m * m).max(0.0).sqrt().max(1e-6)) as f32
            })
            .collect();
        Normalization { mean, std }
    }
}

/// Per-channel normalization `(x - mean) / std`, applied to values scaled to `[0, 1]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalization {
    /// Per-channel mean.
    pub mean: Vec<f32>,
    /// Per-channel standard deviation.
    pub std: Vec<f32>,
}

/// A train and a test set.
#[derive(Debug, Clone)]
pub struct Splits {
    /// Training samples.
    pub train: Dataset,
    /// Test samples.
    pub test: Dataset,
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn toy(n_per_class: usize, classes: usize) -> Dataset {
        let n = n_per_class * classes;
        let labels: Vec<u16> = (0..n).map(|i| (i % classes) as u16).collect();
        let values: Vec<u8> = (0..n * 4).map(|i| (i % 251) as u8).collect();
        Dataset::new(
            "toy",
            [1, 2, 2],
            Pixels::U8 { values, max: 255 },
            labels,
            None,
            (0..classes).map(|c| c.to_string()).collect(),
        )
        .unwrap()
    }

    #[test]
    fn stratified_split_keeps_class_shares_and_is_seeded() {
        let ds = toy(50, 4);
        let (rest, val) = ds.stratified_split(0.2, 1).unwrap();
        assert_eq!(val.class_histogram(), vec![10; 4]);
        assert_eq!(rest.class_histogram(), vec![40; 4]);
        let (_, val2) = ds.stratified_split(0.2, 1).unwrap();
        assert_eq!(val.ids(), val2.ids());
        let (_, val3) = ds.stratified_split(0.2, 2).unwrap();
        assert_ne!(val.ids(), val3.ids());
        let mut all: Vec<u32> = rest.ids().iter().chain(val.ids()).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..200).collect::<Vec<_>>());
        assert!(ds.stratified_split(1.0, 0).is_err());
        assert!(ds.stratified_split(f64::NAN, 0).is_err());
    }

    #[test]
    fn new_rejects_inconsistent_inputs() {
        let px = || Pixels::U8 {
            values: vec![0; 8],
            max: 255,
        };
        let names = vec!["a".to_string(), "b".to_string()];
        assert!(Dataset::new("x", [1, 2, 2], px(), vec![0, 1], None, names.clone()).is_ok());
        let e = Dataset::new("x", [1, 2, 2], px(), vec![0, 2], None, names.clone()).unwrap_err();
        assert!(e.to_string().contains("out of range"), "{e}");
        let e = Dataset::new("x", [1, 2, 2], px(), vec![0], None, names.clone()).unwrap_err();
        assert!(e.to_string().contains("expected 4"), "{e}");
        assert!(Dataset::new("x", [1, 2, 2], px(), vec![0, 1], Some(vec![1]), names).is_err());
    }

    #[test]
    fn channel_stats_of_constant_data() {
        let ds = Dataset::new(
            "c",
            [2, 1, 2],
            Pixels::U8 {
                values: vec![255, 255, 0, 0, 255, 255, 0, 0],
                max: 255,
            },
            vec![0, 0],
            None,
            vec!["a".into()],
        )
        .unwrap();
        let s = ds.channel_stats();
        assert!((s.mean[0] - 1.0).abs() < 1e-6 && s.mean[1].abs() < 1e-6);
    }
}
