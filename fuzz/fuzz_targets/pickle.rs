//! CIFAR python-version batches: any bytes give a batch whose pixels match its labels, or a
//! typed error; the unpickler never panics and never runs code.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|bytes: &[u8]| {
    if let Ok((px, lb)) = swast_data::pickle::read_batch(Path::new("fuzz"), bytes) {
        assert_eq!(px.len(), lb.len() * 3072);
    }
    let _ = swast_data::pickle::read_names(Path::new("fuzz"), bytes);
});
