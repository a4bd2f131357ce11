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
