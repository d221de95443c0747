//! Content-aware routing through the real binaries: every match kind, every media
//! preset, first-match-wins, the default pool and 404 without one.
#![allow(clippy::disallowed_methods)] // tests block and sleep freely

mod common;

use common::client::{Response, assert_status, request};
use common::config::SluiceConfig;
use common::{Origins, Sluice};

const POOLS: [&str; 16] = [
    "host", "exact", "suffix", "regex", "methods", "header", "cookie", "query", "ua", "hls",
    "dash", "segment", "range", "prefix", "first", "default",
];

/// Every match kind and preset, each route to the pool of its name, in this order.
fn routes(c: SluiceConfig) -> SluiceConfig {
    c.route("host", "host", |m| m.host("*.tenant.example"))
        .route("exact", "exact", |m| m.path_exact("/exact"))
        .route("suffix", "suffix", |m| m.path_suffix(&[".json", ".xml"]))
        .route("regex", "regex", |m| m.path_regex("^/re/[0-9]+$"))
        .route("methods", "methods", |m| m.methods(&["DELETE"]))
        .route("header", "header", |m| m.header("x-tier", "gold"))
        .route("cookie", "cookie", |m| m.cookie("plan", "premium"))
        .route("query", "query", |m| m.query("quality", "4k"))
        .route("ua", "ua", |m| m.user_agent("(?i)exoplayer"))
        .route("segment", "segment", |m| {
            m.preset("media_segment").path_prefix("/seg/")
        })
        .route("hls", "hls", |m| m.preset("hls"))
        .route("dash", "dash", |m| m.preset("dash"))
        .route("range", "range", |m| m.preset("range_download"))
        .route("first", "first", |m| m.path_prefix("/api/first"))
        .route("prefix", "prefix", |m| m.path_prefix("/api/"))
}

fn start(with_default: bool) -> (Origins, Sluice) {
    let specs: Vec<String> = POOLS
        .iter()
        .map(|p| format!("api=127.0.0.1:0,name={p}"))
        .collect();
    let spec_refs: Vec<&str> = specs.iter().map(String::as_str).collect();
    let origins = Origins::start(&spec_refs);
    let mut config = Sluice::builder();
    for p in POOLS {
        config = config.pool(p, |pool| pool.server(origins.addr(p)));
    }
    config = routes(config);
    if with_default {
        config = config.default_pool("default");
    }
    let sluice = config.start();
    (origins, sluice)
}

fn get_with(s: &Sluice, path: &str, extra: &str) -> Response {
    request(
        s.addr,
        &format!("GET {path} HTTP/1.1\r\nHost: media.example\r\n{extra}Connection: close\r\n\r\n"),
    )
}

#[test]
fn every_match_kind_and_preset_routes_to_its_pool() {
    let (_o, s) = start(true);
    let cases: &[(&str, &str, &str, &str)] = &[
        // (method+path, extra headers, expected pool, what)
        (
            "GET /x",
            "Host: a.tenant.example\r\n",
            "host",
            "wildcard host",
        ),
        (
            "GET /x",
            "Host: deep.a.tenant.example:8080\r\n",
            "host",
            "wildcard host, port stripped",
        ),
        (
            "GET /x",
            "Host: tenant.example\r\n",
            "default",
            "wildcard does not match the bare domain",
        ),
        ("GET /exact", "", "exact", "path_exact"),
        ("GET /exact/more", "", "default", "path_exact is exact"),
        ("GET /a/b.json", "", "suffix", "path_suffix first of list"),
        (
            "GET /a/b.xml?x=1",
            "",
            "suffix",
            "path_suffix second of list, query ignored",
        ),
        ("GET /re/123", "", "regex", "path_regex"),
        ("GET /re/12a", "", "default", "path_regex no match"),
        ("DELETE /thing", "", "methods", "methods"),
        ("GET /thing", "x-tier: gold\r\n", "header", "header value"),
        (
            "GET /thing",
            "x-tier: silver\r\n",
            "default",
            "header other value",
        ),
        (
            "GET /thing",
            "Cookie: a=1; plan=premium; b=2\r\n",
            "cookie",
            "cookie",
        ),
        (
            "GET /thing",
            "Cookie: plan=free\r\n",
            "default",
            "cookie other value",
        ),
        ("GET /thing?a=1&quality=4k", "", "query", "query"),
        ("GET /thing?quality=hd", "", "default", "query other value"),
        (
            "GET /thing",
            "User-Agent: Mozilla ExoPlayerLib/2.18\r\n",
            "ua",
            "user_agent regex",
        ),
        ("GET /seg/ch1/seg9.ts", "", "segment", "media_segment .ts"),
        (
            "GET /seg/ch1/index.m3u8",
            "",
            "hls",
            "media_segment excludes playlists",
        ),
        ("GET /live/ch1/index.m3u8", "", "hls", "hls playlist"),
        (
            "GET /live/ch1/INDEX.M3U8",
            "",
            "hls",
            "hls case-insensitive",
        ),
        (
            "GET /live/ch1/seg1.ts?token=abc",
            "",
            "hls",
            "hls segment, query ignored",
        ),
        ("GET /live/ch1/sub.vtt", "", "hls", "hls subtitles"),
        ("GET /live/ch1/manifest.mpd", "", "dash", "dash manifest"),
        ("GET /live/ch1/v.m4v", "", "dash", "dash video segment"),
        (
            "GET /movies/m.mkv",
            "",
            "range",
            "range_download by extension",
        ),
        (
            "GET /movies/m.MP4",
            "",
            "range",
            "range_download extension case",
        ),
        (
            "GET /blob",
            "Range: bytes=0-99\r\n",
            "range",
            "range_download by Range header",
        ),
        (
            "GET /api/first/x",
            "",
            "first",
            "first match wins over a later broader route",
        ),
        ("GET /api/v1/login", "", "prefix", "path_prefix"),
        ("GET /nothing", "", "default", "default pool"),
    ];
    for (req, extra, want, what) in cases {
        let (method, path) = req.split_once(' ').unwrap();
        let host = if extra.starts_with("Host:") {
            ""
        } else {
            "Host: media.example\r\n"
        };
        let r = request(
            s.addr,
            &format!("{method} {path} HTTP/1.1\r\n{host}{extra}Connection: close\r\n\r\n"),
        );
        assert_eq!(r.status, 200, "{what}: {req}");
        assert_eq!(r.origin(), *want, "{what}: {req} {extra:?}");
    }
}

#[test]
fn no_default_pool_answers_404_with_reason() {
    let (_o, s) = start(false);
    let r = get_with(&s, "/nothing/here", "");
    assert_status(&r, 404, "no_route");
    assert!(!r.body.is_empty());
    // A route still works on the same instance.
    assert_eq!(get_with(&s, "/exact", "").origin(), "exact");
}

#[test]
fn the_judged_path_is_the_forwarded_path() {
    let (_o, s) = start(true);
    // Dot segments resolve before routing, and the origin receives exactly the routed path.
    let r = get_with(&s, "/live/../exact", "");
    assert_eq!(r.origin(), "exact");
    assert!(r.text().contains("\"path\":\"/exact\""), "{}", r.text());
    let r = get_with(&s, "/../etc/passwd", "");
    assert_eq!(r.status, 400);
}
