//! The selections the Python package must reproduce bit for bit: every selector on exact
//! synthetic arrays (dyadic probabilities and features, so numpy builds the very same
//! float32 values), checked against `swast-py/tests/golden.json`, which swast-py's pytest
//! checks too. `SWAST_WRITE_GOLDEN=1 cargo test -p swast-coreset --test python_golden`
//! rewrites the file after a change that is meant to change selections.

use swast_coreset::{CoresetSettings, Probe, select, selector_names};

/// Rows of 4 probabilities that sum to 1 exactly in float32.
const PATTERNS: [[f32; 4]; 6] = [
    [0.5, 0.25, 0.125, 0.125],
    [0.625, 0.125, 0.125, 0.125],
    [0.375, 0.375, 0.125, 0.125],
    [0.25, 0.25, 0.25, 0.25],
    [0.75, 0.125, 0.0625, 0.0625],
    [0.875, 0.0625, 0.03125, 0.03125],
];
const N: usize = 240;
const K: usize = 4;
const F: usize = 6;

/// The arrays `tests/test_swast.py::golden_arrays` builds with numpy.
fn arrays(n: usize) -> (Vec<f32>, Vec<f32>, Vec<u16>) {
    let mut probs = Vec::with_capacity(n * K);
    let mut features = Vec::with_capacity(n * F);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let p = PATTERNS[(i * 5) % 6];
        let rot = (i * 7 / 3) % 4;
        probs.extend((0..K).map(|c| p[(c + rot) % K]));
        features.extend((0..F).map(|j| ((i * 31 + j * 17) % 29) as f32 / 8.0 - 1.5));
        labels.push(((i * 11) % K) as u16);
    }
    (probs, features, labels)
}

fn golden() -> serde_json::Value {
    let (p, f, y) = arrays(N);
    let probe = Probe::from_probabilities(&y, &p, &f, K).unwrap();
    let (vp, vf, vy) = arrays(40);
    let val = Probe::from_probabilities(&vy, &vp, &vf, K).unwrap();
    let s = CoresetSettings::default();
    let mut out = serde_json::Map::new();
    for name in selector_names() {
        // fraction 0.1 of 240: 24, seed 5, epoch 3 of 10
        let c = select(name, &probe, Some(&val), 24, (3, 10), 5, &s).unwrap();
        out.insert(
            name.to_string(),
            serde_json::json!({
                "indices": c.indices,
                "weight_bits": c.weights.iter().map(|w| w.to_bits()).collect::<Vec<_>>(),
            }),
        );
    }
    serde_json::Value::Object(out)
}

#[test]
fn selections_match_the_golden_file_the_python_package_checks() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../swast-py/tests/golden.json");
    let now = golden();
    if std::env::var_os("SWAST_WRITE_GOLDEN").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(&now).unwrap() + "\n").unwrap();
    }
    let want: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        now, want,
        "selections changed: see the test's doc to rewrite the file"
    );
}
