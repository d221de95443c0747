//! Parsing of duration (`"250ms"`, `"10s"`, `"2m"`) and size (`"16KiB"`, `"10MiB"`)
//! strings used throughout `config.toml`.

use std::time::Duration;

/// Longest duration any key accepts (SPEC §3): 365 days.
///
/// Config durations become deadlines (`Instant + Duration`, which panics on
/// overflow) and monoio timers (which convert the deadline to a `u64` count of
/// milliseconds and panic beyond it: `"9999999999999h"` as `upstream_connect` killed
/// the worker's request task). A year is far beyond any useful timeout and far below
/// both limits, so no deadline computed from a config value can overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// Parse a duration: an integer followed by `us`, `ms`, `s`, `m`, `h` or `d` (`"0"`
/// alone is zero), at most `MAX_DURATION`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("{s:?} is not a duration (want e.g. \"250ms\", \"10s\", \"2m\")");
    let too_long = || format!("{s:?} is longer than 365 days (the most a duration may be)");
    let t = s.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (digits, unit) = t.split_at(split);
    if digits.is_empty() {
        return Err(bad());
    }
    let secs = |mult: u64, n: u64| n.checked_mul(mult).map(Duration::from_secs);
    // Too many digits for a u64 is a valid spelling of a too-long duration.
    let d = match (unit, digits.parse::<u64>()) {
        ("us" | "ms" | "s" | "m" | "h" | "d", Err(_)) => None,
        ("us", Ok(n)) => Some(Duration::from_micros(n)),
        ("ms", Ok(n)) => Some(Duration::from_millis(n)),
        ("s", Ok(n)) => secs(1, n),
        ("m", Ok(n)) => secs(60, n),
        ("h", Ok(n)) => secs(3600, n),
        ("d", Ok(n)) => secs(86_400, n),
        _ => return Err(bad()),
    };
    d.filter(|d| *d <= MAX_DURATION).ok_or_else(too_long)
}

/// Parse a size: an integer with an optional unit `B`, `KiB`, `MiB`, `GiB` (1024-based)
/// or `KB`, `MB`, `GB` (1000-based). A value that does not fit in a `u64` is an
/// error, never a wrapped number.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let bad = || format!("{s:?} is not a size (want e.g. \"16KiB\", \"10MiB\", \"0\")");
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    if digits.is_empty() {
        return Err(bad());
    }
    let mult: u64 = match unit {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => return Err(bad()),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("{s:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for (s, ms) in [
            ("250ms", 250),
            ("10s", 10_000),
            ("2m", 120_000),
            ("1h", 3_600_000),
            ("0", 0),
            ("0s", 0),
        ] {
            assert_eq!(parse_duration(s), Ok(Duration::from_millis(ms)), "{s}");
        }
        assert_eq!(parse_duration("1500us"), Ok(Duration::from_micros(1500)));
        for bad in ["", "10", "10x", "s", "-1s", "1.5s", "1 s", "1d2h"] {
            let err = parse_duration(bad).unwrap_err();
            assert!(err.contains("is not a duration"), "{bad}: {err}");
        }
    }

    #[test]
    fn durations_are_at_most_365_days() {
        assert_eq!(parse_duration("365d"), Ok(MAX_DURATION));
        assert_eq!(parse_duration("8760h"), Ok(MAX_DURATION));
        assert_eq!(parse_duration("525600m"), Ok(MAX_DURATION));
        assert_eq!(parse_duration("31536000s"), Ok(MAX_DURATION));
        assert_eq!(parse_duration("31536000000ms"), Ok(MAX_DURATION));
        assert_eq!(parse_duration("31536000000000us"), Ok(MAX_DURATION));
        for long in [
            "366d",
            "8761h",
            "31536001s",
            "31536000001ms",
            "31536000000001us",
            "9999999999999h",
            // Overflows u64 seconds when multiplied out.
            "18446744073709551615h",
            "18446744073709551615s",
            "18446744073709551615us",
            // Too many digits for a u64 at all.
            "99999999999999999999h",
        ] {
            let err = parse_duration(long).unwrap_err();
            assert!(err.contains("longer than 365 days"), "{long}: {err}");
        }
        // Every accepted duration can be added to now, even in monoio's millisecond ticks.
        let deadline = std::time::Instant::now() + MAX_DURATION;
        assert!(
            u64::try_from(MAX_DURATION.as_millis()).is_ok() && deadline > std::time::Instant::now()
        );
    }

    #[test]
    fn sizes() {
        for (s, n) in [
            ("16KiB", 16384),
            ("10MiB", 10 << 20),
            ("1GiB", 1 << 30),
            ("0", 0),
            ("512B", 512),
            ("1024", 1024),
            ("2KB", 2000),
        ] {
            assert_eq!(parse_size(s), Ok(n), "{s}");
        }
        for bad in ["", "KiB", "1kib", "1.5MiB", "-1"] {
            let err = parse_size(bad).unwrap_err();
            assert!(err.contains("is not a size"), "{bad}: {err}");
        }
        for huge in [
            "99999999999GiB",
            "99999999999999GiB",
            "18446744073709551616",
            "99999999999999999999999B",
        ] {
            let err = parse_size(huge).unwrap_err();
            assert!(err.contains("is too large"), "{huge}: {err}");
        }
        assert_eq!(parse_size("17179869183GiB"), Ok(17179869183 << 30));
    }
}
