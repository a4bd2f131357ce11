//! One test body per behaviour, run on every backend compiled in (candle's `test_device!`
//! pattern): `flex` always, `tch-cpu` with the `tch` feature, `wgpu` with `wgpu`. Each
//! backend states its tolerance against the `flex` reference.
//!
//! ```ignore
//! swast_core::test_device!(fn forward_agrees(device, tol) {
//!     // build on `device`, compare with flex within `tol`
//! });
//! ```
//! expands to `mod forward_agrees { #[test] fn flex() … #[cfg(feature = "tch")] #[test]
//! fn tch_cpu() … #[cfg(feature = "wgpu")] #[test] fn wgpu() … }`; the `cfg`s are read in
//! the crate that calls the macro, so its features pick the backends.

/// How close a backend's numbers must be to the `flex` reference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// Absolute slack.
    pub abs: f32,
    /// Relative slack (times the reference's magnitude).
    pub rel: f32,
}

impl Tolerance {
    /// flex against itself: bit-reproducible, up to summation order across thread counts.
    pub const FLEX: Self = Self {
        abs: 1e-6,
        rel: 1e-5,
    };
    /// LibTorch on the CPU: other kernels (oneDNN convolutions, MKL GEMM).
    pub const TCH: Self = Self {
        abs: 1e-4,
        rel: 1e-3,
    };
    /// wgpu (lavapipe or a GPU): f32 reductions in another order, fused kernels.
    pub const WGPU: Self = Self {
        abs: 1e-3,
        rel: 1e-2,
    };

    /// Whether `got` is within the tolerance of `want`.
    pub fn close(&self, got: f32, want: f32) -> bool {
        (got - want).abs() <= self.abs + self.rel * want.abs()
    }

    /// The first index where `got` and `want` differ beyond the tolerance, if any.
    pub fn first_mismatch(&self, got: &[f32], want: &[f32]) -> Option<usize> {
        if got.len() != want.len() {
            return Some(got.len().min(want.len()));
        }
        got.iter().zip(want).position(|(g, w)| !self.close(*g, *w))
    }
}

/// Runs a test body on every compiled backend; see the module documentation.
#[macro_export]
macro_rules! test_device {
    ($(#[$meta:meta])* fn $name:ident($device:ident, $tol:ident) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn body($device: &$crate::burn::tensor::Device, $tol: $crate::testing::Tolerance) $body

            #[test]
            fn flex() {
                body(
                    &$crate::burn::tensor::Device::flex(),
                    $crate::testing::Tolerance::FLEX,
                );
            }

            #[cfg(feature = "tch")]
            #[test]
            fn tch_cpu() {
                #[allow(deprecated)]
                let device = $crate::burn::tensor::Device::libtorch();
                body(&device, $crate::testing::Tolerance::TCH);
            }

            #[cfg(feature = "wgpu")]
            #[test]
            fn wgpu() {
                let device = $crate::burn::tensor::Device::wgpu(
                    $crate::burn::tensor::DeviceKind::DefaultDevice,
                );
                body(&device, $crate::testing::Tolerance::WGPU);
            }
        }
    };
}

/// Runs a test binary's heavy tests one at a time: each holds this guard while it runs, so
/// that timing-sensitive and bit-exact tests have the machine's cores to themselves. A lock
/// poisoned by a failed test does not stop the tests after it.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The events of kinds `kinds` in the metrics log of the run in `dir`, without their times
/// (`time`, `seconds`, `eval_seconds`, `probe_seconds`), which differ from run to run.
pub fn logged_events(dir: &std::path::Path, kinds: &[&str]) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join(crate::run::files::METRICS))
        .unwrap_or_else(|e| panic!("read the metrics of {}: {e}", dir.display()));
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a JSON line"))
        .filter(|v| kinds.iter().any(|k| v["event"] == *k))
        .map(|mut v| {
            let o = v.as_object_mut().expect("an object");
            for key in ["time", "seconds", "eval_seconds", "probe_seconds"] {
                o.remove(key);
            }
            v
        })
        .collect()
}

/// What a run left that an exact resume must reproduce: every weight and running statistic,
/// the step count, the current coreset and the per-epoch log (wall seconds removed).
#[derive(Debug, Clone, PartialEq)]
pub struct RunFingerprint {
    /// Optimizer steps taken.
    pub step: u64,
    /// Every float parameter, by name.
    pub weights: Vec<(String, Vec<f32>)>,
    /// The coreset trained on last.
    pub coreset: Option<crate::coreset::Coreset>,
    /// SWaST-cut's stored outputs.
    pub preserved: Option<crate::train::Preserved>,
    /// The pruner's keep flags, per masked layer.
    pub masks: Option<Vec<Vec<bool>>>,
    /// The channels structured pruning kept.
    pub channel_keeps: Option<Vec<Vec<usize>>>,
    /// The `epoch_end` lines of `metrics.jsonl`, without `seconds`.
    pub epochs: Vec<serde_json::Value>,
}

impl RunFingerprint {
    /// The fingerprint of the finished or interrupted run in `dir`.
    pub fn of(
        dir: &std::path::Path,
        device: &burn::tensor::Device,
        parts: &dyn crate::run::Components,
    ) -> Self {
        let (_, trainer, _) = crate::run::load_run(dir, device, parts)
            .unwrap_or_else(|e| panic!("load {}: {e}", dir.display()));
        let record = crate::run::RunRecord::of_run(dir)
            .unwrap_or_else(|e| panic!("the run record of {}: {e}", dir.display()));
        let epochs = logged_events(dir, &["epoch_end"]);
        Self {
            step: trainer.state().step,
            weights: crate::model::param_values(trainer.model()),
            coreset: record.coreset,
            preserved: record.preserved,
            masks: trainer.masks().map(crate::prune::MaskSet::keep_flags),
            channel_keeps: trainer.state().channel_keeps.clone(),
            epochs,
        }
    }

    /// The first difference from `other`, named for a test message (`None`: identical).
    pub fn difference(&self, other: &Self) -> Option<String> {
        if self.step != other.step {
            return Some(format!("steps {} vs {}", self.step, other.step));
        }
        if let Some((a, b)) = self
            .weights
            .iter()
            .zip(&other.weights)
            .find(|(a, b)| a != b)
        {
            return Some(format!("parameter {} (vs {})", a.0, b.0));
        }
        if self.weights.len() != other.weights.len() {
            return Some("parameter count".into());
        }
        if self.coreset != other.coreset {
            return Some("coreset".into());
        }
        if self.preserved != other.preserved {
            return Some("stored outputs".into());
        }
        if self.masks != other.masks {
            return Some("masks".into());
        }
        if self.channel_keeps != other.channel_keeps {
            return Some("kept channels".into());
        }
        if self.epochs != other.epochs {
            return Some("epoch log".into());
        }
        None
    }
}

/// The shared resume check (run → stop after epoch k → resume → compare): runs `cfg` once
/// uninterrupted and once stopped after each epoch count in `stops` and resumed, in a
/// temporary folder, and panics with the first difference unless both end bit-identical
/// (weights, step count, coreset, masks, kept channels, epoch log).
pub fn resume_check(
    cfg: &crate::config::Config,
    device: &burn::tensor::Device,
    parts: &dyn crate::run::Components,
    stops: &[usize],
) -> ResumeCheck {
    use crate::events::VecSink;
    use crate::run::{RunOptions, run};
    let tmp = tempfile::tempdir().expect("a temporary folder");
    let (full, cut) = (tmp.path().join("full"), tmp.path().join("cut"));
    run(
        cfg,
        device,
        &full,
        &RunOptions::default(),
        &mut VecSink::default(),
        parts,
    )
    .unwrap_or_else(|e| panic!("uninterrupted run: {e}"));
    for &stop in stops {
        let o = RunOptions {
            stop_after_epoch: Some(stop),
            ..RunOptions::default()
        };
        assert!(
            run(cfg, device, &cut, &o, &mut VecSink::default(), parts).is_err(),
            "the run did not stop after epoch {stop}"
        );
    }
    run(
        cfg,
        device,
        &cut,
        &RunOptions::default(),
        &mut VecSink::default(),
        parts,
    )
    .unwrap_or_else(|e| panic!("resumed run: {e}"));
    let (a, b) = (
        RunFingerprint::of(&full, device, parts),
        RunFingerprint::of(&cut, device, parts),
    );
    if let Some(d) = a.difference(&b) {
        panic!("the run resumed after epochs {stops:?} differs from the uninterrupted one: {d}");
    }
    ResumeCheck {
        fingerprint: a,
        full: full.to_path_buf(),
        _tmp: tmp,
    }
}

/// What [`resume_check`] leaves: the uninterrupted run's fingerprint and folder (removed
/// when this is dropped).
#[derive(Debug)]
pub struct ResumeCheck {
    /// The uninterrupted run's fingerprint (the resumed one is identical).
    pub fingerprint: RunFingerprint,
    /// The uninterrupted run's folder.
    pub full: std::path::PathBuf,
    _tmp: tempfile::TempDir,
}
