//! Parsing of duration (`"250ms"`, `"10s"`, `"2m"`) and size (`"16KiB"`, `"10MiB"`)
//! strings used throughout `config.toml`.

use std::time::Duration;

/// Parse a duration: an integer followed by `us`, `ms`, `s`, `m` or `h` (`"0"` alone
/// is zero).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("{s:?} is not a duration (want e.g. \"250ms\", \"10s\", \"2m\")");
    let t = s.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let d = match unit {
        "us" => Duration::from_micros(n),
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.checked_mul(60).ok_or_else(bad)?),
        "h" => Duration::from_secs(n.checked_mul(3600).ok_or_else(bad)?),
        _ => return Err(bad()),
    };
    Ok(d)
}

/// Parse a size: an integer with an optional unit `B`, `KiB`, `MiB`, `GiB` (1024-based)
/// or `KB`, `MB`, `GB` (1000-based).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let bad = || format!("{s:?} is not a size (want e.g. \"16KiB\", \"10MiB\", \"0\")");
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits.parse().map_err(|_| bad())?;
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
    n.checked_mul(mult).ok_or_else(bad)
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
        for bad in ["", "10", "10x", "s", "-1s", "1.5s", "99999999999999999999h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
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
        for bad in ["", "KiB", "1kib", "1.5MiB", "-1", "99999999999GiB"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
