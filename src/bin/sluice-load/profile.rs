//! The workload profile (TOML) and command-line overrides.

use std::time::Duration;

use serde::Deserialize;

/// Open loop (fixed request rate, latency from the intended send time) or closed
/// loop (each connection sends again as soon as it has its answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Open,
    Closed,
}

/// A profile as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(default = "default_target")]
    pub target: String,
    #[serde(default = "default_duration")]
    pub duration: String,
    #[serde(default)]
    pub warmup: Option<String>,
    #[serde(default = "default_mode")]
    pub mode: Mode,
    #[serde(default = "default_rate")]
    pub rate: f64,
    #[serde(default = "default_connections")]
    pub connections: usize,
    #[serde(default = "default_threads")]
    pub threads: usize,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default = "default_timeout")]
    pub timeout: String,
    #[serde(default = "default_seed")]
    pub seed: u64,
    #[serde(rename = "class")]
    pub classes: Vec<Class>,
}

/// One traffic class.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Class {
    pub name: String,
    #[serde(default = "default_weight")]
    pub weight: u32,
    #[serde(default = "default_method")]
    pub method: String,
    /// Template: `{user}`, `{channel}`, `{segment}`, `{rand}`.
    pub path: String,
    #[serde(default = "default_users")]
    pub users: u64,
    #[serde(default = "default_channels")]
    pub channels: usize,
    #[serde(default = "default_zipf")]
    pub zipf_s: f64,
    /// Adds `Range: bytes=a-b` of this size inside `file_size`.
    #[serde(default)]
    pub range_size: Option<String>,
    #[serde(default)]
    pub file_size: Option<String>,
}

fn default_target() -> String {
    "http://127.0.0.1:8080".into()
}
fn default_duration() -> String {
    "10s".into()
}
fn default_mode() -> Mode {
    Mode::Closed
}
fn default_rate() -> f64 {
    1000.0
}
fn default_connections() -> usize {
    16
}
fn default_threads() -> usize {
    1
}
fn default_timeout() -> String {
    "10s".into()
}
fn default_seed() -> u64 {
    0x5eed
}
fn default_weight() -> u32 {
    1
}
fn default_method() -> String {
    "GET".into()
}
fn default_users() -> u64 {
    10_000
}
fn default_channels() -> usize {
    50
}
fn default_zipf() -> f64 {
    1.1
}

/// `250ms`, `10s`, `2m`.
pub fn duration(key: &str, s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{key}: {s:?} is not a duration"))?;
    let n: u64 = t[..split]
        .parse()
        .map_err(|_| format!("{key}: {s:?} is not a duration"))?;
    match &t[split..] {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!(
            "{key}: {s:?} is not a duration (want e.g. 500ms, 10s, 2m)"
        )),
    }
}

/// `1MiB`, `64MiB`, `512KiB`, `1024`.
pub fn size(key: &str, s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let n: u64 = t[..split]
        .parse()
        .map_err(|_| format!("{key}: {s:?} is not a size"))?;
    let m = match &t[split..] {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return Err(format!("{key}: {s:?} is not a size (want e.g. 1MiB)")),
    };
    Ok(n * m)
}

impl Profile {
    /// Check what serde cannot.
    pub fn check(&self) -> Result<(), String> {
        if self.classes.is_empty() {
            return Err("class: at least one [[class]] is required".into());
        }
        if self.connections == 0 || self.threads == 0 {
            return Err("connections and threads must be at least 1".into());
        }
        if self.mode == Mode::Open && self.rate <= 0.0 {
            return Err("rate: must be positive in open mode".into());
        }
        if self.classes.iter().all(|c| c.weight == 0) {
            return Err("class: at least one weight must be positive".into());
        }
        for (i, c) in self.classes.iter().enumerate() {
            if !c.path.starts_with('/') {
                return Err(format!("class[{i}] ({:?}).path: must start with /", c.name));
            }
            if c.channels == 0 {
                return Err(format!(
                    "class[{i}] ({:?}).channels: must be at least 1",
                    c.name
                ));
            }
            if let Some(r) = &c.range_size {
                size(&format!("class[{i}].range_size"), r)?;
            }
            if let Some(f) = &c.file_size {
                size(&format!("class[{i}].file_size"), f)?;
            }
        }
        duration("duration", &self.duration)?;
        duration("timeout", &self.timeout)?;
        if let Some(w) = &self.warmup {
            duration("warmup", w)?;
        }
        Ok(())
    }
}
