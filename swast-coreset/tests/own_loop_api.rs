//! The API a user's own training loop calls: a probe from a model's outputs, checked
//! settings, and `select`, which must give what a swast run's round gives.

use swast_core::burn::tensor::{Device, Int, Tensor, TensorData};
use swast_core::config::CoresetConfig;
use swast_core::coreset::SelectContext;
use swast_coreset::{CoresetSettings, Probe, SeededRng, build, select, selector_names};

/// `n` samples of `k` classes with features of width `f`, from a seed.
fn outputs(n: usize, k: usize, f: usize, seed: u64) -> (Vec<u16>, Vec<f32>, Vec<f32>) {
    let mut r = SeededRng::new(seed);
    let labels = (0..n).map(|i| (i % k) as u16).collect();
    let logits = (0..n * k)
        .map(|_| r.unit_f64() as f32 * 6.0 - 3.0)
        .collect();
    let features = (0..n * f).map(|_| r.unit_f64() as f32).collect();
    (labels, logits, features)
}

#[test]
fn a_probe_from_outputs_derives_probabilities_losses_and_hits() {
    let p = Probe::from_outputs(&[0, 1], &[2.0, 0.0, 0.0, 1.0], &[1.0, 2.0, 3.0, 4.0], 2).unwrap();
    assert_eq!((p.len(), p.classes, p.feature_dim), (2, 2, 2));
    let e = (-2f32).exp();
    assert!((p.prob(0)[0] - 1.0 / (1.0 + e)).abs() < 1e-6);
    assert!((p.loss[0] - (1.0 + e).ln()).abs() < 1e-6);
    assert_eq!(p.correct, vec![true, true]);
    assert_eq!(p.indices, vec![0, 1]);
    // the tensor variant gives the same probe
    let d = Device::flex();
    let t = Probe::from_tensors(
        Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 1], [2]), &d),
        Tensor::<2>::from_data(TensorData::new(vec![2.0f32, 0.0, 0.0, 1.0], [2, 2]), &d),
        Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0], [2, 2]), &d),
    )
    .unwrap();
    assert_eq!(t, p);
}

/// Labels, logits, features, classes and the words the error must hold.
type Case<'a> = (&'a [u16], &'a [f32], &'a [f32], usize, &'a str);

#[test]
fn bad_outputs_name_the_argument() {
    let cases: [Case; 6] = [
        (&[0, 1], &[1.0, 2.0, 3.0], &[1.0, 2.0], 2, "`logits`"),
        (
            &[0, 1],
            &[1.0, 2.0, 3.0, 4.0],
            &[1.0, 2.0, 3.0],
            2,
            "`features`",
        ),
        (
            &[0, 2],
            &[1.0, 2.0, 3.0, 4.0],
            &[1.0, 2.0],
            2,
            "`labels` label 2",
        ),
        (
            &[0, 1],
            &[1.0, f32::NAN, 3.0, 4.0],
            &[1.0, 2.0],
            2,
            "`logits` value 1 is NaN",
        ),
        (&[0], &[1.0], &[1.0], 1, "`classes`"),
        (&[], &[], &[], 2, "`labels` is empty"),
    ];
    for (labels, logits, features, k, want) in cases {
        let e = Probe::from_outputs(labels, logits, features, k)
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{e} lacks {want}");
    }
}

#[test]
fn settings_are_checked_with_the_configs_messages() {
    let s = CoresetSettings::params()
        .lambda(0.0)
        .pb_batch(8)
        .check()
        .unwrap();
    assert_eq!((s.lambda, s.pb_batch), (0.0, 8));
    for (bad, want) in [
        (
            CoresetSettings::params().offset(1.0).check(),
            "coreset.offset",
        ),
        (
            CoresetSettings::params().lambda(-1.0).check(),
            "coreset.lambda",
        ),
        (
            CoresetSettings::params().pb_batch(0).check(),
            "coreset.pb_batch",
        ),
        (
            CoresetSettings::params().omp_tol(f64::NAN).check(),
            "coreset.omp_tol",
        ),
    ] {
        let e = bad.unwrap_err().to_string();
        assert!(e.contains(want), "{e}");
    }
}

#[test]
fn select_gives_what_a_runs_first_round_gives_for_every_selector() {
    let (labels, logits, features) = outputs(300, 5, 8, 3);
    let probe = Probe::from_outputs(&labels, &logits, &features, 5).unwrap();
    let val = Probe::from_outputs(&labels[..50], &logits[..250], &features[..400], 5).unwrap();
    let s = CoresetSettings::default();
    for name in selector_names() {
        let mine = select(name, &probe, Some(&val), 30, (4, 10), 11, &s).unwrap();
        // the run's round 1: the selector from its config, stream "select-1" of the seed
        let mut sel = build(&CoresetConfig {
            selector: name.into(),
            ..CoresetConfig::default()
        })
        .unwrap();
        let ctx = SelectContext {
            probe: &probe,
            val: Some(&val),
            budget: 30,
            epoch: 4,
            total_epochs: 10,
        };
        let theirs = sel
            .select(&ctx, &mut SeededRng::stream(11, "select-1"))
            .unwrap();
        assert_eq!(mine.indices, theirs.indices, "{name}");
        assert_eq!(
            mine.weights.iter().map(|w| w.to_bits()).collect::<Vec<_>>(),
            theirs
                .weights
                .iter()
                .map(|w| w.to_bits())
                .collect::<Vec<_>>(),
            "{name}"
        );
        assert_eq!(mine.indices.len(), 30, "{name}");
    }
    // an unknown name and a budget out of range are errors, not panics
    assert!(select("nope", &probe, None, 3, (0, 1), 0, &s).is_err());
    assert!(select("el2n", &probe, None, 0, (0, 1), 0, &s).is_err());
    assert!(select("el2n", &probe, None, 301, (0, 1), 0, &s).is_err());
}
