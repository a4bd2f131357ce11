//! gzip detection and decoding of data files (`.gz` or not).
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use swast_data::readers::decode_maybe_gz;

fuzz_target!(|bytes: &[u8]| {
    let _ = decode_maybe_gz(Path::new("fuzz"), bytes.to_vec());
    let mut gz = vec![0x1f, 0x8b];
    gz.extend_from_slice(bytes);
    let _ = decode_maybe_gz(Path::new("fuzz.gz"), gz);
});
