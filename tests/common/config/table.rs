//! One TOML table's lines, and TOML string quoting.

use std::fmt::{Display, Write};

/// `s` as a TOML basic string. A JSON string literal is one (TOML's basic strings
/// take the same `\"`, `\\`, `\n` and `\uXXXX` escapes), so the crate's JSON
/// helper writes it.
pub fn quote(s: &str) -> String {
    sluice::json::string(s)
}

/// `["a", "b"]`.
pub(super) fn string_array<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| quote(s.as_ref())).collect();
    format!("[{}]", quoted.join(", "))
}

/// One table's lines in the order given: `key = value` pairs (a later set of the
/// same key replaces the value in place) and raw lines.
#[derive(Debug, Clone, Default)]
pub(super) struct Table {
    lines: Vec<Line>,
}

#[derive(Debug, Clone)]
enum Line {
    Key(String, String),
    Raw(String),
}

impl Table {
    pub(super) fn set(&mut self, key: &str, value: impl Display) {
        let value = value.to_string();
        for line in &mut self.lines {
            if let Line::Key(k, v) = line
                && k == key
            {
                *v = value;
                return;
            }
        }
        self.lines.push(Line::Key(key.to_string(), value));
    }

    pub(super) fn set_str(&mut self, key: &str, value: &str) {
        self.set(key, quote(value));
    }

    pub(super) fn raw(&mut self, text: &str) {
        self.lines
            .push(Line::Raw(text.trim_end_matches('\n').to_string()));
    }

    pub(super) fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// `header` (unless empty), then every line.
    pub(super) fn write(&self, out: &mut String, header: &str) {
        if !header.is_empty() {
            out.push_str(header);
            out.push('\n');
        }
        for line in &self.lines {
            match line {
                Line::Key(k, v) => {
                    let _ = writeln!(out, "{k} = {v}");
                }
                Line::Raw(text) => {
                    out.push_str(text);
                    out.push('\n');
                }
            }
        }
    }
}
