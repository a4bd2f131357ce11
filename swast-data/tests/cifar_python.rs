//! The CIFAR python version as torchvision downloads it (`cifar-10-batches-py/`,
//! `cifar-100-python/`). The fixtures (`fixtures/cifar-py/make.py`) hold random pixels in
//! the real files' layouts: Python 2's cPickle (the files torchvision downloads), Python 3's
//! protocol 2 and protocol 4.

use std::path::Path;
use swast_data::{DatasetName, Pixels, load};

fn expected(b: usize, i: usize) -> Vec<u8> {
    (0..3072)
        .map(|k| ((b * 131 + i * 17 + k * 7) % 256) as u8)
        .collect()
}

fn bytes(p: &Pixels) -> &[u8] {
    match p {
        Pixels::U8 { values, .. } => values,
        other => panic!("{other:?}"),
    }
}

#[test]
fn cifar10_python_batches_read_as_the_binary_ones_would() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cifar-py");
    let s = load(DatasetName::Cifar10, &dir).unwrap();
    assert_eq!((s.train.len(), s.test.len()), (20, 4));
    assert_eq!(s.train.shape(), [3, 32, 32]);
    // batch b's image i, in order (data_batch_1 is the Python 2 pickle)
    let train = bytes(s.train.pixels());
    for b in 0..5 {
        for i in 0..4 {
            let at = (b * 4 + i) * 3072;
            assert_eq!(
                &train[at..at + 3072],
                expected(b, i).as_slice(),
                "batch {b} image {i}"
            );
            assert_eq!(s.train.labels()[b * 4 + i], ((b + i) % 10) as u16);
        }
    }
    assert_eq!(&bytes(s.test.pixels())[..3072], expected(5, 0).as_slice());
    assert_eq!(s.train.class_names()[1], "automobile");
}

#[test]
fn cifar100_python_uses_the_fine_labels_and_names() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cifar-py");
    let s = load(DatasetName::Cifar100, &dir).unwrap();
    assert_eq!((s.train.len(), s.test.len()), (4, 4));
    let want: Vec<u16> = (0..4).map(|i| ((10 * 7 + i * 31) % 100) as u16).collect();
    assert_eq!(s.train.labels(), want.as_slice());
    assert_eq!(
        &bytes(s.train.pixels())[3072..6144],
        expected(10, 1).as_slice()
    );
    assert_eq!(s.train.class_names()[99], "c99");
}

#[test]
fn a_cut_batch_is_an_error_that_names_it() {
    let src =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cifar-py/cifar-10-batches-py");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cifar-10-batches-py");
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
    }
    let b = std::fs::read(dir.join("data_batch_3")).unwrap();
    std::fs::write(dir.join("data_batch_3"), &b[..b.len() / 2]).unwrap();
    let e = load(DatasetName::Cifar10, tmp.path())
        .unwrap_err()
        .to_string();
    assert!(e.contains("data_batch_3"), "{e}");
    assert!(e.contains("cut short") || e.contains("python"), "{e}");
}

#[test]
fn every_cut_and_every_flipped_byte_of_a_batch_is_an_error_or_a_batch_never_a_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cifar-py");
    for f in [
        "cifar-10-batches-py/data_batch_1",
        "cifar-10-batches-py/data_batch_2",
        "cifar-100-python/train",
    ] {
        let b = std::fs::read(dir.join(f)).unwrap();
        let p = Path::new(f);
        // every prefix (a cut download)
        for n in (0..b.len()).step_by(7) {
            if let Ok((px, lb)) = swast_data::pickle::read_batch(p, &b[..n]) {
                assert_eq!(px.len(), lb.len() * 3072);
            }
        }
        // every byte of the pickle's opcodes flipped (the pixel bytes are data)
        for i in (0..b.len().min(400)).chain(b.len().saturating_sub(200)..b.len()) {
            let mut c = b.clone();
            c[i] ^= 0xff;
            if let Ok((px, lb)) = swast_data::pickle::read_batch(p, &c) {
                assert_eq!(px.len(), lb.len() * 3072);
            }
        }
    }
}

#[test]
fn a_pickle_nested_a_million_levels_deep_is_refused_not_a_stack_overflow() {
    // PROTO 2, EMPTY_TUPLE, then TUPLE1 a million times
    let mut b = vec![0x80, 2, b')'];
    b.extend(std::iter::repeat_n(0x85u8, 1_000_000));
    b.push(b'.');
    let e = swast_data::pickle::read_batch(Path::new("deep"), &b).unwrap_err();
    assert!(e.to_string().contains("nested"), "{e}");
}
