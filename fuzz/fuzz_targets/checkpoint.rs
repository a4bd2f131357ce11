//! The checkpoint container: any bytes give sections whose checksum held, or a typed error.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use swast_core::checkpoint::{pack, unpack};

fuzz_target!(|bytes: &[u8]| {
    if let Ok(sections) = unpack(Path::new("fuzz"), bytes) {
        let refs: Vec<&[u8]> = sections.iter().map(Vec::as_slice).collect();
        assert_eq!(unpack(Path::new("fuzz"), &pack(&refs)).unwrap(), sections);
    }
});
