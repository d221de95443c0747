//! The admin API through the real binaries (SPEC §6): auth, every endpoint, 404s,
//! validation errors by key path, a config PUT under load, Prometheus text.
#![allow(clippy::disallowed_methods)] // tests block and sleep freely

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use common::client::{Conn, Response, get};
use common::config::SluiceConfig;
use common::{Origins, Sluice, bearer, wait_until};

const TOKEN: &str = "s3cret-token";

/// An admin call with the right token (`Some(TOKEN)`), a wrong one, or none.
fn admin_call(s: &Sluice, method: &str, path: &str, token: Option<&str>, body: &str) -> Response {
    s.admin(method, path, &token.map(bearer).unwrap_or_default(), body)
}

/// Pools `api` (a1, a2) and `live` (l1), a route `/api/` → `api`, then the routes
/// `extra_routes` adds, and `api` as the default.
fn config(o: &Origins, extra_routes: impl FnOnce(SluiceConfig) -> SluiceConfig) -> String {
    let c = Sluice::builder()
        .token(TOKEN)
        .pool("api", |p| p.server(o.addr("a1")).server(o.addr("a2")))
        .pool("live", |p| p.server(o.addr("l1")))
        .route("api", "api", |m| m.path_prefix("/api/"));
    extra_routes(c).default_pool("api").toml()
}

fn start() -> (Origins, Sluice) {
    let o = Origins::start(&[
        "api=127.0.0.1:0,name=a1",
        "api=127.0.0.1:0,name=a2",
        "api=127.0.0.1:0,name=l1",
    ]);
    let s = Sluice::start(&config(&o, |c| c));
    (o, s)
}

#[test]
fn healthz_is_open_and_everything_else_needs_the_token() {
    let (_o, s) = start();
    assert_eq!(admin_call(&s, "GET", "/healthz", None, "").status, 200);
    for (m, p) in [
        ("GET", "/api/v1/status"),
        ("GET", "/metrics"),
        ("GET", "/api/v1/config"),
        ("POST", "/api/v1/config/validate"),
        ("PUT", "/api/v1/config"),
        ("POST", "/api/v1/pools/api/servers/127.0.0.1:1/drain"),
    ] {
        assert_eq!(
            admin_call(&s, m, p, None, "").status,
            401,
            "{m} {p} without token"
        );
        assert_eq!(
            admin_call(&s, m, p, Some("wrong"), "").status,
            401,
            "{m} {p} wrong token"
        );
    }
    // The dashboard shell loads without the token (it asks for it) and holds no data.
    let page = admin_call(&s, "GET", "/", None, "");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("<title>sluice"));
    assert!(
        !page.text().contains("http://") && !page.text().contains("https://"),
        "dashboard must be self-contained"
    );
}

#[test]
fn status_shape_and_counters() {
    let (o, s) = start();
    for _ in 0..10 {
        assert_eq!(get(s.addr, "/api/x").status, 200);
    }
    let st = admin_call(&s, "GET", "/api/v1/status", Some(TOKEN), "").text();
    for key in [
        "\"version\"",
        "\"uptime_s\"",
        "\"workers\":1",
        "\"generation\":1",
        "\"pools\"",
        "\"balance\":\"round_robin\"",
        "\"servers\"",
        "\"state\":\"up\"",
        "\"in_flight\"",
        "\"requests\"",
        "\"errors\"",
        "\"last_check\"",
        "\"routes\"",
        "\"p50_ms\"",
        "\"p99_ms\"",
    ] {
        assert!(st.contains(key), "{key} missing in {st}");
    }
    assert!(
        st.contains("{\"name\":\"api\",\"pool\":\"api\",\"requests\":10,\"errors\":0"),
        "{st}"
    );
    assert!(st.contains(&format!("\"addr\":\"{}\"", o.addr("a1"))));
}

#[test]
fn drain_disable_enable_and_404s() {
    let (o, s) = start();
    let a1 = o.addr("a1");
    let base = format!("/api/v1/pools/api/servers/{a1}");
    assert_eq!(
        admin_call(&s, "POST", &format!("{base}/drain"), Some(TOKEN), "").status,
        200
    );
    let st = admin_call(&s, "GET", "/api/v1/status", Some(TOKEN), "").text();
    assert!(
        st.contains(&format!(
            "\"addr\":\"{a1}\",\"weight\":1,\"state\":\"draining\""
        )),
        "{st}"
    );
    for _ in 0..6 {
        assert_eq!(get(s.addr, "/api/x").header("x-origin"), Some("a2"));
    }
    assert_eq!(
        admin_call(&s, "POST", &format!("{base}/disable"), Some(TOKEN), "").status,
        200
    );
    assert!(
        admin_call(&s, "GET", "/api/v1/status", Some(TOKEN), "")
            .text()
            .contains("\"state\":\"disabled\"")
    );
    assert_eq!(
        admin_call(&s, "POST", &format!("{base}/enable"), Some(TOKEN), "").status,
        200
    );
    let seen: std::collections::HashSet<String> = (0..6)
        .map(|_| {
            get(s.addr, "/api/x")
                .header("x-origin")
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert!(seen.contains("a1"), "{seen:?}");
    assert_eq!(
        admin_call(
            &s,
            "POST",
            &format!("/api/v1/pools/nope/servers/{a1}/drain"),
            Some(TOKEN),
            ""
        )
        .status,
        404
    );
    assert_eq!(
        admin_call(
            &s,
            "POST",
            "/api/v1/pools/api/servers/127.0.0.1:1/drain",
            Some(TOKEN),
            ""
        )
        .status,
        404
    );
    assert_eq!(
        admin_call(
            &s,
            "POST",
            "/api/v1/pools/api/servers/garbage/drain",
            Some(TOKEN),
            ""
        )
        .status,
        404
    );
}

#[test]
fn validate_reports_errors_by_key_path() {
    let (o, s) = start();
    let bad = config(&o, |c| c.route("vod", "vodd", |m| m.path_prefix("vod")));
    let r = admin_call(&s, "POST", "/api/v1/config/validate", Some(TOKEN), &bad);
    assert_eq!(r.status, 400);
    let t = r.text();
    assert!(
        t.contains("route[1] (\\\"vod\\\").pool: no pool named \\\"vodd\\\""),
        "{t}"
    );
    assert!(
        t.contains("route[1] (\\\"vod\\\").match.path_prefix"),
        "{t}"
    );
    let good = admin_call(
        &s,
        "POST",
        "/api/v1/config/validate",
        Some(TOKEN),
        &config(&o, |c| c),
    );
    assert_eq!(good.status, 200);
    // GET returns the running config, which validates.
    let running = admin_call(&s, "GET", "/api/v1/config", Some(TOKEN), "").text();
    assert!(running.contains("[[pool]]"));
    assert_eq!(
        admin_call(&s, "POST", "/api/v1/config/validate", Some(TOKEN), &running).status,
        200
    );
    // A bad PUT changes nothing.
    assert_eq!(
        admin_call(&s, "PUT", "/api/v1/config", Some(TOKEN), &bad).status,
        400
    );
    assert!(
        admin_call(&s, "GET", "/api/v1/status", Some(TOKEN), "")
            .text()
            .contains("\"generation\":1")
    );
}

#[test]
fn config_put_under_load_drops_nothing_and_persists() {
    let (o, s) = start();
    let addr: SocketAddr = s.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let loops: Vec<_> = (0..4)
        .map(|_| {
            let (stop, failures, done) =
                (Arc::clone(&stop), Arc::clone(&failures), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut c = Conn::open(addr);
                while !stop.load(Ordering::Relaxed) {
                    c.send(b"GET /api/loop HTTP/1.1\r\nHost: t\r\n\r\n");
                    match c.read_response(false) {
                        Some(r) if r.status == 200 => done.fetch_add(1, Ordering::Relaxed),
                        _ => {
                            failures.fetch_add(1, Ordering::Relaxed);
                            c = Conn::open(addr);
                            0
                        }
                    };
                }
            })
        })
        .collect();
    // The load is under way (once 1.5 s of it; now 100 answers), then the PUT.
    let load = Duration::from_secs(10);
    wait_until(load, "100 answers under load", || {
        done.load(Ordering::Relaxed) >= 100
    });
    let new = config(&o, |c| c.route("live", "live", |m| m.path_prefix("/live/")));
    let r = admin_call(&s, "PUT", "/api/v1/config", Some(TOKEN), &new);
    assert_eq!((r.status, r.text().as_str()), (200, "{\"generation\":2}"));
    // The loops keep going while the worker swaps generations (once a fixed 3.5 s):
    // until the new route answers, and for 100 answers after that.
    wait_until(load, "the new route is live", || {
        get(s.addr, "/live/x").header("x-origin") == Some("l1")
    });
    let swapped = done.load(Ordering::Relaxed);
    wait_until(load, "100 answers after the swap", || {
        done.load(Ordering::Relaxed) >= swapped + 100
    });
    stop.store(true, Ordering::Relaxed);
    for l in loops {
        l.join().expect("loop");
    }
    assert_eq!(
        failures.load(Ordering::Relaxed),
        0,
        "requests failed during the config PUT"
    );
    assert!(done.load(Ordering::Relaxed) > 100);
    assert_eq!(
        get(s.addr, "/live/x").header("x-origin"),
        Some("l1"),
        "new route not live"
    );
    assert_eq!(
        std::fs::read_to_string(&s.config_path).unwrap(),
        new,
        "config file not updated"
    );
    let bak = s.config_path.with_file_name("config.toml.bak");
    assert_eq!(
        std::fs::read_to_string(bak).unwrap(),
        config(&o, |c| c),
        ".bak must keep the previous file"
    );
}

#[test]
fn metrics_parse_as_prometheus_text() {
    let (_o, s) = start();
    for _ in 0..5 {
        get(s.addr, "/api/m");
    }
    get(s.addr, "/nothing-here-but-default");
    let text = admin_call(&s, "GET", "/metrics", Some(TOKEN), "").text();
    for name in [
        "sluice_requests_total{",
        "sluice_request_duration_seconds_bucket{",
        "sluice_bytes_total{",
        "sluice_in_flight{",
        "sluice_server_up{",
        "sluice_upstream_errors_total{",
    ] {
        assert!(text.contains(name), "{name} missing:\n{text}");
    }
    let path = s.dir.0.join("metrics.txt");
    std::fs::write(&path, &text).unwrap();
    let check = Command::new("python3")
        .arg("-c")
        .arg("import sys\nfrom prometheus_client.parser import text_string_to_metric_families\nfams = list(text_string_to_metric_families(open(sys.argv[1]).read()))\nnames = {f.name for f in fams}\nassert 'sluice_requests' in names, names\nreq = [s for f in fams if f.name == 'sluice_requests' for s in f.samples]\nassert sum(s.value for s in req) >= 6, req\nprint(len(fams))")
        .arg(&path)
        .output()
        .expect("python3");
    assert!(
        check.status.success(),
        "prometheus_client rejected the text: {}",
        String::from_utf8_lossy(&check.stderr)
    );
}
