//! The bounds every loader shares, checked where data is loaded, so that every command that
//! loads data (`swast train`, `swast data info`, the library's [`crate::load_with`]) refuses
//! the same values with the same message instead of aborting on an allocation.

use crate::error::{DataError, Result};
use std::path::Path;

/// The largest image side a folder dataset is resized to (`data.image_size`).
pub const MAX_IMAGE_SIDE: usize = 4096;
/// Labels are `u16`.
pub const MAX_CLASSES: usize = u16::MAX as usize;
/// The most samples one split may hold.
pub const MAX_SAMPLES: usize = 1 << 31;
/// The most bytes a `.gz` data file may decompress to (CIFAR-100, the largest file swast
/// reads, is 0.2 GB).
pub const MAX_DECOMPRESSED: u64 = 8 << 30;

/// `data.image_size` (0 keeps the files' own size).
pub fn check_image_size(size: usize) -> Result<()> {
    if size > MAX_IMAGE_SIDE {
        return Err(DataError::Invalid {
            name: "data.image_size".into(),
            message: format!(
                "{size} pixels is above the largest side swast resizes to ({MAX_IMAGE_SIDE}); pick a smaller size (e.g. 64, 224) or 0 for the files' own size"
            ),
        });
    }
    Ok(())
}

/// A split's class count.
pub fn check_classes(path: &Path, classes: usize) -> Result<()> {
    if classes > MAX_CLASSES {
        return Err(DataError::Invalid {
            name: path.display().to_string(),
            message: format!(
                "{classes} classes; swast supports at most {MAX_CLASSES}: merge classes or split the dataset"
            ),
        });
    }
    Ok(())
}

/// A split's sample count.
pub fn check_samples(path: &Path, samples: usize) -> Result<()> {
    if samples > MAX_SAMPLES {
        return Err(DataError::Invalid {
            name: path.display().to_string(),
            message: format!(
                "{samples} samples; swast holds datasets in memory and supports at most {MAX_SAMPLES} per split"
            ),
        });
    }
    Ok(())
}

/// Memory the system can still hand out, in bytes (`MemAvailable`), when it can be known.
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// An allocation of `bytes` that a file's header (or `data.image_size`) asks for: refused
/// with a message naming `what` and the fix when it exceeds the memory available, instead
/// of aborting the process.
pub fn check_allocation(path: &Path, what: &str, bytes: u128) -> Result<()> {
    let Some(avail) = available_memory() else {
        return Ok(());
    };
    if bytes > u128::from(avail) {
        return Err(DataError::Invalid {
            name: path.display().to_string(),
            message: format!(
                "{what} would take {:.1} GB of memory, more than the {:.1} GB available; lower data.image_size or use a machine with more memory",
                bytes as f64 / 1e9,
                avail as f64 / 1e9
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_name_the_value_and_the_fix() {
        assert!(check_image_size(4096).is_ok() && check_image_size(0).is_ok());
        let e = check_image_size(100_000).unwrap_err().to_string();
        assert!(e.contains("100000") && e.contains("data.image_size"), "{e}");
        let e = check_classes(Path::new("d/train"), 70_000)
            .unwrap_err()
            .to_string();
        assert!(e.contains("70000") && e.contains("d/train"), "{e}");
        assert!(check_samples(Path::new("x"), 10).is_ok());
        if available_memory().is_some() {
            let e = check_allocation(Path::new("d"), "the decoded images", u128::MAX)
                .unwrap_err()
                .to_string();
            assert!(e.contains("data.image_size"), "{e}");
        }
    }
}
