//! The examples a library user copies, run as tests.

#[path = "../examples/own_loop.rs"]
#[allow(dead_code)]
mod own_loop;

#[test]
fn a_plain_burn_loop_reselects_gradmatch_coresets_and_learns() {
    let r = own_loop::train(6, 2, 0.2, 0).unwrap();
    // selections at epochs 2 and 4, each of 20% of 4,000
    assert_eq!(r.coresets, vec![800, 800]);
    assert_eq!(r.samples, 2 * 4000 + 4 * 800);
    assert!(r.test_accuracy > 0.7, "{}", r.test_accuracy);
}

#[path = "../examples/custom_model.rs"]
#[allow(dead_code)]
mod custom_model;

use swast::core::events::Event;

/// Per-epoch training losses of a run's events.
fn train_losses(events: &[Event]) -> Vec<f64> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::EpochEnd { train_loss, .. } => Some(*train_loss),
            _ => None,
        })
        .collect()
}

#[test]
fn swast_cut_prunes_selects_and_preserves_on_a_model_of_the_users_own() {
    use swast::core::model::SwastModel;
    use swast::core::prune::weight_values;
    let on = tempfile::tempdir().unwrap();
    let (s, events) = custom_model::train(on.path(), 6, 2, 0.1).unwrap();

    // selections: 10% GradMatch coresets of the 1,500-sample subset, scored with the model
    let sizes: Vec<usize> = events
        .iter()
        .filter_map(|e| match e {
            Event::Selection { size, .. } => Some(*size),
            _ => None,
        })
        .collect();
    assert!(!sizes.is_empty(), "no selection round ran");
    assert!(sizes.iter().all(|&k| k == 150), "{sizes:?}");
    assert_eq!(s.rounds, sizes.len());

    // masks: every layer of the user's model, the classifier at 90%, the backbone at 70%
    let masks = custom_model::masks(on.path()).unwrap();
    let names: Vec<&str> = masks.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["conv1", "conv2", "hidden", "head"]);
    let head = &masks[3];
    assert!(
        (head.density - 0.1).abs() < 0.01,
        "head density {}",
        head.density
    );
    assert!(s.final_sparsity > 0.6, "sparsity {}", s.final_sparsity);
    // ... and the masked weights of the trained model are exactly zero
    let factory = |spec: &swast::core::model::ModelSpec| {
        Ok(custom_model::SmallCnn::new(
            spec.input,
            spec.classes,
            &spec.device,
        ))
    };
    let (_, trainer, _) = swast::core::run::load_run_with(
        on.path(),
        &swast::core::burn::tensor::Device::flex(),
        &swast::Parts,
        &factory,
    )
    .unwrap();
    let layers = trainer.model().layers();
    let values = weight_values(trainer.model(), &layers);
    let set = trainer.masks().expect("a pruner is attached");
    let mut zeros = 0;
    for l in set.layers() {
        let w = &values[&l.info.param_id];
        for (v, keep) in w.iter().zip(l.keep()) {
            if !keep {
                assert_eq!(*v, 0.0, "{}: a masked weight is {v}", l.info.name);
                zeros += 1;
            }
        }
    }
    assert!(zeros > 0);
    assert!(s.test_accuracy > 0.3, "accuracy {}", s.test_accuracy);

    // state preservation: the same run without it is identical up to the first selection
    // and differs after it (the KL term changes the coreset epochs' loss)
    let off = tempfile::tempdir().unwrap();
    let (_, events_off) = custom_model::train(off.path(), 6, 2, 0.0).unwrap();
    let (a, b) = (train_losses(&events), train_losses(&events_off));
    let first = events
        .iter()
        .find_map(|e| match e {
            Event::Selection { epoch, .. } => Some(*epoch),
            _ => None,
        })
        .unwrap();
    assert_eq!(a[..first - 1], b[..first - 1], "the warm-up differs");
    assert_ne!(
        a[first - 1],
        b[first - 1],
        "state preservation had no effect"
    );
}
