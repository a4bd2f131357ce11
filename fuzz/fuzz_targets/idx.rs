//! IDX image and label files (MNIST, Fashion-MNIST): any bytes give a value or a typed error.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use swast_data::readers::{parse_idx_images, parse_idx_labels};

fuzz_target!(|bytes: &[u8]| {
    let p = Path::new("fuzz");
    if let Ok((n, r, c, px)) = parse_idx_images(p, bytes) {
        assert_eq!(px.len(), n * r * c);
    }
    let _ = parse_idx_labels(p, bytes);
});
