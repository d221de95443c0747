//! `[route.match]` as validation builds it: typed conditions the router runs as they
//! are. Presets are an enum, hosts a pattern, regexes compiled (once, here; clones
//! share the compiled program), so compiling a classifier cannot fail and every
//! worker runs the same generation.

use regex::bytes::Regex;

/// A built-in media class (SPEC §3). What each one matches is `router::presets`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// `hls`
    Hls,
    /// `dash`
    Dash,
    /// `media_segment`
    MediaSegment,
    /// `range_download`
    RangeDownload,
}

impl Preset {
    /// Every preset, in the order the config documents them.
    pub const ALL: [Preset; 4] = [
        Preset::Hls,
        Preset::Dash,
        Preset::MediaSegment,
        Preset::RangeDownload,
    ];

    /// Parse a preset name from the config.
    pub fn from_name(name: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// The name used in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Hls => "hls",
            Preset::Dash => "dash",
            Preset::MediaSegment => "media_segment",
            Preset::RangeDownload => "range_download",
        }
    }
}

/// `match.host`: compared case-insensitively, stored lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// `example.com`: the host is exactly this.
    Exact(String),
    /// `*.example.com`, stored as the suffix `.example.com`: the host ends with it
    /// and has at least one byte before it.
    Wildcard(String),
}

impl HostPattern {
    /// Parse an exact host or a leading wildcard; `None` when it is neither (empty,
    /// another `*`, a port or a path).
    pub fn parse(h: &str) -> Option<HostPattern> {
        let lower = h.to_ascii_lowercase();
        let rest = lower.strip_prefix("*.").unwrap_or(&lower);
        if rest.is_empty() || rest.contains(['*', ':', '/']) {
            return None;
        }
        Some(match lower.strip_prefix('*') {
            Some(suffix) => HostPattern::Wildcard(suffix.to_string()),
            None => HostPattern::Exact(lower),
        })
    }
}

/// How a header, cookie or query value is tested.
#[derive(Debug, Clone)]
pub enum ValueTest {
    /// Equal bytes.
    Exact(String),
    /// Regex search.
    Regex(Regex),
    /// Merely present.
    Present,
}

/// One `header`, `cookie` or `query` table.
#[derive(Debug, Clone)]
pub struct FieldMatch {
    /// Field, cookie or parameter name; non-empty. Header names are lower-cased
    /// (compared case-insensitively), cookie and query names kept as written.
    pub name: String,
    /// What its value must satisfy.
    pub test: ValueTest,
}

/// A validated `[route.match]`: every given condition must hold; an empty one
/// matches every request.
#[derive(Debug, Clone, Default)]
pub struct Match {
    pub preset: Option<Preset>,
    pub host: Option<HostPattern>,
    /// Starts with `/`.
    pub path_prefix: Option<String>,
    /// Starts with `/`.
    pub path_exact: Option<String>,
    /// Non-empty suffixes, any of which may end the path; empty = no condition.
    pub path_suffix: Vec<String>,
    pub path_regex: Option<Regex>,
    /// HTTP method tokens, any of which may match; empty = any method.
    pub methods: Vec<String>,
    /// Every one must hold.
    pub headers: Vec<FieldMatch>,
    /// Every one must hold.
    pub cookies: Vec<FieldMatch>,
    /// Every one must hold.
    pub queries: Vec<FieldMatch>,
    pub user_agent: Option<Regex>,
    /// `Some(true)`: TLS listeners only; `Some(false)`: plain ones only.
    pub tls: Option<bool>,
    /// TLS SNI (lower-cased); never matches a plain connection.
    pub sni: Option<HostPattern>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preset_names_round_trip() {
        for p in Preset::ALL {
            assert_eq!(Preset::from_name(p.as_str()), Some(p));
        }
        assert_eq!(Preset::from_name("mp3"), None);
        assert_eq!(Preset::from_name("HLS"), None);
    }

    #[test]
    fn host_patterns() {
        assert_eq!(
            HostPattern::parse("*.Example.COM"),
            Some(HostPattern::Wildcard(".example.com".into()))
        );
        assert_eq!(
            HostPattern::parse("Exact.org"),
            Some(HostPattern::Exact("exact.org".into()))
        );
        for bad in ["", "*.", "a.*.com", "*", "**.a", "a.com:80", "a.com/x"] {
            assert_eq!(HostPattern::parse(bad), None, "{bad:?}");
        }
    }
}
