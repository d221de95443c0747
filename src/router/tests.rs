//! Classifier tests on byte slices: every match kind, presets, order, default.

use super::*;

fn classifier(routes: &str, default: bool) -> Classifier {
    let mut text = String::from(
        "[[pool]]\nname = \"a\"\nservers = [\"127.0.0.1:1\"]\n[[pool]]\nname = \"b\"\nservers = [\"127.0.0.1:2\"]\n[[pool]]\nname = \"d\"\nservers = [\"127.0.0.1:3\"]\n",
    );
    text.push_str(routes);
    if default {
        text.push_str("[default]\npool = \"d\"\n");
    }
    let config = Config::from_toml_str(&text).unwrap_or_else(|e| panic!("{e}"));
    Classifier::compile(&config)
}

fn pool_of(
    c: &Classifier,
    method: &str,
    host: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
) -> Option<u16> {
    let hs: Vec<httparse::Header<'_>> = headers
        .iter()
        .map(|(n, v)| httparse::Header {
            name: n,
            value: v.as_bytes(),
        })
        .collect();
    let view = RequestView {
        method: method.as_bytes(),
        host: host.as_bytes(),
        path: path.as_bytes(),
        query: query.as_bytes(),
        headers: &hs,
        has_range: headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("range")),
        tls: false,
        sni: b"",
    };
    c.classify(&view).map(|x| x.pool)
}

fn route(name: &str, pool: &str, body: &str) -> String {
    format!("[[route]]\nname = \"{name}\"\npool = \"{pool}\"\n[route.match]\n{body}\n")
}

#[test]
fn hosts() {
    let c = classifier(
        &(route("w", "a", "host = \"*.Example.com\"") + &route("e", "b", "host = \"exact.org\"")),
        true,
    );
    assert_eq!(pool_of(&c, "GET", "a.example.com", "/", "", &[]), Some(0));
    assert_eq!(pool_of(&c, "GET", "A.B.EXAMPLE.COM", "/", "", &[]), Some(0));
    assert_eq!(pool_of(&c, "GET", "example.com", "/", "", &[]), Some(2));
    assert_eq!(pool_of(&c, "GET", "xexample.com", "/", "", &[]), Some(2));
    assert_eq!(pool_of(&c, "GET", "Exact.ORG", "/", "", &[]), Some(1));
    assert_eq!(pool_of(&c, "GET", "", "/", "", &[]), Some(2));
}

#[test]
fn paths_methods_and_order() {
    let routes = route("x", "a", "path_exact = \"/x\"")
        + &route(
            "p",
            "b",
            "path_prefix = \"/api/\"\nmethods = [\"GET\", \"HEAD\"]",
        )
        + &route("s", "a", "path_suffix = [\".json\", \".xml\"]")
        + &route("r", "b", "path_regex = \"^/re/[0-9]+$\"");
    let c = classifier(&routes, false);
    assert_eq!(pool_of(&c, "GET", "h", "/x", "", &[]), Some(0));
    assert_eq!(pool_of(&c, "GET", "h", "/x/", "", &[]), None);
    assert_eq!(pool_of(&c, "GET", "h", "/api/v1", "", &[]), Some(1));
    assert_eq!(pool_of(&c, "POST", "h", "/api/v1", "", &[]), None);
    assert_eq!(pool_of(&c, "POST", "h", "/api/v1.json", "", &[]), Some(0));
    assert_eq!(pool_of(&c, "GET", "h", "/re/42", "", &[]), Some(1));
    assert_eq!(pool_of(&c, "GET", "h", "/re/4x", "", &[]), None);
}

#[test]
fn headers_cookies_queries_user_agent() {
    let routes = route(
        "h",
        "a",
        "header = [{ name = \"X-Tier\", value = \"gold\" }, { name = \"x-beta\", present = true }]",
    ) + &route("c", "b", "cookie = { name = \"plan\", regex = \"^prem\" }")
        + &route("q", "a", "query = { name = \"quality\", value = \"4k\" }")
        + &route("u", "b", "user_agent = \"(?i)exoplayer\"");
    let c = classifier(&routes, true);
    assert_eq!(
        pool_of(
            &c,
            "GET",
            "h",
            "/",
            "",
            &[("x-tier", "gold"), ("X-Beta", "")]
        ),
        Some(0)
    );
    assert_eq!(
        pool_of(&c, "GET", "h", "/", "", &[("x-tier", "gold")]),
        Some(2),
        "both tables must hold"
    );
    assert_eq!(
        pool_of(
            &c,
            "GET",
            "h",
            "/",
            "",
            &[("x-tier", "silver"), ("x-tier", "gold"), ("x-beta", "1")]
        ),
        Some(0),
        "any field of the name"
    );
    assert_eq!(
        pool_of(&c, "GET", "h", "/", "", &[("Cookie", "a=1; plan=premium")]),
        Some(1)
    );
    assert_eq!(
        pool_of(&c, "GET", "h", "/", "", &[("Cookie", "plan=free")]),
        Some(2)
    );
    assert_eq!(pool_of(&c, "GET", "h", "/", "a&quality=4k", &[]), Some(0));
    assert_eq!(pool_of(&c, "GET", "h", "/", "quality=4kx", &[]), Some(2));
    assert_eq!(
        pool_of(&c, "GET", "h", "/", "", &[("User-Agent", "ExoPlayerLib/2")]),
        Some(1)
    );
    assert_eq!(pool_of(&c, "GET", "h", "/", "", &[]), Some(2));
}

#[test]
fn presets() {
    let routes = route(
        "seg",
        "a",
        "preset = \"media_segment\"\npath_prefix = \"/seg/\"",
    ) + &route("hls", "b", "preset = \"hls\"")
        + &route("dash", "a", "preset = \"dash\"\npath_prefix = \"/dash/\"")
        + &route(
            "range",
            "b",
            "preset = \"range_download\"\npath_prefix = \"/vod/\"",
        );
    let c = classifier(&routes, true);
    assert_eq!(pool_of(&c, "GET", "h", "/seg/a.ts", "", &[]), Some(0));
    assert_eq!(
        pool_of(&c, "GET", "h", "/seg/a.m3u8", "", &[]),
        Some(1),
        "playlist is not a segment"
    );
    assert_eq!(
        pool_of(&c, "GET", "h", "/live/A.M3U8", "x=1.mp4", &[]),
        Some(1)
    );
    assert_eq!(pool_of(&c, "GET", "h", "/dash/m.mpd", "", &[]), Some(0));
    assert_eq!(pool_of(&c, "GET", "h", "/dash/v.m4v", "", &[]), Some(0));
    assert_eq!(pool_of(&c, "GET", "h", "/vod/movie.MKV", "", &[]), Some(1));
    assert_eq!(
        pool_of(&c, "GET", "h", "/vod/blob", "", &[("Range", "bytes=0-1")]),
        Some(1)
    );
    assert_eq!(pool_of(&c, "GET", "h", "/vod/blob", "", &[]), Some(2));
}

#[test]
fn fifty_routes_last_one_and_default() {
    let mut routes = String::new();
    for i in 0..49 {
        routes += &route(
            &format!("r{i}"),
            "a",
            &format!("path_prefix = \"/svc{i}/\"\nmethods = [\"GET\"]"),
        );
    }
    routes += &route("last", "b", "preset = \"hls\"\nhost = \"*.cdn.example\"");
    let c = classifier(&routes, true);
    assert_eq!(c.route_count(), 50);
    for _ in 0..1000 {
        assert_eq!(
            pool_of(&c, "GET", "edge.cdn.example", "/live/ch1/seg9.ts", "", &[]),
            Some(1)
        );
    }
    assert_eq!(pool_of(&c, "GET", "h", "/svc17/x", "", &[]), Some(0));
    assert_eq!(pool_of(&c, "GET", "h", "/none", "", &[]), Some(2));
}

#[test]
fn range_download_reads_has_range_from_the_view() {
    let c = classifier(&route("range", "a", "preset = \"range_download\""), true);
    let view = |has_range: bool| RequestView {
        method: b"GET",
        host: b"h",
        path: b"/blob",
        query: b"",
        headers: &[],
        has_range,
        tls: false,
        sni: b"",
    };
    assert_eq!(c.classify(&view(true)).map(|x| x.pool), Some(0));
    assert_eq!(
        c.classify(&view(false)).map(|x| x.pool),
        Some(2),
        "no Range"
    );
}

#[test]
fn compiling_uses_the_regexes_validation_built() {
    let text = "[[pool]]\nname = \"a\"\nservers = [\"127.0.0.1:1\"]\n".to_string()
        + &route("r", "a", "path_regex = \"^/re/[0-9]+$\"");
    let config = Config::from_toml_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let built = config.routes[0].matcher.path_regex.as_ref().expect("built");
    assert_eq!(built.as_str(), "^/re/[0-9]+$");
    // Every worker compiles the same config; none can fail or differ.
    let (one, two) = (Classifier::compile(&config), Classifier::compile(&config));
    assert_eq!(pool_of(&one, "GET", "h", "/re/7", "", &[]), Some(0));
    assert_eq!(pool_of(&two, "GET", "h", "/re/7", "", &[]), Some(0));
    assert_eq!(pool_of(&two, "GET", "h", "/re/x", "", &[]), None);
}

#[test]
fn tls_and_sni_conditions() {
    let routes = route("sni", "a", "sni = \"*.media.test\"") + &route("tls", "b", "tls = true");
    let c = classifier(&routes, true);
    let view = |tls: bool, sni: &'static [u8]| RequestView {
        method: b"GET",
        host: b"h",
        path: b"/",
        query: b"",
        headers: &[],
        has_range: false,
        tls,
        sni,
    };
    let pool = |tls, sni| c.classify(&view(tls, sni)).map(|x| x.pool);
    assert_eq!(pool(true, b"x.media.test"), Some(0));
    assert_eq!(pool(true, b"X.MEDIA.test"), Some(0), "case-insensitive");
    assert_eq!(
        pool(true, b"media.test"),
        Some(1),
        "the wildcard needs a label"
    );
    assert_eq!(pool(true, b""), Some(1));
    assert_eq!(pool(false, b""), Some(2), "plain: neither");
    let c = classifier(&route("plain", "a", "tls = false"), true);
    assert_eq!(c.classify(&view(false, b"")).map(|x| x.pool), Some(0));
    assert_eq!(c.classify(&view(true, b"")).map(|x| x.pool), Some(2));
}
