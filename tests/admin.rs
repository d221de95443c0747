//! The admin API through the real binaries (SPEC §6): auth, every endpoint, 404s,
//! validation errors by key path, a config PUT under load, Prometheus text.
#![allow(clippy::disallowed_methods)] // tests block and sleep freely

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::client::{Conn, Response, get, request};
use common::{Origins, Sluice, server_section};

const TOKEN: &str = "s3cret-token";

fn admin_call(s: &Sluice, method: &str, path: &str, token: Option<&str>, body: &str) -> Response {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    request(
        s.admin,
        &format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

fn config(o: &Origins, extra_routes: &str) -> String {
    server_section(1).replace(
        "[admin]\nlisten = \"127.0.0.1:0\"\n",
        &format!("[admin]\nlisten = \"127.0.0.1:0\"\ntoken = \"{TOKEN}\"\n"),
    ) + &format!(
        "[[pool]]\nname = \"api\"\nservers = [\"{}\", \"{}\"]\n[[pool]]\nname = \"live\"\nservers = [\"{}\"]\n[[route]]\nname = \"api\"\npool = \"api\"\n[route.match]\npath_prefix = \"/api/\"\n{extra_routes}[default]\npool = \"api\"\n",
        o.addr("a1"),
        o.addr("a2"),
        o.addr("l1")
    )
}

fn start() -> (Origins, Sluice) {
    let o = Origins::start(&[
        "api=127.0.0.1:0,name=a1",
        "api=127.0.0.1:0,name=a2",
        "api=127.0.0.1:0,name=l1",
    ]);
    let s = Sluice::start(&config(&o, ""));
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
    let bad = config(
        &o,
        "[[route]]\nname = \"vod\"\npool = \"vodd\"\n[route.match]\npath_prefix = \"vod\"\n",
    );
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
        &config(&o, ""),
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
    let start = Instant::now();
    std::thread::sleep(Duration::from_millis(1500));
    let new = config(
        &o,
        "[[route]]\nname = \"live\"\npool = \"live\"\n[route.match]\npath_prefix = \"/live/\"\n",
    );
    let r = admin_call(&s, "PUT", "/api/v1/config", Some(TOKEN), &new);
    assert_eq!((r.status, r.text().as_str()), (200, "{\"generation\":2}"));
    while start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(100));
    }
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
        config(&o, ""),
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
