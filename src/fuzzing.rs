//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the seed-corpus test
//! (`tests/fuzz_corpus.rs`): each feeds arbitrary bytes to one parser and checks its
//! invariants. They must never panic.

use crate::config::Config;
use crate::http::chunked::ChunkedDecoder;
use crate::http::header_slots;
use crate::http::path::normalize_path;
use crate::http::request::{HeadLimits, MAX_HEADERS, parse_request};
use crate::http::response::{MAX_RESPONSE_HEADERS, parse_response};
use crate::http::rewrite::write_upstream_request;
use crate::router::{Classifier, RequestView};

const LIMITS: HeadLimits = HeadLimits {
    max_header_bytes: 16384,
    max_headers: 100,
    max_body: 1 << 20,
};

/// Request head parsing, framing checks and head rewriting; a head that parses at
/// all must parse identically when split at any point (here: in half).
pub fn request_head(data: &[u8]) {
    let mut headers = header_slots::<MAX_HEADERS>();
    let full = parse_request(data, &mut headers, &LIMITS);
    if let Ok(Some(head)) = &full {
        assert!(head.head_len <= data.len());
        let mut out = Vec::new();
        let mut path = Vec::new();
        if normalize_path(head.path, &mut path).is_ok() {
            write_upstream_request(&mut out, head, &path, b"127.0.0.1");
            // The rewritten head is itself a valid request head with the same framing.
            let mut again = header_slots::<MAX_HEADERS>();
            let reparsed = parse_request(
                &out,
                &mut again,
                &HeadLimits {
                    max_header_bytes: 1 << 20,
                    max_headers: 1000,
                    max_body: 0,
                },
            );
            if let Ok(Some(r)) = reparsed {
                assert_eq!(r.body, head.body);
            }
        }
        let half = &data[..head.head_len / 2];
        let mut h2 = header_slots::<MAX_HEADERS>();
        assert!(matches!(
            parse_request(half, &mut h2, &LIMITS),
            Ok(None) | Err(_)
        ));
    }
    let mut rh = header_slots::<MAX_RESPONSE_HEADERS>();
    let _ = parse_response(data, &mut rh, data.first() == Some(&b'H'), 65536);
}

/// The chunked decoder: the same verdict and data whether fed whole or split.
pub fn chunked(data: &[u8]) {
    let mut whole = ChunkedDecoder::new();
    let mut data_whole = Vec::new();
    let r_whole = whole.feed(data, |r| data_whole.extend_from_slice(&data[r]));
    let split = data.len() / 3;
    let mut parts = ChunkedDecoder::new();
    let mut data_parts = Vec::new();
    let mut used = 0;
    let mut failed = false;
    for part in [&data[..split], &data[split..]] {
        match parts.feed(part, |r| data_parts.extend_from_slice(&part[r])) {
            Ok(n) => used += n,
            Err(_) => {
                failed = true;
                break;
            }
        }
        if parts.is_done() {
            break;
        }
    }
    match r_whole {
        Ok(n) => {
            assert!(!failed);
            assert_eq!(n, used);
            assert_eq!(data_whole, data_parts);
            assert_eq!(whole.is_done(), parts.is_done());
        }
        Err(_) => assert!(failed),
    }
}

/// Path normalisation: idempotent, never climbs, never leaves dot segments.
pub fn path(data: &[u8]) {
    let mut out = Vec::new();
    if normalize_path(data, &mut out).is_ok() {
        assert!(out.starts_with(b"/"));
        let mut again = Vec::new();
        assert!(normalize_path(&out, &mut again).is_ok());
        assert_eq!(out, again);
        assert!(
            !out.split(|&b| b == b'/')
                .any(|seg| seg == b".." || seg == b".")
        );
    }
}

/// The router on arbitrary requests: classification never panics.
pub fn router(data: &[u8]) {
    thread_local! {
        static CLASSIFIER: Option<Classifier> = Config::from_toml_str(ROUTER_CONFIG).ok().and_then(|c| Classifier::compile(&c).ok());
    }
    let mut headers = header_slots::<MAX_HEADERS>();
    let Ok(Some(head)) = parse_request(data, &mut headers, &LIMITS) else {
        return;
    };
    let mut path = Vec::new();
    if normalize_path(head.path, &mut path).is_err() {
        return;
    }
    let view = RequestView {
        method: head.method.as_bytes(),
        host: head.host,
        path: &path,
        query: head.query,
        headers: head.headers,
    };
    CLASSIFIER.with(|c| {
        if let Some(c) = c {
            let _ = c.classify(&view);
        }
    });
}

const ROUTER_CONFIG: &str = r#"
[[pool]]
name = "a"
servers = ["127.0.0.1:1"]
[[pool]]
name = "b"
servers = ["127.0.0.1:2"]
[[route]]
name = "live"
pool = "a"
[route.match]
preset = "hls"
host = "*.example.com"
[[route]]
name = "vod"
pool = "b"
[route.match]
preset = "range_download"
path_regex = "^/vod/[a-z0-9/-]+$"
cookie = { name = "plan", regex = "^p" }
[[route]]
name = "q"
pool = "a"
[route.match]
query = [{ name = "quality", value = "4k" }, { name = "x", present = true }]
header = { name = "x-tier", value = "gold" }
user_agent = "(?i)exo"
methods = ["GET", "HEAD"]
path_suffix = [".json", ".m3u8"]
[default]
pool = "b"
"#;
