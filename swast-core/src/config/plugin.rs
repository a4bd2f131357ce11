//! The keys plug-in crates add to `[coreset]` and `[prune]`: core keeps the keys every
//! selector or pruner shares (method, fractions, intervals, schedule); a plug-in crate
//! declares its own keys with their defaults and reads them, once, into typed settings.
//! Adding a selector with keys of its own touches its crate only.

use super::{Config, ConfigError};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The table a plug-in adds keys to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginTable {
    /// `[coreset]` (selectors).
    Coreset,
    /// `[prune]` (pruners).
    Prune,
}

impl PluginTable {
    /// The table's name.
    pub fn key(self) -> &'static str {
        match self {
            PluginTable::Coreset => "coreset",
            PluginTable::Prune => "prune",
        }
    }

    /// The key of the table that names the method (`coreset.selector`, `prune.method`).
    pub fn method_key(self) -> &'static str {
        match self {
            PluginTable::Coreset => "selector",
            PluginTable::Prune => "method",
        }
    }

    /// The method `cfg` names in this table.
    pub fn method(self, cfg: &Config) -> &str {
        match self {
            PluginTable::Coreset => &cfg.coreset.selector,
            PluginTable::Prune => &cfg.prune.method,
        }
    }

    /// The plug-in keys of this table in `cfg`.
    pub fn options(self, cfg: &Config) -> &toml::Table {
        match self {
            PluginTable::Coreset => &cfg.coreset.options,
            PluginTable::Prune => &cfg.prune.options,
        }
    }

    fn options_mut(self, cfg: &mut Config) -> &mut toml::Table {
        match self {
            PluginTable::Coreset => &mut cfg.coreset.options,
            PluginTable::Prune => &mut cfg.prune.options,
        }
    }
}

/// What a plug-in crate adds to the config: the methods it offers in one table, every key it
/// adds there with its default, and the check that reads those keys into its typed settings
/// (the same reading its `build` uses, so a value is validated once, in one place).
#[derive(Debug, Clone, Copy)]
pub struct PluginSchema {
    /// The table.
    pub table: PluginTable,
    /// The method names it offers (`coreset.selector` or `prune.method` values).
    pub methods: fn() -> Vec<&'static str>,
    /// Every key it adds, with its default, in the order the resolved config lists them.
    pub defaults: fn() -> toml::Table,
    /// Checks its keys' values in a config (one-line errors naming the key).
    pub check: fn(&Config) -> Result<(), ConfigError>,
}

/// Reads the keys that the settings type `T` has (every field with a default) from the
/// plug-in keys `given` of `table` into a `T`: keys not given take `T`'s defaults, other
/// plug-ins' keys are ignored, and a value of the wrong type is a one-line error naming its
/// key.
pub fn plugin_settings<T>(table: PluginTable, given: &toml::Table) -> Result<T, ConfigError>
where
    T: Serialize + DeserializeOwned + Default,
{
    let defaults = toml::Table::try_from(T::default()).expect("plug-in defaults serialize");
    let mut mine = defaults.clone();
    for k in defaults.keys() {
        if let Some(v) = given.get(k) {
            mine.insert(k.clone(), v.clone());
        }
    }
    toml::Value::Table(mine.clone())
        .try_into::<T>()
        .map_err(|e| {
            // the key at fault: the first whose value alone fails
            let bad = mine.iter().find(|(k, v)| {
                let mut one = defaults.clone();
                one.insert((*k).clone(), (*v).clone());
                toml::Value::Table(one).try_into::<T>().is_err()
            });
            let key = bad.map_or(String::new(), |(k, _)| format!("`{}.{k}`: ", table.key()));
            ConfigError(format!(
                "{key}{}; give it a value of that type (see configs/ for examples)",
                e.message().trim_end()
            ))
        })
}

/// Every plug-in key of `table`, in the plug-ins' order: the value `given` holds, else the
/// plug-in's default. Keys of `given` that no plug-in declares are returned as the error's key.
pub(super) fn resolve_options(
    table: PluginTable,
    mut given: toml::Table,
    plugins: &[PluginSchema],
) -> Result<toml::Table, String> {
    let mut out = toml::Table::new();
    for p in plugins.iter().filter(|p| p.table == table) {
        for (k, v) in (p.defaults)() {
            if !out.contains_key(&k) {
                let v = given.remove(&k).unwrap_or(v);
                out.insert(k, v);
            }
        }
    }
    match given.keys().next() {
        Some(k) => Err(format!("{}.{k}", table.key())),
        None => Ok(out),
    }
}

/// The method `cfg` names in `table` must be one a plug-in offers (when any plug-in serves
/// the table).
pub(super) fn check_method(
    cfg: &Config,
    table: PluginTable,
    plugins: &[PluginSchema],
) -> Result<(), ConfigError> {
    let offered: Vec<&str> = plugins
        .iter()
        .filter(|p| p.table == table)
        .flat_map(|p| (p.methods)())
        .collect();
    let name = table.method(cfg);
    if offered.is_empty() || offered.contains(&name) {
        return Ok(());
    }
    Err(ConfigError(format!(
        "{}.{} `{name}` is not one this build offers; choose one of: {}",
        table.key(),
        table.method_key(),
        offered.join(", ")
    )))
}

impl Config {
    /// `self` with every plug-in key present (the given value, else the plug-in's default, in
    /// the plug-ins' order, so equal configs resolve to equal text), checked by core and by
    /// each plug-in. Run with the plug-ins of the build; [`Config::parse`] ends with it.
    pub fn resolve(mut self, plugins: &[PluginSchema]) -> Result<Self, ConfigError> {
        let valid = super::keys::valid_keys(plugins);
        for table in [PluginTable::Coreset, PluginTable::Prune] {
            let given = std::mem::take(table.options_mut(&mut self));
            let resolved = resolve_options(table, given, plugins)
                .map_err(|key| super::keys::unknown_key(&key, &valid))?;
            *table.options_mut(&mut self) = resolved;
        }
        self.validate()?;
        for table in [PluginTable::Coreset, PluginTable::Prune] {
            check_method(&self, table, plugins).map_err(with_fix)?;
        }
        for p in plugins {
            (p.check)(&self).map_err(with_fix)?;
        }
        Ok(self)
    }
}

/// Appends how to change the key a message starts with, unless the message says already.
pub(super) fn with_fix(ConfigError(m): ConfigError) -> ConfigError {
    if m.contains("; ") {
        return ConfigError(m);
    }
    append_fix(m)
}

/// Appends how to change the key the message `m` starts with.
pub(super) fn append_fix(m: String) -> ConfigError {
    let key = m.split_whitespace().next().unwrap_or_default();
    let key = key.trim_matches('`');
    let fix = if key == "name" || key.contains('.') {
        format!("; change `{key}` in the config file or pass --set {key}=VALUE")
    } else {
        "; see configs/ for valid examples".to_string()
    };
    ConfigError(m + &fix)
}
