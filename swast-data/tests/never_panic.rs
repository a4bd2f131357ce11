//! Arbitrary and mutated bytes never make a reader panic: every outcome is a value or a
//! typed error.

use proptest::prelude::*;
use std::path::Path;
use swast_data::readers::{
    CifarKind, decode_maybe_gz, parse_cifar, parse_csv, parse_idx_images, parse_idx_labels,
};

fn valid_idx_images() -> Vec<u8> {
    let mut b = Vec::new();
    for v in [0x803u32, 3, 4, 4] {
        b.extend_from_slice(&v.to_be_bytes());
    }
    b.extend((0..48).map(|i| i as u8));
    b
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let p = Path::new("fuzz");
        let _ = parse_idx_images(p, &bytes);
        let _ = parse_idx_labels(p, &bytes);
        let (mut px, mut lb) = (Vec::new(), Vec::new());
        let _ = parse_cifar(p, &bytes, CifarKind::Cifar10, &mut px, &mut lb);
        let _ = parse_cifar(p, &bytes, CifarKind::Cifar100, &mut px, &mut lb);
        let _ = parse_csv(p, &bytes, "fuzz", [1, 2, 2], 255, 10);
        let _ = decode_maybe_gz(p, bytes.clone());
        let mut gz = vec![0x1f, 0x8b];
        gz.extend_from_slice(&bytes);
        let _ = decode_maybe_gz(p, gz);
    }

    #[test]
    fn mutated_idx_files_never_panic(pos in 0usize..64, val in any::<u8>(), cut in 0usize..64) {
        let mut b = valid_idx_images();
        let i = pos % b.len();
        b[i] = val;
        b.truncate(b.len() - cut.min(b.len()));
        match parse_idx_images(Path::new("m"), &b) {
            Ok((n, r, c, px)) => prop_assert_eq!(px.len(), n * r * c),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn csv_text_never_panics(text in "[0-9,\\-\\n ]{0,400}") {
        let _ = parse_csv(Path::new("t.csv"), text.as_bytes(), "t", [1, 2, 2], 16, 10);
    }
}
