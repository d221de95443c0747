//! Deterministic content and the small parsers the origins need (sizes, durations,
//! Range headers).
//!
//! Content: the byte at offset `i` of any VOD file or live segment is
//! `content_byte(i) = (((i % 65536) * 2654435761) >> 16) as u8` (wrapping u64
//! arithmetic); the pattern repeats every 64 KiB, so bodies stream from one
//! precomputed block and a client can verify any byte range.

use std::time::Duration;

/// Period of the content pattern.
pub const PERIOD: usize = 65536;

/// The byte at offset `i`.
pub fn content_byte(i: u64) -> u8 {
    (((i % PERIOD as u64).wrapping_mul(2_654_435_761)) >> 16) as u8
}

/// One period of content, for streaming.
pub fn block() -> Vec<u8> {
    (0..PERIOD as u64).map(content_byte).collect()
}

/// `64MiB`, `200KiB`, `1024`, `1k`, `64m`, `1g` (k/m/g are 1024-based).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: u64 = s[..split].parse().ok()?;
    let mult = match &s[split..] {
        "" | "B" => 1,
        "k" | "K" | "KiB" => 1 << 10,
        "m" | "M" | "MiB" => 1 << 20,
        "g" | "G" | "GiB" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// `250ms`, `2s`, `1m`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let n: u64 = s[..split].parse().ok()?;
    match &s[split..] {
        "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "m" => Some(Duration::from_secs(n * 60)),
        _ => None,
    }
}

/// File size from a VOD path: a `-64m`/`-512k`/`-1g`/`-1500` token before the
/// extension (`/vod/movie-64m.mp4`), else 16 MiB.
pub fn vod_size(path: &str) -> u64 {
    let name = path.rsplit('/').next().unwrap_or("");
    let stem = name.split('.').next().unwrap_or(name);
    stem.rsplit('-')
        .next()
        .filter(|t| t.len() < stem.len())
        .and_then(parse_size)
        .unwrap_or(16 << 20)
}

/// A satisfiable byte range, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeReq {
    /// No usable Range header (or several ranges): send everything.
    Whole,
    /// `start..=end`.
    Part(u64, u64),
    /// 416.
    Unsatisfiable,
}

/// Parse a `Range` header value against a file of `total` bytes (RFC 9110 §14.1.2).
pub fn parse_range(v: &str, total: u64) -> RangeReq {
    let Some(spec) = v.trim().strip_prefix("bytes=") else {
        return RangeReq::Whole;
    };
    if spec.contains(',') {
        return RangeReq::Whole;
    }
    let Some((a, b)) = spec.split_once('-') else {
        return RangeReq::Whole;
    };
    let (a, b) = (a.trim(), b.trim());
    let range = match (a.parse::<u64>().ok(), b.parse::<u64>().ok()) {
        (Some(s), Some(e)) if s <= e => Some((s, e.min(total.saturating_sub(1)))),
        (Some(s), None) if b.is_empty() => Some((s, total.saturating_sub(1))),
        (None, Some(n)) if a.is_empty() && n > 0 => {
            Some((total.saturating_sub(n), total.saturating_sub(1)))
        }
        _ => return RangeReq::Whole,
    };
    match range {
        Some((s, e)) if s < total && s <= e => RangeReq::Part(s, e),
        _ => RangeReq::Unsatisfiable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size("64MiB"), Some(64 << 20));
        assert_eq!(parse_size("1k"), Some(1024));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(vod_size("/vod/movie-64m.mp4"), 64 << 20);
        assert_eq!(vod_size("/vod/x-1500.bin"), 1500);
        assert_eq!(vod_size("/vod/plain.mp4"), 16 << 20);
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-99", 1000), RangeReq::Part(0, 99));
        assert_eq!(parse_range("bytes=900-", 1000), RangeReq::Part(900, 999));
        assert_eq!(parse_range("bytes=-100", 1000), RangeReq::Part(900, 999));
        assert_eq!(
            parse_range("bytes=990-2000", 1000),
            RangeReq::Part(990, 999)
        );
        assert_eq!(parse_range("bytes=1000-", 1000), RangeReq::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), RangeReq::Whole);
        assert_eq!(parse_range("items=0-1", 1000), RangeReq::Whole);
    }

    #[test]
    fn content_is_periodic() {
        let b = block();
        assert_eq!(b.len(), PERIOD);
        assert_eq!(content_byte(PERIOD as u64 + 5), b[5]);
    }
}
