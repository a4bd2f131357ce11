//! The CSV layout of the embedded MNIST-5k and sklearn digits files.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use swast_data::readers::parse_csv;

fuzz_target!(|bytes: &[u8]| {
    let _ = parse_csv(Path::new("fuzz.csv"), bytes, "fuzz", [1, 2, 2], 255, 10);
    let _ = parse_csv(Path::new("fuzz.csv"), bytes, "fuzz", [1, 8, 8], 16, 10);
});
