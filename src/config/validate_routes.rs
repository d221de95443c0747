//! Checks of `[[route]]` entries and their `[route.match]` conditions.

use super::validate::{Errors, entry};
use super::*;

pub(super) fn check_routes(routes: &[RawRoute], pools: &[&str], e: &mut Errors) -> Vec<Route> {
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
        check_match(&format!("{at}.match"), &r.matcher, e);
        if let Some(pool) = pool {
            out.push(Route {
                name: r.name.clone(),
                pool,
                matcher: r.matcher.clone(),
            });
        }
    }
    out
}

fn check_match(at: &str, m: &RawMatch, e: &mut Errors) {
    if let Some(p) = &m.preset
        && !["hls", "dash", "media_segment", "range_download"].contains(&p.as_str())
    {
        e.push(
            format!("{at}.preset"),
            format!("{p:?} is not one of hls, dash, media_segment, range_download"),
        );
    }
    if let Some(h) = &m.host {
        let rest = h.strip_prefix("*.").unwrap_or(h);
        if rest.is_empty() || rest.contains('*') || rest.contains(':') || rest.contains('/') {
            e.push(
                format!("{at}.host"),
                format!("{h:?} must be an exact host or a leading wildcard like \"*.example.com\""),
            );
        }
    }
    for (key, v) in [
        ("path_prefix", &m.path_prefix),
        ("path_exact", &m.path_exact),
    ] {
        if let Some(v) = v
            && !v.starts_with('/')
        {
            e.push(format!("{at}.{key}"), format!("{v:?} must start with /"));
        }
    }
    if let Some(s) = &m.path_suffix {
        for (j, v) in s.as_slice().iter().enumerate() {
            if v.is_empty() {
                e.push(format!("{at}.path_suffix[{j}]"), "must not be empty");
            }
        }
    }
    if let Some(r) = &m.path_regex {
        e.regex(&format!("{at}.path_regex"), r);
    }
    if let Some(r) = &m.user_agent {
        e.regex(&format!("{at}.user_agent"), r);
    }
    if let Some(methods) = &m.methods {
        if methods.is_empty() {
            e.push(format!("{at}.methods"), "must list at least one method");
        }
        for (j, meth) in methods.iter().enumerate() {
            if meth.is_empty()
                || !meth
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
            {
                e.push(
                    format!("{at}.methods[{j}]"),
                    format!("{meth:?} is not an HTTP method token"),
                );
            }
        }
    }
    for (key, kvs) in [
        ("header", &m.header),
        ("cookie", &m.cookie),
        ("query", &m.query),
    ] {
        let Some(kvs) = kvs else { continue };
        let list = kvs.as_slice();
        for (j, kv) in list.iter().enumerate() {
            let p = if matches!(kvs, OneOrMany::Many(_)) {
                format!("{at}.{key}[{j}]")
            } else {
                format!("{at}.{key}")
            };
            if kv.name.is_empty() {
                e.push(format!("{p}.name"), "must not be empty");
            }
            let given = usize::from(kv.value.is_some())
                + usize::from(kv.regex.is_some())
                + usize::from(kv.present.is_some());
            if given != 1 {
                e.push(&p, "give exactly one of value, regex, present");
            }
            if kv.present == Some(false) {
                e.push(
                    format!("{p}.present"),
                    "only `present = true` is meaningful",
                );
            }
            if let Some(r) = &kv.regex {
                e.regex(&format!("{p}.regex"), r);
            }
        }
    }
}
