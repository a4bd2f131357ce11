//! CIFAR-10/100 binary batches: any bytes give whole records or a typed error.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use swast_data::readers::{CifarKind, parse_cifar};

fuzz_target!(|bytes: &[u8]| {
    for kind in [CifarKind::Cifar10, CifarKind::Cifar100] {
        let (mut px, mut lb) = (Vec::new(), Vec::new());
        if parse_cifar(Path::new("fuzz"), bytes, kind, &mut px, &mut lb).is_ok() {
            assert_eq!(px.len(), lb.len() * 3 * 32 * 32);
        }
    }
});
