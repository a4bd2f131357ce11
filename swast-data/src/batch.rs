//! Seeded shuffling, augmentation, normalization and batching into burn tensors.
//!
//! A training "view" of a dataset is just a slice of sample indices: building a new one after
//! each coreset selection costs nothing, and batches are gathered straight from the
//! in-memory dataset.

use crate::dataset::{Dataset, Normalization, Pixels};
use crate::rng::SeededRng;
use burn::tensor::{Device, Int, Tensor, TensorData};

/// A batch on a device.
#[derive(Debug, Clone)]
pub struct Batch {
    /// `[B, C, H, W]` normalized inputs.
    pub images: Tensor<4>,
    /// `[B]` labels.
    pub labels: Tensor<1, Int>,
    /// Row `r` of the batch is sample `indices[r]` of the dataset.
    pub indices: Vec<usize>,
}

/// Turns samples into normalized (and optionally augmented) tensors.
#[derive(Debug, Clone)]
pub struct Batcher {
    norm: Normalization,
    augment: bool,
}

impl Batcher {
    /// A batcher with per-channel normalization; `augment` turns on pad-4 random crop and
    /// horizontal flip (meant for 32×32 colour data).
    pub fn new(norm: Normalization, augment: bool) -> Self {
        Self { norm, augment }
    }

    /// Whether augmentation is on.
    pub fn augments(&self) -> bool {
        self.augment
    }

    /// Writes sample `i` of `ds` into `out` (`C·H·W` floats), normalized, augmented with
    /// draws from `rng` when augmentation is on and `rng` is given.
    pub fn fill_sample(
        &self,
        ds: &Dataset,
        i: usize,
        rng: Option<&mut SeededRng>,
        out: &mut [f32],
    ) {
        self.fill_sample_with(ds, i, rng, out, None);
    }

    /// For byte pixels, per channel the normalized value of every byte `0..=255`, computed
    /// as [`Batcher::fill_sample`] computes it, so that a batch looks its pixels up.
    fn byte_tables(&self, ds: &Dataset) -> Option<Vec<[f32; 256]>> {
        let Pixels::U8 { max, .. } = ds.pixels() else {
            return None;
        };
        Some(
            (0..ds.shape()[0])
                .map(|ch| {
                    let (m, s) = (self.norm.mean[ch], self.norm.std[ch]);
                    std::array::from_fn(|b| (f32::from(b as u8) / f32::from(*max) - m) / s)
                })
                .collect(),
        )
    }

    /// [`Batcher::fill_sample`], looking byte pixels up in `tables` (from
    /// [`Batcher::byte_tables`]) when given.
    fn fill_sample_with(
        &self,
        ds: &Dataset,
        i: usize,
        rng: Option<&mut SeededRng>,
        out: &mut [f32],
        tables: Option<&[[f32; 256]]>,
    ) {
        let [c, h, w] = ds.shape();
        let px = ds.pixels();
        let base = i * c * h * w;
        let (dy, dx, flip) = match (self.augment, rng) {
            (true, Some(r)) => (r.below(9) as isize - 4, r.below(9) as isize - 4, r.coin()),
            _ => (0, 0, false),
        };
        if let (Pixels::U8 { values, .. }, Some(tables), (0, 0, false)) =
            (px, tables, (dy, dx, flip))
        {
            // unshifted: one table look-up a pixel
            let plane = h * w;
            for (ch, table) in tables.iter().enumerate().take(c) {
                let src = &values[base + ch * plane..base + (ch + 1) * plane];
                for (o, &b) in out[ch * plane..(ch + 1) * plane].iter_mut().zip(src) {
                    *o = table[usize::from(b)];
                }
            }
            return;
        }
        for ch in 0..c {
            let (m, s) = (self.norm.mean[ch], self.norm.std[ch]);
            for y in 0..h {
                for x in 0..w {
                    let sy = y as isize + dy;
                    let sx0 = if flip { w - 1 - x } else { x } as isize + dx;
                    let v = if sy < 0 || sy >= h as isize || sx0 < 0 || sx0 >= w as isize {
                        0.0 // zero padding (in [0,1] units), normalized like any pixel
                    } else {
                        px.unit(base + ch * h * w + sy as usize * w + sx0 as usize)
                    };
                    out[ch * h * w + y * w + x] = (v - m) / s;
                }
            }
        }
    }

    /// Writes the samples at `indices` into `out` (`[indices.len(), C, H, W]` floats), as
    /// [`Batcher::batch`] lays them out on the device.
    pub fn fill(
        &self,
        ds: &Dataset,
        indices: &[usize],
        mut rng: Option<&mut SeededRng>,
        out: &mut [f32],
    ) {
        let [c, h, w] = ds.shape();
        let len = c * h * w;
        assert_eq!(out.len(), indices.len() * len, "one C·H·W image per index");
        if len == 0 {
            return;
        }
        let tables = self.byte_tables(ds);
        for (&i, out) in indices.iter().zip(out.chunks_exact_mut(len)) {
            self.fill_sample_with(ds, i, rng.as_deref_mut(), out, tables.as_deref());
        }
    }

    /// Gathers the samples at `indices` into a batch on `device`.
    pub fn batch(
        &self,
        ds: &Dataset,
        indices: &[usize],
        rng: Option<&mut SeededRng>,
        device: &Device,
    ) -> Batch {
        let [c, h, w] = ds.shape();
        let mut buf = vec![0f32; indices.len() * c * h * w];
        self.fill(ds, indices, rng, &mut buf);
        let labels: Vec<i64> = indices.iter().map(|&i| i64::from(ds.labels()[i])).collect();
        Batch {
            images: Tensor::from_data(TensorData::new(buf, [indices.len(), c, h, w]), device),
            labels: Tensor::from_data(TensorData::new(labels, [indices.len()]), device),
            indices: indices.to_vec(),
        }
    }
}

/// The index chunks of one epoch over `view`: shuffled with `rng` when given, in order
/// otherwise; the last chunk may be shorter.
pub fn epoch_batches(
    view: &[usize],
    batch_size: usize,
    rng: Option<&mut SeededRng>,
) -> Vec<Vec<usize>> {
    let mut order = view.to_vec();
    if let Some(r) = rng {
        r.shuffle(&mut order);
    }
    order
        .chunks(batch_size.max(1))
        .map(<[usize]>::to_vec)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img() -> Dataset {
        // 1 sample, 1 channel, 2x3: values 0..6 (max 6 so unit = v/6)
        Dataset::new(
            "t",
            [1, 2, 3],
            Pixels::U8 {
                values: vec![0, 1, 2, 3, 4, 5],
                max: 6,
            },
            vec![0],
            None,
            vec!["a".into()],
        )
        .unwrap()
    }

    #[test]
    fn normalization_without_augmentation_is_exact() {
        let b = Batcher::new(
            Normalization {
                mean: vec![0.5],
                std: vec![0.25],
            },
            false,
        );
        let mut out = vec![0.0; 6];
        b.fill_sample(&img(), 0, None, &mut out);
        let want: Vec<f32> = (0..6).map(|v| (v as f32 / 6.0 - 0.5) / 0.25).collect();
        assert_eq!(out, want);
    }

    #[test]
    fn a_batch_looks_bytes_up_with_the_values_of_the_per_pixel_path() {
        // three channels of every byte value, max 200 (bytes above it are out of range but
        // still mapped the same way), uneven normalization
        let values: Vec<u8> = (0..3 * 256).map(|k| (k % 256) as u8).rev().collect();
        let ds = Dataset::new(
            "t",
            [3, 16, 16],
            Pixels::U8 { values, max: 200 },
            vec![0],
            None,
            vec!["a".into()],
        )
        .unwrap();
        let b = Batcher::new(
            Normalization {
                mean: vec![0.1307, 0.5, -0.3],
                std: vec![0.3081, 0.27, 1.7],
            },
            false,
        );
        let mut per_pixel = vec![0.0f32; 3 * 256];
        b.fill_sample(&ds, 0, None, &mut per_pixel);
        // what `batch` does for each sample
        let tables = b.byte_tables(&ds);
        let mut looked_up = vec![0.0f32; 3 * 256];
        b.fill_sample_with(&ds, 0, None, &mut looked_up, tables.as_deref());
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&looked_up), bits(&per_pixel));
    }

    #[test]
    fn augmentation_is_a_shifted_maybe_flipped_copy_and_seeded() {
        let b = Batcher::new(
            Normalization {
                mean: vec![0.0],
                std: vec![1.0],
            },
            true,
        );
        let ds = img();
        let mut seen_flip = false;
        for seed in 0..3000 {
            let mut out = vec![0.0; 6];
            b.fill_sample(&ds, 0, Some(&mut SeededRng::new(seed)), &mut out);
            let mut again = vec![0.0; 6];
            b.fill_sample(&ds, 0, Some(&mut SeededRng::new(seed)), &mut again);
            assert_eq!(out, again);
            // every value is either padding (0) or one of the original pixels
            for v in &out {
                assert!(*v == 0.0 || (0..6).any(|k| (k as f32 / 6.0 - v).abs() < 1e-6));
            }
            if out == [2.0 / 6.0, 1.0 / 6.0, 0.0, 5.0 / 6.0, 4.0 / 6.0, 3.0 / 6.0] {
                seen_flip = true;
            }
        }
        assert!(
            seen_flip,
            "pure flip with no shift never drawn in 3000 seeds"
        );
    }

    #[test]
    fn epoch_batches_cover_the_view_once() {
        let view: Vec<usize> = (10..35).collect();
        let chunks = epoch_batches(&view, 8, Some(&mut SeededRng::new(1)));
        assert_eq!(chunks.len(), 4);
        assert_eq!(chunks[3].len(), 1);
        let mut all: Vec<usize> = chunks.concat();
        assert_ne!(all, view);
        all.sort_unstable();
        assert_eq!(all, view);
    }
}
