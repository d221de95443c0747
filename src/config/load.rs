//! Reading `config.toml`: TOML syntax and unknown keys (serde) first, located by key
//! path as well as the span allows, then `validate` for everything else.

use std::path::Path;

use super::errors::{ConfigError, ConfigErrors};
use super::schema::RawConfig;
use super::types::Config;
use super::validate::validate;

impl Config {
    /// Parse and validate TOML text; all errors at once. Files it names are read
    /// relative to the current directory.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigErrors> {
        Self::from_toml_str_in(text, Path::new("."))
    }

    /// Parse and validate TOML text whose relative file paths start at `base` (the
    /// config file's directory).
    pub fn from_toml_str_in(text: &str, base: &Path) -> Result<Config, ConfigErrors> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let path = e
                .span()
                .map(|s| key_path_at(text, s.start))
                .unwrap_or_default();
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
            let message = match line {
                Some(l) => format!("{} (line {l})", e.message().trim()),
                None => e.message().trim().to_string(),
            };
            ConfigErrors(vec![ConfigError { path, message }])
        })?;
        validate(raw, base)
    }

    /// Read a file and parse it.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::whole(format!("cannot read {}: {e}", path.display())))?;
        Self::from_toml_str_in(&text, &config_dir(path))
    }

    /// The running config as TOML text.
    pub fn to_toml(&self) -> String {
        toml::to_string(&self.raw).unwrap_or_default()
    }
}

/// The directory relative paths in the config file at `path` start from.
pub fn config_dir(path: &Path) -> std::path::PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    }
}

/// Best-effort key path of the byte `offset` in `text`: the enclosing table header
/// (with array-of-tables indexes) plus the key on that line.
fn key_path_at(text: &str, offset: usize) -> String {
    let mut table = String::new();
    let mut counts: Vec<(String, usize)> = Vec::new();
    let mut pos = 0;
    let mut key = String::new();
    for line in text.split_inclusive('\n') {
        let start = pos;
        pos += line.len();
        let t = line.trim();
        if start > offset {
            break;
        }
        if let Some(name) = t.strip_prefix("[[").and_then(|r| r.split("]]").next()) {
            let name = name.trim().to_string();
            let n = match counts.iter_mut().find(|(k, _)| *k == name) {
                Some((_, c)) => {
                    *c += 1;
                    *c
                }
                None => {
                    counts.push((name.clone(), 0));
                    0
                }
            };
            table = format!("{name}[{n}]");
            key.clear();
        } else if let Some(name) = t.strip_prefix('[').and_then(|r| r.split(']').next()) {
            // A sub-table of an array table, e.g. [pool.health] inside [[pool]].
            let name = name.trim();
            table = match counts
                .iter()
                .find(|(k, _)| name.starts_with(&format!("{k}.")))
            {
                Some((k, c)) => format!("{k}[{c}]{}", &name[k.len()..]),
                None => name.to_string(),
            };
            key.clear();
        } else if let Some((k, _)) = t.split_once('=') {
            key = k.trim().trim_matches('"').to_string();
        }
    }
    match (table.is_empty(), key.is_empty()) {
        (true, _) => key,
        (false, true) => table,
        (false, false) => format!("{table}.{key}"),
    }
}
