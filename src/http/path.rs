//! Request path normalisation (SPEC §4): the router judges, and the backend receives,
//! one canonical path.
//!
//! - Percent-escapes of unreserved characters (RFC 3986 §2.3: ALPHA DIGIT - . _ ~)
//!   are decoded; every other escape is kept with upper-case hex (§6.2.2.1). `%2F`
//!   therefore never becomes a segment boundary.
//! - Dot segments (`.`, `..`, also written `%2E`) are resolved (§5.2.4).
//! - Duplicate slashes are kept: an empty segment is a segment, and `..` removes
//!   exactly one.
//! - A `..` that would climb above the root is an error (answered 400).

/// Why a path was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    /// Does not start with `/`.
    NotOrigin,
    /// A `..` segment above the root.
    ClimbsAboveRoot,
    /// `%` not followed by two hex digits.
    BadPercent,
}

/// Normalise `raw` (the path part of an origin-form target, no query) into `out`.
// HOT PATH: no alloc (out is reused and grows at most once), no lock, no blocking call.
pub fn normalize_path(raw: &[u8], out: &mut Vec<u8>) -> Result<(), PathError> {
    out.clear();
    if raw.first() != Some(&b'/') {
        return Err(PathError::NotOrigin);
    }
    out.reserve(raw.len());
    // Walk segments: each begins after a '/'. `out` always ends at a segment start
    // ("/" pushed), so popping a segment truncates back to the previous '/'.
    let mut i = 1;
    out.push(b'/');
    loop {
        let seg_start_out = out.len();
        i = decode_segment(raw, i, out)?;
        let at_end = i >= raw.len();
        resolve_segment(out, seg_start_out, at_end)?;
        if at_end {
            return Ok(());
        }
        i += 1; // skip the '/'
        if i >= raw.len() {
            // Trailing slash: the segment after it is empty; `out` already ends in '/'.
            return Ok(());
        }
    }
}

/// Decode the segment of `raw` starting at `i` into `out`; returns where it ends
/// (at a '/' or the end of `raw`).
// HOT PATH: no alloc (out has room for raw), no lock, no blocking call.
#[inline]
fn decode_segment(raw: &[u8], mut i: usize, out: &mut Vec<u8>) -> Result<usize, PathError> {
    while i < raw.len() && raw[i] != b'/' {
        let b = raw[i];
        if b == b'%' {
            let (Some(h), Some(l)) = (
                raw.get(i + 1).and_then(|&c| hex(c)),
                raw.get(i + 2).and_then(|&c| hex(c)),
            ) else {
                return Err(PathError::BadPercent);
            };
            let c = h << 4 | l;
            if is_unreserved(c) {
                out.push(c);
            } else {
                out.extend_from_slice(&[b'%', HEX[usize::from(h)], HEX[usize::from(l)]]);
            }
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Ok(i)
}

/// Resolve the segment just decoded into `out[seg_start_out..]`: drop `.`, drop
/// `..` with the segment before it, or end a kept segment with its '/' (unless it
/// is the last).
// HOT PATH: no alloc, no lock, no blocking call.
#[inline]
fn resolve_segment(out: &mut Vec<u8>, seg_start_out: usize, at_end: bool) -> Result<(), PathError> {
    let seg = &out[seg_start_out..];
    if seg == b"." {
        out.truncate(seg_start_out);
    } else if seg == b".." {
        // Remove this ".." and the previous segment (with its trailing '/').
        out.truncate(seg_start_out);
        if seg_start_out <= 1 {
            return Err(PathError::ClimbsAboveRoot);
        }
        // out = ".../prev/" → drop "prev/" keeping the '/' before it.
        let prev_slash = out[..seg_start_out - 1]
            .iter()
            .rposition(|&b| b == b'/')
            .ok_or(PathError::ClimbsAboveRoot)?;
        out.truncate(prev_slash + 1);
    } else if !at_end {
        out.push(b'/');
    }
    Ok(())
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn is_unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> Result<String, PathError> {
        let mut out = Vec::new();
        normalize_path(s.as_bytes(), &mut out).map(|()| String::from_utf8(out).unwrap())
    }

    #[test]
    fn examples() {
        for (input, want) in [
            ("/", "/"),
            ("/live/../api/x", "/api/x"),
            ("/live/%2e%2E/api/x", "/api/x"),
            ("/a/./b", "/a/b"),
            ("//a//b", "//a//b"),
            ("/a%2Fb", "/a%2Fb"),
            ("/a%2fb", "/a%2Fb"),
            ("/%7Euser", "/~user"),
            ("/%41%62c", "/Abc"),
            ("/a/.", "/a/"),
            ("/a/..", "/"),
            ("/a/b/", "/a/b/"),
            ("/a//../b", "/a/b"),
            ("/a/b/../../c", "/c"),
            ("/.hidden/..x", "/.hidden/..x"),
            ("/live/ch1/seg1.ts", "/live/ch1/seg1.ts"),
        ] {
            assert_eq!(norm(input).as_deref(), Ok(want), "{input}");
        }
    }

    #[test]
    fn refusals() {
        assert_eq!(norm("/.."), Err(PathError::ClimbsAboveRoot));
        assert_eq!(norm("/../x"), Err(PathError::ClimbsAboveRoot));
        assert_eq!(norm("/a/b/../../.."), Err(PathError::ClimbsAboveRoot));
        assert_eq!(norm("/%2e%2e/etc"), Err(PathError::ClimbsAboveRoot));
        assert_eq!(norm("/%zz"), Err(PathError::BadPercent));
        assert_eq!(norm("/%4"), Err(PathError::BadPercent));
        assert_eq!(norm("x"), Err(PathError::NotOrigin));
    }

    #[test]
    fn idempotent_and_free_of_dot_segments() {
        let samples = [
            "/a/./b/../c//d/%2e/e/%2E%2E/f",
            "/x/%7e/%2f/..//y/.",
            "//../a",
            "/a/b/c/../../d/./e/",
        ];
        for s in samples {
            let Ok(once) = norm(s) else { continue };
            assert_eq!(norm(&once).as_deref(), Ok(once.as_str()), "{s}");
            assert!(
                !once.contains("/../")
                    && !once.contains("/./")
                    && !once.ends_with("/..")
                    && !once.ends_with("/."),
                "{once}"
            );
        }
    }
}
