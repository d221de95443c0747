//! Config errors (`ConfigError`, `ConfigErrors`) and the collector every check writes
//! into (`Errors`), so all problems are reported together, each named by its key path.
//!
//! This file sits below every `validate*` file and imports none of them.

use std::net::SocketAddr;
use std::time::Duration;

use regex::bytes::Regex;

use super::units::{parse_duration, parse_size};

/// One configuration problem, located by its key path, e.g.
/// `route[2] ("vod").pool: no pool named "vodd"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}{}", .path, if .path.is_empty() { "" } else { ": " }, .message)]
pub struct ConfigError {
    /// 0-based key path with the entry's name where it has one.
    pub path: String,
    /// What is wrong, with the offending value.
    pub message: String,
}

impl ConfigError {
    /// A problem with the file as a whole (reading it, an empty text): no key path.
    pub fn whole(message: impl Into<String>) -> ConfigErrors {
        ConfigErrors(vec![ConfigError {
            path: String::new(),
            message: message.into(),
        }])
    }
}

/// Every problem found in one configuration, in file order, one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", lines(.0))]
pub struct ConfigErrors(pub Vec<ConfigError>);

fn lines(errors: &[ConfigError]) -> String {
    let all: Vec<String> = errors.iter().map(ToString::to_string).collect();
    all.join("\n")
}

/// Collects errors while checking.
#[derive(Default)]
pub(super) struct Errors(pub(super) Vec<ConfigError>);

impl Errors {
    pub(super) fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigError {
            path: path.into(),
            message: message.into(),
        });
    }

    /// A duration of 0..=365 days.
    pub(super) fn duration(&mut self, path: &str, v: &str) -> Duration {
        parse_duration(v).unwrap_or_else(|e| {
            self.push(path, e);
            Duration::ZERO
        })
    }

    /// A duration greater than zero and at most 365 days.
    pub(super) fn positive_duration(&mut self, path: &str, v: &str) -> Duration {
        self.duration_at_least(path, v, Duration::from_nanos(1))
    }

    /// A duration of `min..=365 days` (`min` > 0).
    pub(super) fn duration_at_least(&mut self, path: &str, v: &str, min: Duration) -> Duration {
        match parse_duration(v) {
            Ok(d) if d.is_zero() => {
                self.push(path, format!("{v:?} must be greater than zero"));
                min
            }
            Ok(d) if d < min => {
                self.push(path, format!("{v:?} is shorter than the minimum {min:?}"));
                min
            }
            Ok(d) => d,
            Err(e) => {
                self.push(path, e);
                min
            }
        }
    }

    pub(super) fn size(&mut self, path: &str, v: &str) -> u64 {
        parse_size(v).unwrap_or_else(|e| {
            self.push(path, e);
            0
        })
    }

    pub(super) fn addr(&mut self, path: &str, v: &str) -> Option<SocketAddr> {
        match v.parse() {
            Ok(a) => Some(a),
            Err(_) => {
                self.push(
                    path,
                    format!(
                        "{v:?} is not a socket address (want host:port, e.g. \"127.0.0.1:8080\")"
                    ),
                );
                None
            }
        }
    }

    pub(super) fn range(&mut self, path: &str, v: i64, lo: i64, hi: i64) -> i64 {
        if v < lo || v > hi {
            self.push(path, format!("{v} is out of range ({lo}..={hi})"));
            return v.clamp(lo, hi);
        }
        v
    }

    /// Compile `v` once, here: the compiled regex is what the router runs, so no
    /// worker compiles (or can fail to compile) it again.
    pub(super) fn regex(&mut self, path: &str, v: &str) -> Option<Regex> {
        match Regex::new(v) {
            Ok(re) => Some(re),
            Err(e) => {
                let text = e.to_string();
                let last = text.lines().last().unwrap_or("invalid").trim();
                self.push(path, format!("{v:?} is not a valid regex: {last}"));
                None
            }
        }
    }
}

/// Label of a named entry: `pool[1] ("live")`.
pub(super) fn entry(kind: &str, i: usize, name: &str) -> String {
    if name.is_empty() {
        format!("{kind}[{i}]")
    } else {
        format!("{kind}[{i}] ({name:?})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_with_and_without_a_path() {
        let e = ConfigError {
            path: "pool[0] (\"a\").retries".into(),
            message: "9 is out of range (0..=5)".into(),
        };
        assert_eq!(
            e.to_string(),
            "pool[0] (\"a\").retries: 9 is out of range (0..=5)"
        );
        let whole = ConfigError::whole("cannot read x");
        assert_eq!(whole.to_string(), "cannot read x");
        assert_eq!(
            ConfigErrors(vec![e.clone(), e]).to_string().lines().count(),
            2
        );
    }

    #[test]
    fn collector_keeps_every_error_and_returns_usable_values() {
        let mut e = Errors::default();
        assert_eq!(e.range("a", 9, 0, 5), 5);
        assert_eq!(e.positive_duration("b", "0"), Duration::from_nanos(1));
        assert!(e.regex("c", "([").is_none());
        assert!(e.regex("d", "^/x$").is_some_and(|re| re.is_match(b"/x")));
        assert_eq!(e.addr("f", "nowhere"), None);
        assert_eq!(entry("route", 2, "vod"), "route[2] (\"vod\")");
        assert_eq!(entry("route", 2, ""), "route[2]");
        let paths: Vec<&str> = e.0.iter().map(|x| x.path.as_str()).collect();
        assert_eq!(paths, ["a", "b", "c", "f"]);
    }
}
