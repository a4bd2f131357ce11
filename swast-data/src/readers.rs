//! File readers: IDX (MNIST, Fashion-MNIST, …), CIFAR-10/100 binary, and the CSV layout of
//! `mnist_5k.csv.gz` / `digits.csv.gz`. Each accepts plain or gzip-compressed files.

use crate::dataset::{Dataset, Pixels};
use crate::error::{DataError, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The IDX magic number of an unsigned-byte 3-d array (images).
pub const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
/// The IDX magic number of an unsigned-byte 1-d array (labels).
pub const IDX_LABELS_MAGIC: u32 = 0x0000_0801;

/// Reads a whole file, transparently gunzipping it when it starts with the gzip magic.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    // a file larger than the memory left is an error, not an aborted allocation
    if let Ok(m) = std::fs::metadata(path) {
        crate::limits::check_allocation(path, "reading the file", u128::from(m.len()))?;
    }
    let raw = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode_maybe_gz(path, raw)
}

/// Gunzips `raw` when it starts with the gzip magic, returns it unchanged otherwise. The
/// decompressed size is bounded ([`crate::limits::MAX_DECOMPRESSED`], and the memory
/// available): a damaged or hostile archive is an error, never an aborted allocation.
pub fn decode_maybe_gz(path: &Path, raw: Vec<u8>) -> Result<Vec<u8>> {
    let avail = crate::limits::available_memory().unwrap_or(u64::MAX);
    decode_gz_bounded(path, raw, crate::limits::MAX_DECOMPRESSED.min(avail / 2))
}

fn decode_gz_bounded(path: &Path, raw: Vec<u8>, limit: u64) -> Result<Vec<u8>> {
    if raw.len() >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
        let mut out = Vec::with_capacity(raw.len().saturating_mul(4).min(limit as usize));
        flate2::read::MultiGzDecoder::new(&raw[..])
            .take(limit.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|source| DataError::Gzip {
                path: path.to_path_buf(),
                source,
            })?;
        if out.len() as u64 > limit {
            return Err(DataError::Invalid {
                name: path.display().to_string(),
                message: format!(
                    "decompresses to more than {:.1} GB, more than any dataset swast reads; the archive is damaged or not a dataset: fetch it again",
                    limit as f64 / 1e9
                ),
            });
        }
        Ok(out)
    } else {
        Ok(raw)
    }
}

#[cfg(test)]
mod gz_tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_gzip_bomb_is_an_error_not_an_allocation() {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&vec![0u8; 1 << 20]).unwrap();
        let gz = e.finish().unwrap();
        let p = Path::new("bomb.gz");
        let err = decode_gz_bounded(p, gz.clone(), 1000)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bomb.gz") && err.contains("decompresses to more than"),
            "{err}"
        );
        assert_eq!(decode_gz_bounded(p, gz, 2 << 20).unwrap().len(), 1 << 20);
    }
}

/// The first of `names` (each tried plain and with `.gz`) that exists in `dir`.
pub fn find_file(dir: &Path, names: &[String]) -> Result<PathBuf> {
    for n in names {
        for cand in [n.clone(), format!("{n}.gz")] {
            let p = dir.join(&cand);
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    Err(DataError::Missing {
        dir: dir.to_path_buf(),
        expected: names
            .iter()
            .map(|n| format!("{n}[.gz]"))
            .collect::<Vec<_>>()
            .join(", "),
    })
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Parses IDX image bytes: returns `(count, rows, cols, pixels)`.
pub fn parse_idx_images(path: &Path, bytes: &[u8]) -> Result<(usize, usize, usize, Vec<u8>)> {
    let truncated = |expected: u64| DataError::Truncated {
        path: path.to_path_buf(),
        expected,
        found: bytes.len() as u64,
    };
    if bytes.len() < 16 {
        return Err(truncated(16));
    }
    let magic = be_u32(bytes, 0);
    if magic != IDX_IMAGES_MAGIC {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            expected: IDX_IMAGES_MAGIC,
            found: magic,
            what: "IDX unsigned-byte images, 3 dimensions",
        });
    }
    let (n, r, c) = (
        be_u32(bytes, 4) as usize,
        be_u32(bytes, 8) as usize,
        be_u32(bytes, 12) as usize,
    );
    let expected = (n as u64)
        .checked_mul(r as u64)
        .and_then(|v| v.checked_mul(c as u64))
        .and_then(|v| v.checked_add(16))
        .unwrap_or(u64::MAX);
    if bytes.len() as u64 != expected {
        return Err(truncated(expected));
    }
    if r == 0 || c == 0 {
        return Err(DataError::Invalid {
            name: path.display().to_string(),
            message: format!("image size {r}x{c} has no pixels"),
        });
    }
    Ok((n, r, c, bytes[16..].to_vec()))
}

/// Parses IDX label bytes.
pub fn parse_idx_labels(path: &Path, bytes: &[u8]) -> Result<Vec<u8>> {
    if bytes.len() < 8 {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected: 8,
            found: bytes.len() as u64,
        });
    }
    let magic = be_u32(bytes, 0);
    if magic != IDX_LABELS_MAGIC {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            expected: IDX_LABELS_MAGIC,
            found: magic,
            what: "IDX unsigned-byte labels, 1 dimension",
        });
    }
    let n = be_u32(bytes, 4) as u64;
    if bytes.len() as u64 != n + 8 {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected: n + 8,
            found: bytes.len() as u64,
        });
    }
    Ok(bytes[8..].to_vec())
}

fn check_labels(path: &Path, labels: &[u8], classes: usize) -> Result<Vec<u16>> {
    labels
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            if usize::from(l) < classes {
                Ok(u16::from(l))
            } else {
                Err(DataError::LabelOutOfRange {
                    path: path.to_path_buf(),
                    index: i,
                    label: i64::from(l),
                    classes,
                })
            }
        })
        .collect()
}

/// Reads one IDX split (`prefix` = `train` or `t10k`) from `dir`, accepting both
/// `train-images-idx3-ubyte` and `train-images.idx3-ubyte` spellings, plain or `.gz`.
pub fn read_idx_split(
    dir: &Path,
    prefix: &str,
    name: &str,
    class_names: &[&str],
) -> Result<Dataset> {
    let img_path = find_file(
        dir,
        &[
            format!("{prefix}-images-idx3-ubyte"),
            format!("{prefix}-images.idx3-ubyte"),
        ],
    )?;
    let lbl_path = find_file(
        dir,
        &[
            format!("{prefix}-labels-idx1-ubyte"),
            format!("{prefix}-labels.idx1-ubyte"),
        ],
    )?;
    let (n, r, c, pixels) = parse_idx_images(&img_path, &read_maybe_gz(&img_path)?)?;
    let labels = parse_idx_labels(&lbl_path, &read_maybe_gz(&lbl_path)?)?;
    if labels.len() != n {
        return Err(DataError::CountMismatch {
            images_path: img_path,
            images: n,
            labels_path: lbl_path,
            labels: labels.len(),
        });
    }
    let labels = check_labels(&lbl_path, &labels, class_names.len())?;
    Dataset::new(
        name,
        [1, r, c],
        Pixels::U8 {
            values: pixels,
            max: 255,
        },
        labels,
        None,
        class_names.iter().map(|s| s.to_string()).collect(),
    )
}

/// The CIFAR binary layout: how many label bytes precede each 3×32×32 image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CifarKind {
    /// CIFAR-10: one label byte.
    Cifar10,
    /// CIFAR-100: a coarse and a fine label byte; the fine label (100 classes) is used.
    Cifar100,
}

impl CifarKind {
    /// Bytes per record.
    pub fn record_len(self) -> usize {
        match self {
            CifarKind::Cifar10 => 1 + 3072,
            CifarKind::Cifar100 => 2 + 3072,
        }
    }
    fn classes(self) -> usize {
        match self {
            CifarKind::Cifar10 => 10,
            CifarKind::Cifar100 => 100,
        }
    }
}

/// Parses the records of one CIFAR binary file, appending to `pixels` and `labels`.
pub fn parse_cifar(
    path: &Path,
    bytes: &[u8],
    kind: CifarKind,
    pixels: &mut Vec<u8>,
    labels: &mut Vec<u16>,
) -> Result<()> {
    let rec = kind.record_len();
    if bytes.is_empty() || !bytes.len().is_multiple_of(rec) {
        return Err(DataError::BadRecordSize {
            path: path.to_path_buf(),
            size: bytes.len() as u64,
            record: rec,
            format: match kind {
                CifarKind::Cifar10 => "CIFAR-10 binary",
                CifarKind::Cifar100 => "CIFAR-100 binary",
            },
        });
    }
    let label_at = rec - 3072 - 1;
    for (i, r) in bytes.chunks_exact(rec).enumerate() {
        let l = r[label_at];
        if usize::from(l) >= kind.classes() {
            return Err(DataError::LabelOutOfRange {
                path: path.to_path_buf(),
                index: i,
                label: i64::from(l),
                classes: kind.classes(),
            });
        }
        labels.push(u16::from(l));
        pixels.extend_from_slice(&r[rec - 3072..]);
    }
    Ok(())
}

const CIFAR10_NAMES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

fn names_file(dir: &Path, file: &str, expected: usize) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(dir.join(file)).ok()?;
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    (names.len() == expected).then_some(names)
}

/// A CIFAR split of 3×32×32 byte images.
fn cifar_dataset(
    kind: CifarKind,
    train: bool,
    pixels: Vec<u8>,
    labels: Vec<u16>,
    names: Vec<String>,
) -> Result<Dataset> {
    let base = match kind {
        CifarKind::Cifar10 => "cifar10",
        CifarKind::Cifar100 => "cifar100",
    };
    Dataset::new(
        format!("{base}/{}", if train { "train" } else { "test" }),
        [3, 32, 32],
        Pixels::U8 {
            values: pixels,
            max: 255,
        },
        labels,
        None,
        names,
    )
}

/// Where the python version (torchvision's download) of a CIFAR dataset lies under `dir`,
/// when the binary version is not there.
fn cifar_python_dir(dir: &Path, kind: CifarKind) -> Option<PathBuf> {
    let (sub, probe) = match kind {
        CifarKind::Cifar10 => ("cifar-10-batches-py", "data_batch_1"),
        CifarKind::Cifar100 => ("cifar-100-python", "train"),
    };
    [dir.join(sub), dir.to_path_buf()]
        .into_iter()
        .find(|d| d.join(probe).is_file() && !d.join(format!("{probe}.bin")).exists())
}

/// Reads a CIFAR split from the python version's pickled batches.
fn read_cifar_python(dir: &Path, kind: CifarKind, train: bool) -> Result<Dataset> {
    let files: Vec<&str> = match (kind, train) {
        (CifarKind::Cifar10, true) => vec![
            "data_batch_1",
            "data_batch_2",
            "data_batch_3",
            "data_batch_4",
            "data_batch_5",
        ],
        (CifarKind::Cifar10, false) => vec!["test_batch"],
        (CifarKind::Cifar100, true) => vec!["train"],
        (CifarKind::Cifar100, false) => vec!["test"],
    };
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    for f in files {
        let path = dir.join(f);
        let bytes = std::fs::read(&path).map_err(|e| DataError::Io {
            path: path.clone(),
            source: e,
        })?;
        let (p, l) = crate::pickle::read_batch(&path, &bytes)?;
        pixels.extend(p);
        labels.extend(l);
    }
    let (meta, classes) = match kind {
        CifarKind::Cifar10 => ("batches.meta", 10),
        CifarKind::Cifar100 => ("meta", 100),
    };
    let names = std::fs::read(dir.join(meta))
        .ok()
        .and_then(|b| crate::pickle::read_names(&dir.join(meta), &b).ok())
        .filter(|n| n.len() == classes)
        .unwrap_or_else(|| match kind {
            CifarKind::Cifar10 => CIFAR10_NAMES.iter().map(|s| s.to_string()).collect(),
            CifarKind::Cifar100 => (0..100).map(|i| format!("class_{i}")).collect(),
        });
    if let Some(&m) = labels.iter().max()
        && usize::from(m) >= classes
    {
        return Err(DataError::Invalid {
            name: dir.display().to_string(),
            message: format!("label {m} in a {classes}-class CIFAR batch"),
        });
    }
    cifar_dataset(kind, train, pixels, labels, names)
}

/// Reads a CIFAR train or test split from `dir` (or its `cifar-10-batches-bin` /
/// `cifar-100-binary` subfolder), or from the python version torchvision downloads
/// (`cifar-10-batches-py/`, `cifar-100-python/`) when the binary one is not there.
pub fn read_cifar_split(dir: &Path, kind: CifarKind, train: bool) -> Result<Dataset> {
    let sub = match kind {
        CifarKind::Cifar10 => "cifar-10-batches-bin",
        CifarKind::Cifar100 => "cifar-100-binary",
    };
    let dir = if dir.join(sub).is_dir() {
        dir.join(sub)
    } else {
        dir.to_path_buf()
    };
    if let Some(py) = cifar_python_dir(&dir, kind) {
        return read_cifar_python(&py, kind, train);
    }
    let files: Vec<PathBuf> = match (kind, train) {
        (CifarKind::Cifar10, true) => (1..=5)
            .map(|i| find_file(&dir, &[format!("data_batch_{i}.bin")]))
            .collect::<Result<_>>()?,
        (CifarKind::Cifar10, false) => vec![find_file(&dir, &["test_batch.bin".into()])?],
        (CifarKind::Cifar100, true) => vec![find_file(&dir, &["train.bin".into()])?],
        (CifarKind::Cifar100, false) => vec![find_file(&dir, &["test.bin".into()])?],
    };
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for f in &files {
        parse_cifar(f, &read_maybe_gz(f)?, kind, &mut pixels, &mut labels)?;
    }
    let names = match kind {
        CifarKind::Cifar10 => names_file(&dir, "batches.meta.txt", 10)
            .unwrap_or_else(|| CIFAR10_NAMES.iter().map(|s| s.to_string()).collect()),
        CifarKind::Cifar100 => names_file(&dir, "fine_label_names.txt", 100)
            .unwrap_or_else(|| (0..100).map(|i| format!("class_{i}")).collect()),
    };
    cifar_dataset(kind, train, pixels, labels, names)
}

/// Parses the CSV layout `v_1,…,v_D,label` (no header), where `D = C·H·W` of `shape`, every
/// value an integer in `0..=max` and every label in `0..classes`.
pub fn parse_csv(
    path: &Path,
    text: &[u8],
    name: &str,
    shape: [usize; 3],
    max: u8,
    classes: usize,
) -> Result<Dataset> {
    let d: usize = shape.iter().product();
    let text = std::str::from_utf8(text).map_err(|e| DataError::Csv {
        path: path.to_path_buf(),
        line: 0,
        message: format!("not UTF-8 text: {e}"),
    })?;
    let mut values = Vec::new();
    let mut labels = Vec::new();
    for (ln, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let csv_err = |message: String| DataError::Csv {
            path: path.to_path_buf(),
            line: ln + 1,
            message,
        };
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != d + 1 {
            return Err(csv_err(format!(
                "expected {} fields ({d} values and a label), found {}",
                d + 1,
                fields.len()
            )));
        }
        for f in &fields[..d] {
            let v: u32 = f
                .trim()
                .parse()
                .map_err(|_| csv_err(format!("value `{f}` is not an integer in 0..={max}")))?;
            if v > u32::from(max) {
                return Err(csv_err(format!("value {v} is out of range 0..={max}")));
            }
            values.push(v as u8);
        }
        let lf = fields[d].trim();
        let l: i64 = lf
            .parse()
            .map_err(|_| csv_err(format!("label `{lf}` is not an integer")))?;
        if l < 0 || l as usize >= classes {
            return Err(DataError::LabelOutOfRange {
                path: path.to_path_buf(),
                index: labels.len(),
                label: l,
                classes,
            });
        }
        labels.push(l as u16);
    }
    if labels.is_empty() {
        return Err(DataError::Invalid {
            name: path.display().to_string(),
            message: "the file holds no samples".into(),
        });
    }
    Dataset::new(
        name,
        shape,
        Pixels::U8 { values, max },
        labels,
        None,
        (0..classes).map(|c| c.to_string()).collect(),
    )
}
