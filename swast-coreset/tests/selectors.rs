//! Properties every selector must have, on synthetic probe passes: exactly `k` distinct
//! in-range indices, per-class quotas honoured (±1 from rounding) by the per-class
//! selectors, the same seed giving the same selection, and non-negative weights.

use proptest::prelude::*;
use swast_core::config::CoresetConfig;
use swast_core::coreset::SelectContext;
use swast_core::probe::Probe;
use swast_coreset::build;
use swast_coreset::quota::class_quotas;
use swast_data::SeededRng;

const ALL: [&str; 14] = [
    "el2n",
    "grand",
    "forgetting",
    "gradmatch",
    "gradmatch-pb",
    "craig",
    "glister",
    "moderate",
    "ccs",
    "kcenter",
    "herding",
    "uncertainty",
    "random",
    "uniform",
];

/// Selectors whose budget is split per class in proportion to class sizes.
fn per_class(n: &str) -> bool {
    matches!(
        n,
        "el2n"
            | "grand"
            | "forgetting"
            | "uncertainty"
            | "gradmatch"
            | "craig"
            | "kcenter"
            | "herding"
            | "uniform"
    )
}

/// A `[coreset]` table with swast-coreset's keys given as TOML text.
fn coreset(selector: &str, keys: &str) -> CoresetConfig {
    CoresetConfig {
        selector: selector.into(),
        options: keys.parse().unwrap(),
        ..CoresetConfig::default()
    }
}

fn synthetic(n: usize, k: usize, f: usize, seed: u64) -> Probe {
    let mut r = SeededRng::new(seed);
    let labels: Vec<u16> = (0..n).map(|_| r.below(k) as u16).collect();
    let mut probs = Vec::with_capacity(n * k);
    for _ in 0..n {
        let z: Vec<f32> = (0..k).map(|_| r.unit_f64() as f32 * 4.0).collect();
        let s: f32 = z.iter().map(|v| v.exp()).sum();
        probs.extend(z.iter().map(|v| v.exp() / s));
    }
    let features: Vec<f32> = (0..n * f)
        .map(|_| r.unit_f64() as f32 * 2.0 - 0.5)
        .collect();
    Probe {
        indices: (0..n).collect(),
        labels,
        classes: k,
        feature_dim: f,
        probs,
        features,
        loss: vec![0.0; n],
        correct: vec![false; n],
        flops: 0.0,
    }
}

fn run(
    name: &str,
    p: &Probe,
    val: &Probe,
    budget: usize,
    seed: u64,
) -> swast_core::coreset::Coreset {
    let cfg = CoresetConfig {
        selector: name.into(),
        ..CoresetConfig::default()
    };
    let mut s = build(&cfg).unwrap();
    if s.observes() {
        // a little history: every sample seen twice with arbitrary correctness
        // (by row, so a relabelled probe sees the same history under its own indices)
        let idx = p.indices.clone();
        let c1: Vec<bool> = (0..p.len()).map(|r| r % 3 == 0).collect();
        let c2: Vec<bool> = (0..p.len()).map(|r| r % 2 == 0).collect();
        s.observe(&idx, &c1);
        s.observe(&idx, &c2);
    }
    let ctx = SelectContext {
        probe: p,
        val: Some(val),
        budget,
        epoch: 3,
        total_epochs: 10,
    };
    s.select(&ctx, &mut SeededRng::new(seed)).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_selector_returns_k_distinct_valid_indices(
        n in 20usize..160, k in 2usize..6, frac in 0.02f64..0.9, seed in any::<u64>(), which in 0usize..14
    ) {
        let name = ALL[which];
        let p = synthetic(n, k, 5, seed);
        let val = synthetic(30, k, 5, seed ^ 1);
        let budget = ((n as f64 * frac).round() as usize).max(1);
        let c = run(name, &p, &val, budget, seed);
        prop_assert_eq!(c.indices.len(), budget, "{:?}", name);
        prop_assert_eq!(c.weights.len(), budget);
        let mut s = c.indices.clone();
        s.dedup();
        prop_assert_eq!(s.len(), budget, "{:?}: duplicates", name);
        prop_assert!(c.indices.windows(2).all(|w| w[0] < w[1]), "sorted");
        prop_assert!(c.indices.iter().all(|&i| i < n));
        prop_assert!(c.weights.iter().all(|w| *w >= 0.0 && w.is_finite()), "{:?}: {:?}", name, c.weights);
        let again = run(name, &p, &val, budget, seed);
        prop_assert_eq!(&again.indices, &c.indices, "{:?}: not reproducible", name);
        if per_class(name) {
            let sizes: Vec<usize> = (0..k).map(|cl| p.labels.iter().filter(|&&l| usize::from(l) == cl).count()).collect();
            let quotas = class_quotas(&sizes, budget);
            for (cl, q) in quotas.iter().enumerate() {
                let got = c.indices.iter().filter(|&&i| usize::from(p.labels[i]) == cl).count();
                let exact = budget as f64 * sizes[cl] as f64 / n as f64;
                prop_assert!((got as f64 - exact).abs() <= 1.0 + 1e-9, "{:?} class {}: {} vs {}", name, cl, got, exact);
                prop_assert_eq!(got, *q);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, failure_persistence: None, ..ProptestConfig::default() })]

    // Row r of a probe is sample `indices[r]`: a probe of part of the training set, in any
    // order (your own loop, a partial pass), selects the same rows, reported as its samples'
    // own indices with the same weights
    #[test]
    fn every_selector_reports_the_dataset_indices_of_its_rows(
        n in 20usize..120, k in 2usize..5, frac in 0.05f64..0.6, seed in any::<u64>()
    ) {
        let p = synthetic(n, k, 5, seed);
        let val = synthetic(30, k, 5, seed ^ 1);
        let budget = ((n as f64 * frac).round() as usize).max(1);
        // row r is sample 5000 − 7r: sparse, and in descending order
        let map = |r: usize| 5000 - 7 * r;
        let q = Probe { indices: (0..n).map(map).collect(), ..p.clone() };
        for name in ALL {
            let a = run(name, &p, &val, budget, seed);
            let b = run(name, &q, &val, budget, seed);
            let mut want: Vec<(usize, u32)> =
                a.indices.iter().zip(&a.weights).map(|(&r, w)| (map(r), w.to_bits())).collect();
            want.sort_unstable();
            let got: Vec<(usize, u32)> =
                b.indices.iter().zip(&b.weights).map(|(&i, w)| (i, w.to_bits())).collect();
            prop_assert_eq!(got, want, "{:?}", name);
        }
    }
}

#[test]
fn el2n_switches_to_easy_samples_late_in_training() {
    let p = synthetic(100, 3, 4, 7);
    let cfg = coreset("el2n", "per_class = false");
    let scores = swast_coreset::scores::el2n(&p);
    let pick = |epoch| {
        let mut s = build(&cfg).unwrap();
        let ctx = SelectContext {
            probe: &p,
            val: None,
            budget: 10,
            epoch,
            total_epochs: 10,
        };
        s.select(&ctx, &mut SeededRng::new(0)).unwrap().indices
    };
    let mean = |idx: &[usize]| idx.iter().map(|&i| scores[i]).sum::<f32>() / idx.len() as f32;
    let (early, late) = (pick(2), pick(6));
    assert!(
        mean(&early) > mean(&late),
        "early {} late {}",
        mean(&early),
        mean(&late)
    );
    let max = scores.iter().copied().fold(0.0, f32::max);
    assert!(
        early.iter().any(|&i| scores[i] == max),
        "the hardest sample is kept early"
    );
}

#[test]
fn moderate_keeps_the_middle_band() {
    // one class, features on a line: distances to the median are |x − median|
    let n = 11;
    let p = Probe {
        indices: (0..n).collect(),
        labels: vec![0; n],
        classes: 1,
        feature_dim: 1,
        probs: vec![1.0; n],
        features: (0..n).map(|i| i as f32).collect(),
        loss: vec![0.0; n],
        correct: vec![true; n],
        flops: 0.0,
    };
    // distances to the median 5: |i − 5| = 5,4,3,2,1,0,1,2,3,4,5; sorted (ties by index):
    // 5(0) 4(1) 6(1) 3(2) 7(2) 2(3) 8(3) 1(4) 9(4) 0(5) 10(5); budget 3 → start (11−3)/2 = 4
    // → ranks 4..7: samples 7, 2, 8
    let mut s = build(&coreset("moderate", "")).unwrap();
    let ctx = SelectContext {
        probe: &p,
        val: None,
        budget: 3,
        epoch: 0,
        total_epochs: 1,
    };
    assert_eq!(
        s.select(&ctx, &mut SeededRng::new(0)).unwrap().indices,
        [2, 7, 8]
    );
}

#[test]
fn gradmatch_two_class_case_solvable_by_hand() {
    // Two classes, F = 1. Class 0: samples 0, 1 with e = p − y identical and h = 1, so their
    // gradients are equal; class 1: samples 2, 3 likewise. With a budget of 2 (one per
    // class) OMP picks one sample per class and, with λ = 0.5, weight
    // w = ⟨g, 2g⟩ / (‖g‖² + λ) = 2‖g‖² / (‖g‖² + 0.5).
    let probs = vec![0.6, 0.4, 0.6, 0.4, 0.3, 0.7, 0.3, 0.7];
    let p = Probe {
        indices: (0..4).collect(),
        labels: vec![0, 0, 1, 1],
        classes: 2,
        feature_dim: 1,
        probs,
        features: vec![1.0; 4],
        loss: vec![0.0; 4],
        correct: vec![true; 4],
        flops: 0.0,
    };
    let ctx = SelectContext {
        probe: &p,
        val: None,
        budget: 2,
        epoch: 0,
        total_epochs: 1,
    };
    let select = |gradient: &str| {
        let mut s = build(&coreset(
            "gradmatch",
            &format!("gradmatch_gradient = \"{gradient}\""),
        ))
        .unwrap();
        s.select(&ctx, &mut SeededRng::new(0)).unwrap()
    };
    // the full K·(F+1) gradient
    let c = select("full");
    assert_eq!(c.indices, [0, 2]);
    // class 0: e = (−0.4, 0.4), [h;1] = (1, 1) → ‖g‖² = (0.16+0.16)·2 = 0.64 → w = 1.28/1.14
    assert!((c.weights[0] - 1.28 / 1.14).abs() < 1e-5, "{:?}", c.weights);
    // class 1: e = (0.3, −0.3) → ‖g‖² = 0.36 → w = 0.72/0.86
    assert!((c.weights[1] - 0.72 / 0.86).abs() < 1e-5, "{:?}", c.weights);
    // the class's own row (CORDS' per-class gradient, the default): g = e_c·[h; 1]
    let c = select("class-row");
    assert_eq!(c.indices, [0, 2]);
    // class 0: e_0 = −0.4 → ‖g‖² = 0.16·2 = 0.32 → w = 0.64/0.82
    assert!((c.weights[0] - 0.64 / 0.82).abs() < 1e-5, "{:?}", c.weights);
    // class 1: e_1 = 0.7 − 1 = −0.3 → ‖g‖² = 0.09·2 = 0.18 → w = 0.36/0.68
    assert!((c.weights[1] - 0.36 / 0.68).abs() < 1e-5, "{:?}", c.weights);
}

#[test]
fn gradmatch_per_class_ignores_the_other_classes_rows_by_default() {
    // Class 0 holds three samples with the same own-class error e_0 = −0.5 and h = 1 but
    // different errors on the other classes: 0 and 1 put theirs on class 1, sample 2 on
    // class 2. On the class's own row all three gradients are equal, so one of them with
    // weight ⟨g, 3g⟩/(‖g‖² + λ) matches the class; on the full gradient sample 2 differs.
    let probs = vec![
        0.5, 0.5, 0.0, //
        0.5, 0.5, 0.0, //
        0.5, 0.0, 0.5, //
        0.1, 0.8, 0.1, //
        0.1, 0.8, 0.1, //
        0.1, 0.8, 0.1, //
    ];
    // three samples per class: a budget of 2 is one per class
    let p = Probe {
        indices: (0..6).collect(),
        labels: vec![0, 0, 0, 1, 1, 1],
        classes: 3,
        feature_dim: 1,
        probs,
        features: vec![1.0; 6],
        loss: vec![0.0; 6],
        correct: vec![true; 6],
        flops: 0.0,
    };
    let ctx = SelectContext {
        probe: &p,
        val: None,
        budget: 2,
        epoch: 0,
        total_epochs: 1,
    };
    let mut s = build(&CoresetConfig::default()).unwrap();
    let c = s.select(&ctx, &mut SeededRng::new(0)).unwrap();
    // ‖g‖² = 0.25·2 = 0.5, ⟨g, 3g⟩ = 1.5 → w = 1.5/(0.5 + 0.5) = 1.5 for the class-0 pick
    let w0 = c.weights[c.indices.iter().position(|&i| i < 3).unwrap()];
    assert!((w0 - 1.5).abs() < 1e-5, "{:?}", c.weights);
    // on the full gradient the atoms are not parallel: OMP picks sample 0 (⟨g, T⟩ = 2.5 against
    // sample 2's 2.0) with w = 2.5/(1 + 0.5)
    let mut s = build(&coreset("gradmatch", "gradmatch_gradient = \"full\"")).unwrap();
    let c = s.select(&ctx, &mut SeededRng::new(0)).unwrap();
    let w0 = c.weights[c.indices.iter().position(|&i| i < 3).unwrap()];
    assert!((w0 - 2.5 / 1.5).abs() < 1e-5, "{:?}", c.weights);
}
