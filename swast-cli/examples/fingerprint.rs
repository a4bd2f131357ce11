//! Prints a fingerprint of each run folder given: a hash of every weight and running
//! statistic (as bits), the step count, the coreset and the masks. Two folders with the same
//! line hold bit-identical models — the check that a refactor changed no arithmetic:
//!
//! ```text
//! cargo run --release -p swast-cli --example fingerprint -- runs/a/seed-0 runs/b/seed-0
//! ```

use std::hash::{Hash, Hasher};

fn main() {
    let dirs: Vec<String> = std::env::args().skip(1).collect();
    if dirs.is_empty() {
        eprintln!("usage: fingerprint RUN_DIR...");
        std::process::exit(2);
    }
    let device = burn::tensor::Device::flex();
    for d in dirs {
        let f = swast_core::testing::RunFingerprint::of(
            std::path::Path::new(&d),
            &device,
            &swast_cli::Parts,
        );
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for (_, v) in &f.weights {
            for x in v {
                x.to_bits().hash(&mut h);
            }
        }
        let weights = h.finish();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        f.coreset.as_ref().map(|c| &c.indices).hash(&mut h);
        f.masks.hash(&mut h);
        println!(
            "{weights:016x} step {} coreset+masks {:016x} {} tensors  {d}",
            f.step,
            h.finish(),
            f.weights.len()
        );
    }
}
