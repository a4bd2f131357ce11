//! Keys of the config: every valid dotted key, the closest one to a typo, the key a typed
//! parse failed on, and `--set key=value` overrides.

use super::{Config, ConfigError, PluginSchema};

/// The dotted key a typed deserialization of `table` fails on: the table is written back as
/// TOML text and parsed from there, where the error carries a span, and the span's line
/// (with its `[section]`) names the key.
pub(super) fn key_of_error(table: &toml::Table) -> Option<String> {
    let text = toml::to_string(table).ok()?;
    let span = toml::from_str::<Config>(&text).err()?.span()?;
    let upto = &text[..span.start.min(text.len())];
    let line = text[upto.rfind('\n').map_or(0, |i| i + 1)..]
        .lines()
        .next()?;
    let key = line.split('=').next()?.trim().trim_matches('"');
    let section = upto
        .lines()
        .rev()
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').to_string());
    Some(match section {
        Some(s) if !key.is_empty() && !line.starts_with('[') => format!("{s}.{key}"),
        _ => key.to_string(),
    })
}

/// Every dotted key of the config (core's and those the plug-ins add), with whether it is a
/// table.
pub(super) fn valid_keys(plugins: &[PluginSchema]) -> Vec<(String, bool)> {
    fn walk(prefix: &str, t: &toml::Table, out: &mut Vec<(String, bool)>) {
        for (k, v) in t {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if let toml::Value::Table(sub) = v {
                out.push((key.clone(), true));
                walk(&key, sub, out);
            } else {
                out.push((key, false));
            }
        }
    }
    let table = toml::Table::try_from(Config::default()).expect("default config serializes");
    let mut out = Vec::new();
    walk("", &table, &mut out);
    for p in plugins {
        for k in (p.defaults)().keys() {
            let key = format!("{}.{k}", p.table.key());
            if !out.iter().any(|(o, _)| *o == key) {
                out.push((key, false));
            }
        }
    }
    out
}

pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

pub(super) fn unknown_key(key: &str, valid: &[(String, bool)]) -> ConfigError {
    let best = valid
        .iter()
        .filter(|(_, table)| !table)
        .min_by_key(|(k, _)| {
            // prefer keys in the same table, then the smallest edit distance
            let same_table = k.rsplit_once('.').map(|x| x.0) == key.rsplit_once('.').map(|x| x.0);
            (edit_distance(key, k), usize::from(!same_table))
        })
        .map(|(k, _)| k.as_str())
        .unwrap_or("name");
    ConfigError(format!("unknown key `{key}`; did you mean `{best}`?"))
}

pub(super) fn check_keys(
    t: &toml::Table,
    prefix: &str,
    valid: &[(String, bool)],
) -> Result<(), ConfigError> {
    for (k, v) in t {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match valid.iter().find(|(vk, _)| *vk == key) {
            None => return Err(unknown_key(&key, valid)),
            Some((_, true)) => match v {
                toml::Value::Table(sub) => check_keys(sub, &key, valid)?,
                _ => return Err(ConfigError(format!("`{key}` must be a table ([{key}])"))),
            },
            Some((_, false)) => {
                if v.is_table() {
                    return Err(ConfigError(format!("`{key}` is a value, not a table")));
                }
            }
        }
    }
    Ok(())
}

/// Applies one `key=value` override; the value is parsed as TOML (`3`, `0.1`, `true`,
/// `[1, 2]`, `"x"`), or taken as a plain string when it is not valid TOML.
pub(super) fn apply_set(
    table: &mut toml::Table,
    set: &str,
    valid: &[(String, bool)],
) -> Result<(), ConfigError> {
    let (key, raw) = set
        .split_once('=')
        .ok_or_else(|| ConfigError(format!("--set expects key=value, got `{set}`")))?;
    let key = key.trim();
    match valid.iter().find(|(k, _)| k == key) {
        None => return Err(unknown_key(key, valid)),
        Some((_, true)) => {
            return Err(ConfigError(format!(
                "`{key}` is a table; set one of its keys, e.g. `{key}.<key>=...`"
            )));
        }
        Some(_) => {}
    }
    let raw = raw.trim();
    let value = format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()));
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().expect("non-empty key");
    let mut cur = table;
    for p in parts {
        cur = cur
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or_else(|| ConfigError(format!("`{p}` must be a table")))?;
    }
    cur.insert(last.to_string(), value);
    Ok(())
}
