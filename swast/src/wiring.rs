//! The default wiring of swast-prune's pruners and swast-coreset's selectors into
//! swast-core's run loop ([`Parts`]), the config loader that knows their keys, and the
//! device names: what the `swast` binary, `xtask` and library users share.

use swast_core::config::{Config, ConfigError, PluginSchema};
use swast_core::coreset::{SelectError, Selector};
use swast_core::prune::{PruneError, PruneScheme, Scope};
use swast_core::run::Components;

/// The concrete pruners (`swast-prune`) and selectors (`swast-coreset`) of a config.
#[derive(Debug, Default, Clone, Copy)]
pub struct Parts;

impl Components for Parts {
    fn pruner(&self, cfg: &Config, scope: Scope) -> Result<PruneScheme, PruneError> {
        swast_prune::build(&cfg.prune, scope, cfg.seed)
    }
    fn selector(&self, cfg: &Config) -> Result<Box<dyn Selector>, SelectError> {
        swast_coreset::build(&cfg.coreset)
    }
    fn plugins(&self) -> Vec<PluginSchema> {
        PLUGINS.to_vec()
    }
}

/// The config keys of the plug-in crates this build wires in.
pub const PLUGINS: [PluginSchema; 2] = [swast_coreset::SCHEMA, swast_prune::SCHEMA];

/// Parses a config with every key of this build (core's and the plug-ins'), applies the
/// `key=value` overrides in order, and checks it: what `swast train` reads.
pub fn load_config(text: &str, sets: &[String]) -> Result<Config, ConfigError> {
    Config::parse(text, sets, &PLUGINS)
}

/// Maps a device name to a burn device; a backend not compiled in is an error that names the
/// cargo feature to enable.
pub fn parse_device(name: &str) -> Result<swast_core::burn::tensor::Device, String> {
    #[allow(unused_imports)]
    use swast_core::burn::tensor::Device;
    let (kind, index) = match name.split_once(':') {
        Some((k, i)) => (
            k,
            i.parse::<usize>()
                .map_err(|_| format!("device index `{i}` in `{name}` is not a number"))?,
        ),
        None => (name, 0),
    };
    let _ = index; // only the GPU backends take an index
    #[allow(unused_variables)]
    let missing = |feature: &str| {
        format!(
            "device `{name}` needs the `{feature}` feature: rebuild with `cargo build --release -p swast-cli --features {feature}`"
        )
    };
    match kind {
        "flex" => {
            #[cfg(feature = "flex")]
            return Ok(Device::flex());
            #[cfg(not(feature = "flex"))]
            return Err(missing("flex"));
        }
        "tch-cpu" | "tch-cuda" => {
            #[cfg(feature = "tch")]
            #[allow(deprecated)]
            return Ok(if kind == "tch-cpu" {
                Device::libtorch()
            } else {
                Device::libtorch_cuda(index)
            });
            #[cfg(not(feature = "tch"))]
            return Err(missing("tch"));
        }
        "wgpu" => {
            #[cfg(feature = "wgpu")]
            // `wgpu` alone: the best adapter there is (a software one, lavapipe, included);
            // `wgpu:N`: the N-th discrete GPU
            return Ok(Device::wgpu(if name.contains(':') {
                swast_core::burn::tensor::DeviceKind::DiscreteGpu(index)
            } else {
                swast_core::burn::tensor::DeviceKind::DefaultDevice
            }));
            #[cfg(not(feature = "wgpu"))]
            return Err(missing("wgpu"));
        }
        "cuda" => {
            #[cfg(feature = "cuda")]
            return Ok(Device::cuda(index));
            #[cfg(not(feature = "cuda"))]
            return Err(missing("cuda"));
        }
        _ => Err(format!(
            "unknown device `{name}`: expected flex, tch-cpu, tch-cuda[:N], wgpu[:N] or cuda[:N]"
        )),
    }
}

/// Checks that `device` really works before a run starts: a tiny tensor operation under
/// `catch_unwind`, with the panic message kept out of the terminal. Backends panic when
/// their hardware or driver is missing (the CUDA loader when `libcuda.so` is absent, wgpu
/// without an adapter); that becomes an error naming the device and the cause.
pub fn check_device(name: &str, device: &swast_core::burn::tensor::Device) -> Result<(), String> {
    use swast_core::burn::tensor::Tensor;
    let d = device.clone();
    probe_quietly(move || {
        let t = Tensor::<1>::ones([4], &d).mul_scalar(2.0).sum();
        t.into_scalar::<f32>()
    })
    .and_then(|v| {
        if v == 8.0 {
            Ok(())
        } else {
            Err(format!("a test sum gave {v} instead of 8"))
        }
    })
    .map_err(|cause| {
        format!(
            "device `{name}` is not usable: {cause}; check its driver and libraries (for CUDA, libcuda.so.1 from the NVIDIA driver; for wgpu, a Vulkan driver such as Debian's mesa-vulkan-drivers) or pick another --device"
        )
    })
}

/// Runs `f`, turning a panic into `Err(message)` without printing it.
pub fn probe_quietly<T>(f: impl FnOnce() -> T + std::panic::UnwindSafe) -> Result<T, String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(f);
    std::panic::set_hook(hook);
    r.map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "the backend panicked".into())
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_working_device_passes_and_a_panicking_backend_is_an_error() {
        assert!(check_device("flex", &swast_core::burn::tensor::Device::flex()).is_ok());
        let e = probe_quietly(|| -> u8 { panic!("cannot open libcuda.so.1\nmore") }).unwrap_err();
        assert_eq!(e, "cannot open libcuda.so.1");
        assert_eq!(probe_quietly(|| 3), Ok(3));
    }
}
