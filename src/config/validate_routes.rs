//! Checks of `[[route]]` entries, building each `[route.match]` into a typed `Match`
//! (presets, host patterns, compiled regexes) the router uses as it is.

use super::bounds::MAX_ROUTES;
use super::errors::{Errors, entry};
use super::matcher::{FieldMatch, HostPattern, Match, Preset, ValueTest};
use super::schema::{OneOrMany, RawKv, RawMatch, RawRoute};
use super::types::Route;

pub(super) fn check_routes(routes: &[RawRoute], pools: &[&str], e: &mut Errors) -> Vec<Route> {
    if routes.len() > MAX_ROUTES {
        e.push(
            "route",
            format!("{} routes, above the most ({MAX_ROUTES})", routes.len()),
        );
    }
    let mut out = Vec::new();
    for (i, r) in routes.iter().enumerate() {
        let at = entry("route", i, &r.name);
        if r.name.is_empty() {
            e.push(format!("{at}.name"), "must not be empty");
        } else if routes[..i].iter().any(|o| o.name == r.name) {
            e.push(
                format!("{at}.name"),
                format!("duplicate route name {:?}", r.name),
            );
        }
        let pool = pools.iter().position(|p| *p == r.pool);
        if pool.is_none() {
            e.push(format!("{at}.pool"), format!("no pool named {:?}", r.pool));
        }
        let matcher = check_match(&format!("{at}.match"), &r.matcher, e);
        if let Some(pool) = pool {
            out.push(Route {
                name: r.name.clone(),
                pool,
                matcher,
            });
        }
    }
    out
}

/// Build `m`; conditions with errors are left out (the config is refused anyway).
fn check_match(at: &str, m: &RawMatch, e: &mut Errors) -> Match {
    let (headers, cookies, queries) = (
        fields(at, "header", &m.header, e),
        fields(at, "cookie", &m.cookie, e),
        fields(at, "query", &m.query, e),
    );
    Match {
        preset: m.preset.as_deref().and_then(|p| preset(at, p, e)),
        host: m.host.as_deref().and_then(|h| host(at, h, e)),
        path_prefix: m
            .path_prefix
            .as_deref()
            .and_then(|p| path(at, "path_prefix", p, e)),
        path_exact: m
            .path_exact
            .as_deref()
            .and_then(|p| path(at, "path_exact", p, e)),
        path_suffix: m
            .path_suffix
            .as_ref()
            .map_or_else(Vec::new, |s| suffixes(at, s.as_slice(), e)),
        path_regex: m
            .path_regex
            .as_deref()
            .and_then(|r| e.regex(&format!("{at}.path_regex"), r)),
        methods: m
            .methods
            .as_deref()
            .map_or_else(Vec::new, |ms| methods(at, ms, e)),
        headers,
        cookies,
        queries,
        user_agent: m
            .user_agent
            .as_deref()
            .and_then(|r| e.regex(&format!("{at}.user_agent"), r)),
        tls: m.tls,
        sni: m.sni.as_deref().and_then(|h| sni(at, h, e)),
    }
}

fn sni(at: &str, h: &str, e: &mut Errors) -> Option<HostPattern> {
    let found = HostPattern::parse(h);
    if found.is_none() {
        e.push(
            format!("{at}.sni"),
            format!("{h:?} must be an exact name or a leading wildcard like \"*.example.com\""),
        );
    }
    found
}

fn preset(at: &str, p: &str, e: &mut Errors) -> Option<Preset> {
    let found = Preset::from_name(p);
    if found.is_none() {
        let names: Vec<&str> = Preset::ALL.iter().map(|p| p.as_str()).collect();
        e.push(
            format!("{at}.preset"),
            format!("{p:?} is not one of {}", names.join(", ")),
        );
    }
    found
}

fn host(at: &str, h: &str, e: &mut Errors) -> Option<HostPattern> {
    let found = HostPattern::parse(h);
    if found.is_none() {
        e.push(
            format!("{at}.host"),
            format!("{h:?} must be an exact host or a leading wildcard like \"*.example.com\""),
        );
    }
    found
}

fn path(at: &str, key: &str, p: &str, e: &mut Errors) -> Option<String> {
    if !p.starts_with('/') {
        e.push(format!("{at}.{key}"), format!("{p:?} must start with /"));
        return None;
    }
    Some(p.to_string())
}

fn suffixes(at: &str, list: &[String], e: &mut Errors) -> Vec<String> {
    for (j, v) in list.iter().enumerate() {
        if v.is_empty() {
            e.push(format!("{at}.path_suffix[{j}]"), "must not be empty");
        }
    }
    list.iter().filter(|v| !v.is_empty()).cloned().collect()
}

fn methods(at: &str, list: &[String], e: &mut Errors) -> Vec<String> {
    if list.is_empty() {
        e.push(format!("{at}.methods"), "must list at least one method");
    }
    let token = |m: &str| {
        !m.is_empty()
            && m.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    for (j, m) in list.iter().enumerate() {
        if !token(m) {
            e.push(
                format!("{at}.methods[{j}]"),
                format!("{m:?} is not an HTTP method token"),
            );
        }
    }
    list.to_vec()
}

/// The `header`, `cookie` or `query` tables (`key`) of one match.
fn fields(at: &str, key: &str, kvs: &Option<OneOrMany<RawKv>>, e: &mut Errors) -> Vec<FieldMatch> {
    let Some(kvs) = kvs else {
        return Vec::new();
    };
    let many = matches!(kvs, OneOrMany::Many(_));
    let mut out = Vec::new();
    for (j, kv) in kvs.as_slice().iter().enumerate() {
        let p = if many {
            format!("{at}.{key}[{j}]")
        } else {
            format!("{at}.{key}")
        };
        if let Some(test) = value_test(&p, kv, e) {
            let name = match key {
                "header" => kv.name.to_ascii_lowercase(),
                _ => kv.name.clone(),
            };
            out.push(FieldMatch { name, test });
        }
    }
    out
}

/// One `{ name, value | regex | present }` table at `p`.
fn value_test(p: &str, kv: &RawKv, e: &mut Errors) -> Option<ValueTest> {
    if kv.name.is_empty() {
        e.push(format!("{p}.name"), "must not be empty");
    }
    if kv.present == Some(false) {
        e.push(
            format!("{p}.present"),
            "only `present = true` is meaningful",
        );
    }
    match (&kv.value, &kv.regex, kv.present) {
        (Some(v), None, None) => Some(ValueTest::Exact(v.clone())),
        (None, Some(r), None) => e.regex(&format!("{p}.regex"), r).map(ValueTest::Regex),
        (None, None, Some(_)) => Some(ValueTest::Present),
        _ => {
            e.push(p, "give exactly one of value, regex, present");
            // Still report a bad regex given beside another test.
            if let Some(r) = &kv.regex {
                e.regex(&format!("{p}.regex"), r);
            }
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn built(m: &str) -> (Match, Vec<String>) {
        let raw: RawMatch = toml::from_str(m).expect("toml");
        let mut e = Errors::default();
        let built = check_match("m", &raw, &mut e);
        (built, e.0.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn a_valid_match_is_built_typed() {
        let (m, errs) = built(
            "preset = \"range_download\"\nhost = \"*.Cdn.Example\"\npath_prefix = \"/v/\"\n\
             path_suffix = [\".mp4\", \".mkv\"]\npath_regex = \"^/v/[0-9]+\"\nmethods = [\"GET\"]\n\
             header = { name = \"X-Tier\", regex = \"^gold\" }\n\
             cookie = [{ name = \"Plan\", value = \"p\" }, { name = \"s\", present = true }]\n\
             user_agent = \"(?i)exo\"",
        );
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(m.preset, Some(Preset::RangeDownload));
        assert_eq!(m.host, Some(HostPattern::Wildcard(".cdn.example".into())));
        assert_eq!(m.path_suffix, [".mp4", ".mkv"]);
        assert!(m.path_regex.as_ref().is_some_and(|r| r.is_match(b"/v/12")));
        assert_eq!(m.headers[0].name, "x-tier", "header names lower-cased");
        assert!(matches!(&m.headers[0].test, ValueTest::Regex(r) if r.is_match(b"golden")));
        assert_eq!(m.cookies[0].name, "Plan", "cookie names kept as written");
        assert!(matches!(m.cookies[1].test, ValueTest::Present));
        assert!(m.user_agent.is_some() && m.queries.is_empty());
    }

    #[test]
    fn every_bad_condition_is_reported_with_its_path() {
        let (m, errs) = built(
            "preset = \"mp3\"\nhost = \"a.*.com\"\npath_exact = \"x\"\npath_suffix = [\"\"]\n\
             methods = []\nquery = { name = \"\", value = \"1\", regex = \"([\" }\n\
             header = { name = \"h\", present = false }\nuser_agent = \"(\"",
        );
        for want in [
            "m.preset: \"mp3\" is not one of hls, dash, media_segment, range_download",
            "m.host: \"a.*.com\"",
            "m.path_exact: \"x\" must start with /",
            "m.path_suffix[0]: must not be empty",
            "m.methods: must list at least one method",
            "m.query.name: must not be empty",
            "m.query: give exactly one of value, regex, present",
            "m.query.regex: \"([\" is not a valid regex",
            "m.header.present: only `present = true`",
            "m.user_agent: \"(\" is not a valid regex",
        ] {
            assert!(
                errs.iter().any(|e| e.starts_with(want)),
                "missing {want:?} in {errs:#?}"
            );
        }
        assert!(m.preset.is_none() && m.host.is_none() && m.queries.is_empty());
    }
}
