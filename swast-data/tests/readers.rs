//! Reader round-trips and every bad-file error, on files these tests write themselves.

use flate2::{Compression, write::GzEncoder};
use std::io::Write;
use std::path::{Path, PathBuf};
use swast_data::{DataError, DatasetName, Pixels, load};

fn idx_images(n: u32, r: u32, c: u32, magic: u32) -> Vec<u8> {
    let mut b = Vec::new();
    for v in [magic, n, r, c] {
        b.extend_from_slice(&v.to_be_bytes());
    }
    b.extend((0..n * r * c).map(|i| (i * 7 % 256) as u8));
    b
}

fn idx_labels(labels: &[u8], magic: u32) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&magic.to_be_bytes());
    b.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    b.extend_from_slice(labels);
    b
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Writes a small MNIST-like IDX set (train 20, test 10, 4×3 images).
fn mnist_like(dir: &Path, dotted: bool, compress: bool) {
    let labels: Vec<u8> = (0..20).map(|i| (i % 10) as u8).collect();
    let parts = [
        ("train", "images", idx_images(20, 4, 3, 0x803)),
        ("train", "labels", idx_labels(&labels, 0x801)),
        ("t10k", "images", idx_images(10, 4, 3, 0x803)),
        ("t10k", "labels", idx_labels(&labels[..10], 0x801)),
    ];
    for (split, kind, bytes) in parts {
        let nd = if kind == "images" { 3 } else { 1 };
        let mut name = if dotted {
            format!("{split}-{kind}.idx{nd}-ubyte")
        } else {
            format!("{split}-{kind}-idx{nd}-ubyte")
        };
        let bytes = if compress {
            name.push_str(".gz");
            gz(&bytes)
        } else {
            bytes
        };
        write(dir, &name, &bytes);
    }
}

#[test]
fn idx_round_trip_every_spelling_plain_and_gz() {
    for dotted in [false, true] {
        for compress in [false, true] {
            let t = tempfile::tempdir().unwrap();
            mnist_like(t.path(), dotted, compress);
            let s = load(DatasetName::Mnist, t.path()).unwrap();
            assert_eq!((s.train.len(), s.test.len()), (20, 10));
            assert_eq!(s.train.shape(), [1, 4, 3]);
            assert_eq!(s.train.labels()[13], 3);
            match s.train.pixels() {
                Pixels::U8 { values, max } => {
                    assert_eq!(*max, 255);
                    assert_eq!(values[5], 35);
                    assert_eq!(values.len(), 20 * 12);
                }
                Pixels::F32(_) => panic!("bytes expected"),
            }
        }
    }
}

#[test]
fn idx_in_a_dataset_subfolder_is_found() {
    let t = tempfile::tempdir().unwrap();
    let sub = t.path().join("fashion-mnist");
    std::fs::create_dir(&sub).unwrap();
    mnist_like(&sub, false, false);
    let s = load(DatasetName::FashionMnist, t.path()).unwrap();
    assert_eq!(s.train.class_names()[9], "ankle boot");
}

fn mnist_err(edit: impl Fn(&Path)) -> DataError {
    let t = tempfile::tempdir().unwrap();
    mnist_like(t.path(), false, false);
    edit(t.path());
    load(DatasetName::Mnist, t.path()).unwrap_err()
}

#[test]
fn truncated_idx_names_file_and_sizes() {
    let e = mnist_err(|d| {
        let p = d.join("train-images-idx3-ubyte");
        let b = std::fs::read(&p).unwrap();
        std::fs::write(&p, &b[..b.len() - 5]).unwrap();
    });
    let msg = e.to_string();
    assert!(
        matches!(
            e,
            DataError::Truncated {
                expected: 256,
                found: 251,
                ..
            }
        ),
        "{msg}"
    );
    assert!(
        msg.contains("train-images-idx3-ubyte") && msg.contains("256"),
        "{msg}"
    );
    // a header cut short
    let e = mnist_err(|d| write_noop(d.join("train-labels-idx1-ubyte"), &[0, 0, 8]));
    assert!(
        matches!(
            e,
            DataError::Truncated {
                expected: 8,
                found: 3,
                ..
            }
        ),
        "{e}"
    );
}

fn write_noop(p: PathBuf, b: &[u8]) {
    std::fs::write(p, b).unwrap();
}

#[test]
fn wrong_magic_is_reported_with_both_numbers() {
    let e = mnist_err(|d| {
        write_noop(
            d.join("train-images-idx3-ubyte"),
            &idx_images(20, 4, 3, 0x801),
        )
    });
    assert!(
        matches!(
            e,
            DataError::BadMagic {
                expected: 0x803,
                found: 0x801,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("0x00000803"), "{e}");
    // labels file given where images are expected, and vice versa
    let e = mnist_err(|d| {
        write_noop(
            d.join("t10k-labels-idx1-ubyte"),
            &idx_images(10, 4, 3, 0x803),
        )
    });
    assert!(
        matches!(
            e,
            DataError::BadMagic {
                expected: 0x801,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn count_mismatch_names_both_files() {
    let e = mnist_err(|d| {
        let labels: Vec<u8> = (0..19).map(|i| (i % 10) as u8).collect();
        write_noop(
            d.join("train-labels-idx1-ubyte"),
            &idx_labels(&labels, 0x801),
        );
    });
    let msg = e.to_string();
    assert!(
        matches!(
            e,
            DataError::CountMismatch {
                images: 20,
                labels: 19,
                ..
            }
        ),
        "{msg}"
    );
    assert!(
        msg.contains("train-images") && msg.contains("train-labels"),
        "{msg}"
    );
}

#[test]
fn label_out_of_range_names_sample() {
    let e = mnist_err(|d| {
        let mut labels: Vec<u8> = (0..20).map(|i| (i % 10) as u8).collect();
        labels[7] = 12;
        write_noop(
            d.join("train-labels-idx1-ubyte"),
            &idx_labels(&labels, 0x801),
        );
    });
    assert!(
        matches!(
            e,
            DataError::LabelOutOfRange {
                index: 7,
                label: 12,
                classes: 10,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn missing_file_and_missing_dir_say_how_to_fix() {
    let e = mnist_err(|d| std::fs::remove_file(d.join("t10k-images-idx3-ubyte")).unwrap());
    let msg = e.to_string();
    assert!(matches!(e, DataError::Missing { .. }), "{msg}");
    assert!(
        msg.contains("t10k-images-idx3-ubyte[.gz]") && msg.contains("cargo xtask fetch-data"),
        "{msg}"
    );
    let e = load(DatasetName::Mnist, Path::new("/definitely/not/here")).unwrap_err();
    assert!(matches!(e, DataError::MissingDir { .. }), "{e}");
    assert!(e.to_string().contains("data.dir"), "{e}");
}

#[test]
fn corrupt_gzip_is_an_error_not_a_panic() {
    let e = mnist_err(|d| {
        std::fs::remove_file(d.join("train-images-idx3-ubyte")).unwrap();
        let mut g = gz(&idx_images(20, 4, 3, 0x803));
        let n = g.len();
        g.truncate(n / 2);
        write_noop(d.join("train-images-idx3-ubyte.gz"), &g);
    });
    assert!(matches!(e, DataError::Gzip { .. }), "{e}");
}

fn cifar_record(kind100: bool, label: u8, fill: u8) -> Vec<u8> {
    let mut r = if kind100 {
        vec![label / 5, label]
    } else {
        vec![label]
    };
    r.extend(std::iter::repeat_n(fill, 3072));
    r
}

#[test]
fn cifar10_round_trip_and_bad_files() {
    let t = tempfile::tempdir().unwrap();
    let sub = t.path().join("cifar-10-batches-bin");
    std::fs::create_dir(&sub).unwrap();
    for i in 1..=5 {
        let b: Vec<u8> = (0..3)
            .flat_map(|k| cifar_record(false, (k + i) as u8, i as u8))
            .collect();
        write(&sub, &format!("data_batch_{i}.bin"), &b);
    }
    write(&sub, "test_batch.bin", &cifar_record(false, 9, 200));
    let s = load(DatasetName::Cifar10, t.path()).unwrap();
    assert_eq!((s.train.len(), s.test.len()), (15, 1));
    assert_eq!(s.train.shape(), [3, 32, 32]);
    assert_eq!(s.train.labels()[..3], [1, 2, 3]);
    assert_eq!(s.test.class_names()[9], "truck");

    // size not a multiple of the record
    let mut b = cifar_record(false, 1, 1);
    b.pop();
    write(&sub, "test_batch.bin", &b);
    let e = load(DatasetName::Cifar10, t.path()).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::BadRecordSize {
                record: 3073,
                size: 3072,
                ..
            }
        ),
        "{e}"
    );
    // label out of range
    write(&sub, "test_batch.bin", &cifar_record(false, 10, 1));
    let e = load(DatasetName::Cifar10, t.path()).unwrap_err();
    assert!(
        matches!(e, DataError::LabelOutOfRange { label: 10, .. }),
        "{e}"
    );
    // a missing batch
    std::fs::remove_file(sub.join("data_batch_3.bin")).unwrap();
    let e = load(DatasetName::Cifar10, t.path()).unwrap_err();
    assert!(e.to_string().contains("data_batch_3.bin"), "{e}");
}

#[test]
fn cifar100_uses_fine_labels() {
    let t = tempfile::tempdir().unwrap();
    let train: Vec<u8> = [99u8, 42, 7]
        .iter()
        .flat_map(|&l| cifar_record(true, l, l))
        .collect();
    write(t.path(), "train.bin", &train);
    write(t.path(), "test.bin", &cifar_record(true, 5, 0));
    let s = load(DatasetName::Cifar100, t.path()).unwrap();
    assert_eq!(s.train.labels(), [99, 42, 7]);
    assert_eq!(s.train.num_classes(), 100);
    write(t.path(), "test.bin", &cifar_record(false, 5, 0));
    let e = load(DatasetName::Cifar100, t.path()).unwrap_err();
    assert!(
        matches!(e, DataError::BadRecordSize { record: 3074, .. }),
        "{e}"
    );
}

fn digits_csv(rows: &[String]) -> Vec<u8> {
    gz(rows.join("\n").as_bytes())
}

fn digit_row(label: i64, v: u32) -> String {
    let mut f: Vec<String> = (0..64).map(|k| ((k + v) % 17).to_string()).collect();
    f.push(label.to_string());
    f.join(",")
}

#[test]
fn csv_round_trip_and_errors() {
    let t = tempfile::tempdir().unwrap();
    let rows: Vec<String> = (0..50).map(|i| digit_row(i % 10, i as u32)).collect();
    write(t.path(), "digits.csv.gz", &digits_csv(&rows));
    let s = load(DatasetName::Digits, t.path()).unwrap();
    assert_eq!(s.train.len() + s.test.len(), 50);
    assert_eq!(s.test.len(), 10);
    assert_eq!(s.train.shape(), [1, 8, 8]);
    let check = |rows: Vec<String>, want: &str| {
        write(t.path(), "digits.csv.gz", &digits_csv(&rows));
        let e = load(DatasetName::Digits, t.path()).unwrap_err();
        assert!(e.to_string().contains(want), "{e} lacks {want}");
        e
    };
    let mut short = rows.clone();
    short[3] = "1,2,3".into();
    let e = check(short, "expected 65 fields");
    assert!(matches!(e, DataError::Csv { line: 4, .. }), "{e}");
    let mut big = rows.clone();
    big[0] = digit_row(0, 0).replacen("0,", "17,", 1);
    check(big, "out of range 0..=16");
    let mut bad_label = rows.clone();
    bad_label[9] = digit_row(10, 0);
    check(bad_label, "label 10 of sample 9");
    let mut nan = rows;
    nan[2] = digit_row(0, 0).replacen("0,", "x,", 1);
    check(nan, "`x` is not an integer");
    check(vec![], "holds no samples");
}

/// Full MNIST from `fetch.sh`, when present (CI fetches it and sets SWAST_REQUIRE_DATA=1).
#[test]
fn full_mnist_when_fetched() {
    let dir = std::env::var("SWAST_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../data"));
    if !dir.join("mnist").join("train-images-idx3-ubyte").exists() {
        assert!(
            std::env::var("SWAST_REQUIRE_DATA").is_err(),
            "SWAST_REQUIRE_DATA is set but {} has no mnist/",
            dir.display()
        );
        eprintln!("full MNIST not fetched under {}: skipped", dir.display());
        return;
    }
    let s = load(DatasetName::Mnist, &dir).unwrap();
    assert_eq!((s.train.len(), s.test.len()), (60_000, 10_000));
    assert_eq!(s.train.shape(), [1, 28, 28]);
    // the well-known MNIST class counts
    assert_eq!(
        s.train.class_histogram(),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(s.train.labels()[..5], [5, 0, 4, 1, 9]);
}
