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
