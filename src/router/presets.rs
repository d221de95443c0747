//! Built-in media classes (SPEC §3): path extensions compared case-insensitively with
//! the query ignored (the router sees the path without it). The enum is
//! `config::Preset` (validation parses the name); what each class matches is here:
//! - `hls`: `.m3u8 .ts .aac .m4s .vtt`
//! - `dash`: `.mpd .m4s .m4v .m4a`
//! - `media_segment`: `.ts .aac .m4s .m4v .m4a` (segments, no playlists)
//! - `range_download`: a `Range` header, or `.mp4 .mkv .mov .webm`

use crate::config::Preset;

impl Preset {
    /// Whether a request with this lower-cased extension (without the dot) and Range
    /// presence belongs to the class.
    // HOT PATH: no alloc, no lock, no blocking call.
    pub fn matches(self, ext: &[u8], has_range: bool) -> bool {
        let list: &[&[u8]] = match self {
            Preset::Hls => &[b"m3u8", b"ts", b"aac", b"m4s", b"vtt"],
            Preset::Dash => &[b"mpd", b"m4s", b"m4v", b"m4a"],
            Preset::MediaSegment => &[b"ts", b"aac", b"m4s", b"m4v", b"m4a"],
            Preset::RangeDownload => {
                if has_range {
                    return true;
                }
                &[b"mp4", b"mkv", b"mov", b"webm"]
            }
        };
        list.contains(&ext)
    }
}

/// The lower-cased extension of the last path segment, copied into `buf` (empty when
/// none, or longer than the buffer: no preset extension is that long).
// HOT PATH: no alloc, no lock, no blocking call.
pub fn extension<'a>(path: &[u8], buf: &'a mut [u8; 8]) -> &'a [u8] {
    let seg_start = path.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
    let seg = &path[seg_start..];
    let Some(dot) = seg.iter().rposition(|&b| b == b'.') else {
        return &buf[..0];
    };
    let ext = &seg[dot + 1..];
    if ext.len() > buf.len() {
        return &buf[..0];
    }
    for (d, s) in buf.iter_mut().zip(ext) {
        *d = s.to_ascii_lowercase();
    }
    &buf[..ext.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(p: &str) -> Vec<u8> {
        let mut b = [0u8; 8];
        extension(p.as_bytes(), &mut b).to_vec()
    }

    #[test]
    fn extensions() {
        assert_eq!(ext("/live/ch1/INDEX.M3U8"), b"m3u8");
        assert_eq!(ext("/a.b/c"), b"");
        assert_eq!(ext("/x.verylongext"), b"");
        assert_eq!(ext("/x."), b"");
    }

    #[test]
    fn classes() {
        assert!(Preset::Hls.matches(b"m3u8", false));
        assert!(Preset::Hls.matches(b"vtt", false));
        assert!(!Preset::Hls.matches(b"mpd", false));
        assert!(Preset::Dash.matches(b"m4v", false));
        assert!(!Preset::MediaSegment.matches(b"m3u8", false));
        assert!(Preset::MediaSegment.matches(b"aac", false));
        assert!(Preset::RangeDownload.matches(b"", true));
        assert!(Preset::RangeDownload.matches(b"webm", false));
        assert!(!Preset::RangeDownload.matches(b"ts", false));
    }
}
