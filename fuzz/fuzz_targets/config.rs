//! The config loader: TOML text (and one `--set` override) to a validated config or a typed
//! error; a config that loads must survive its own round trip.
#![no_main]
use libfuzzer_sys::fuzz_target;
use swast_core::config::Config;

fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes);
    let (toml, set) = match text.split_once('\u{0}') {
        Some((a, b)) => (a, vec![b.to_string()]),
        None => (text.as_ref(), Vec::new()),
    };
    if let Ok(c) = Config::from_toml_with_overrides(toml, &set) {
        let again = Config::from_toml_str(&c.to_toml()).expect("a resolved config reloads");
        assert_eq!(again.to_toml(), c.to_toml());
    }
});
