//! Issue 10, round 2 of hardening: the admin server (item 8) and the control plane
//! (two sub-items of 10), through the real binaries with exact bytes on loopback.
//! Each test is named after its item. The slot guard (item 8, "released by a drop
//! guard") is shown beside the code: `admin::slots::tests`.
#![allow(clippy::disallowed_methods)] // tests block and sleep freely

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::{Duration, Instant};

use common::client::{get, request};
use common::config::SluiceConfig;
use common::{Origins, Sluice, TempDir, check, wait_until};

/// One pool `api` (origins a1, a2, the default) and one `live` (l1); no route to
/// `live` yet.
fn base_config(o: &Origins, token: Option<&str>) -> SluiceConfig {
    let c = Sluice::builder()
        .pool("api", |p| p.server(o.addr("a1")).server(o.addr("a2")))
        .pool("live", |p| p.server(o.addr("l1")))
        .default_pool("api");
    match token {
        Some(t) => c.token(t),
        None => c,
    }
}

fn base(o: &Origins, token: Option<&str>) -> String {
    base_config(o, token).toml()
}

/// `base` plus a route `/live/` → `live` named `name`.
fn with_live_route(o: &Origins, token: Option<&str>, name: &str) -> String {
    base_config(o, token)
        .route(name, "live", |m| m.path_prefix("/live/"))
        .toml()
}

fn origins() -> Origins {
    Origins::start(&[
        "api=127.0.0.1:0,name=a1",
        "api=127.0.0.1:0,name=a2",
        "api=127.0.0.1:0,name=l1",
    ])
}

fn generation(s: &Sluice) -> String {
    let st = s.status("");
    let at = st.find("\"generation\":").expect("generation in status") + 13;
    st[at..].split(',').next().unwrap_or_default().to_string()
}

#[test]
fn item8_foreign_host_is_403_even_without_token() {
    let o = origins();
    let s = Sluice::start(&base(&o, None));
    let port = s.admin.port();
    for host in [
        "evil.example",
        &format!("evil.example:{port}"),
        "127.0.0.2",
        "localhost.evil.example",
    ] {
        let r = s.admin_as(host, "GET", "/api/v1/config", "", "");
        assert_eq!(r.status, 403, "Host {host}: {}", r.text());
        assert!(
            !r.text().contains("[[pool]]"),
            "config leaked to Host {host}"
        );
    }
    for host in [
        format!("127.0.0.1:{port}"),
        "localhost".into(),
        "[::1]:1".into(),
    ] {
        assert_eq!(
            s.admin_as(&host, "GET", "/api/v1/config", "", "").status,
            200,
            "{host}"
        );
    }
    // Readiness probes are never refused for their Host (documented exemption).
    assert_eq!(
        s.admin_as("10.1.2.3:9901", "GET", "/healthz", "", "")
            .status,
        200
    );
    // admin.allowed_hosts adds names, with any port.
    let s2 = base_config(&o, None)
        .admin(|a| a.allowed_hosts(&["sluice-admin.internal"]))
        .start();
    let r = s2.admin_as(
        "sluice-admin.internal:8080",
        "GET",
        "/api/v1/config",
        "",
        "",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        s2.admin_as("other.internal", "GET", "/api/v1/config", "", "")
            .status,
        403
    );
}

#[test]
fn item8_cross_site_origin_is_403() {
    let o = origins();
    let s = Sluice::start(&base(&o, Some("tok")));
    let auth = "Authorization: Bearer tok\r\n";
    let drain = format!("/api/v1/pools/api/servers/{}/drain", o.addr("a1"));
    let own = format!("127.0.0.1:{}", s.admin.port());
    for bad in [
        format!("{auth}Origin: http://evil.example\r\n"),
        format!("{auth}Origin: null\r\n"),
        format!("{auth}Origin: http://localhost:3000\r\n"),
        format!("{auth}Sec-Fetch-Site: cross-site\r\n"),
    ] {
        assert_eq!(
            s.admin_as(&own, "POST", &drain, &bad, "").status,
            403,
            "{bad:?}"
        );
        let put = s.admin_as(&own, "PUT", "/api/v1/config", &bad, &base(&o, Some("tok")));
        assert_eq!(put.status, 403, "{bad:?}");
    }
    let st = s.admin_as(&own, "GET", "/api/v1/status", auth, "").text();
    assert!(
        !st.contains("draining") && st.contains("\"generation\":1,"),
        "{st}"
    );
    // The dashboard's own origin is fine.
    let same = format!("{auth}Origin: http://{own}\r\nSec-Fetch-Site: same-origin\r\n");
    assert_eq!(s.admin_as(&own, "POST", &drain, &same, "").status, 200);
}

#[test]
fn item8_chunked_put_is_411_and_nothing_applied() {
    let o = origins();
    let s = Sluice::start(&base(&o, None));
    let before = std::fs::read_to_string(&s.config_path).expect("config");
    let new = with_live_route(&o, None, "live");
    let chunked = format!(
        "PUT /api/v1/config HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{new}\r\n0\r\n\r\n",
        new.len()
    );
    let r = request(s.admin, &chunked);
    assert_eq!(r.status, 411, "{}", r.text());
    // No framing at all on a body endpoint: 411 too.
    let bare = "PUT /api/v1/config HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    assert_eq!(request(s.admin, bare).status, 411);
    let validate = "POST /api/v1/config/validate HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n";
    assert_eq!(request(s.admin, validate).status, 411);
    assert_eq!(generation(&s), "1");
    assert_eq!(
        std::fs::read_to_string(&s.config_path).expect("config"),
        before
    );
    assert_ne!(get(s.addr, "/live/x").header("x-origin"), Some("l1"));
}

#[test]
fn item8_empty_config_is_400() {
    let o = origins();
    let s = Sluice::start(&base(&o, None));
    let before = std::fs::read_to_string(&s.config_path).expect("config");
    for body in ["", "  \n\t\r\n", "# nothing but a comment\n"] {
        for (m, p) in [
            ("PUT", "/api/v1/config"),
            ("POST", "/api/v1/config/validate"),
        ] {
            let r = s.admin(m, p, "", body);
            assert_eq!(r.status, 400, "{m} {p} {body:?}: {}", r.text());
            assert!(r.text().contains("empty config"), "{}", r.text());
        }
    }
    assert_eq!(generation(&s), "1");
    assert_eq!(
        std::fs::read_to_string(&s.config_path).expect("config"),
        before
    );
}

#[test]
fn item8_slowloris_cut_at_5s() {
    let o = origins();
    let s = Sluice::start(&base(&o, None));
    let mut c = TcpStream::connect(s.admin).expect("connect");
    let start = Instant::now();
    c.write_all(b"G").expect("first byte");
    // The scenario: the next byte comes at 4 s.
    std::thread::sleep(Duration::from_secs(4));
    // Still open at 4 s: a per-read timeout would now restart from here.
    c.write_all(b"E").expect("second byte at 4 s");
    c.set_read_timeout(Some(Duration::from_secs(3))).ok();
    let mut got = Vec::new();
    let _ = c.read_to_end(&mut got);
    let cut = start.elapsed();
    assert!(
        cut >= Duration::from_millis(4500) && cut < Duration::from_millis(6000),
        "connection cut after {cut:?} (want 5 s from the first byte)"
    );
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408 "),
        "{text}"
    );
}

/// Threads of process `pid`.
fn threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task")).map_or(0, |d| d.count())
}

#[test]
fn item8_healthz_answers_behind_40_slow_clients() {
    let o = origins();
    let s = Sluice::start(&base(&o, None));
    let pid = s.proc.child.id();
    let before = threads(pid);
    // 20 clients stuck in their head, 20 with a head and a body that never comes.
    let mut slow: Vec<TcpStream> = (0..40)
        .map(|i| {
            let mut c = TcpStream::connect(s.admin).expect("connect");
            let part = if i % 2 == 0 {
                "GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n".to_string()
            } else {
                "PUT /api/v1/config HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 900\r\n\r\n[server]\n".to_string()
            };
            c.write_all(part.as_bytes()).expect("partial request");
            c
        })
        .collect();
    // The scenario: the slow clients have been stuck a while (their being accepted
    // and read by the admin thread is not observable from outside).
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    let r = s.admin("GET", "/healthz", "", "");
    assert_eq!((r.status, r.text().as_str()), (200, "ok\n"));
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "healthz took {:?}",
        t.elapsed()
    );
    // Other endpoints are served too, and slow clients cost no threads.
    assert_eq!(s.admin("GET", "/api/v1/status", "", "").status, 200);
    let during = threads(pid);
    assert!(
        during <= before + 4,
        "threads grew from {before} to {during}"
    );
    for c in &mut slow {
        let _ = c.write_all(b"x");
    }
}

#[test]
fn item8_persisted_config_is_mode_0600() {
    let o = origins();
    let s = Sluice::start(&base(&o, Some("tok")));
    // The operator's file was world-readable; neither the new file nor the backup
    // of the old one may be.
    std::fs::set_permissions(&s.config_path, std::fs::Permissions::from_mode(0o644))
        .expect("chmod");
    let new = with_live_route(&o, Some("tok"), "live");
    let r = s.admin(
        "PUT",
        "/api/v1/config",
        "Authorization: Bearer tok\r\n",
        &new,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    assert_eq!(
        std::fs::read_to_string(&s.config_path).expect("config"),
        new
    );
    assert_eq!(mode(&s.config_path), 0o600, "config.toml");
    let bak = s.config_path.with_file_name("config.toml.bak");
    assert_eq!(mode(&bak), 0o600, "config.toml.bak");
}

#[test]
fn item8_check_warns_without_token() {
    let o = origins();
    let open = check(&base(&o, None));
    let stderr = open.stderr;
    assert_eq!(open.code, 0, "{stderr}");
    assert!(
        stderr.contains("warning") && stderr.contains("admin.token"),
        "{stderr}"
    );
    let closed = check(&base(&o, Some("tok")));
    assert_eq!(closed.code, 0);
    assert!(!closed.stderr.contains("warning"));
}

#[test]
fn item8_dashboard_escapes_names() {
    let o = origins();
    let s = Sluice::start(&base(&o, None));
    let page = s.admin("GET", "/", "", "").text();
    let script = page.split("<script>").nth(1).expect("inline script");
    // Names reach the page only as text: no HTML parsing of data, no inline handlers.
    for sink in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "onclick=",
    ] {
        assert!(!script.contains(sink), "script uses {sink}");
    }
    // Run the page's render() on a status naming a pool `a'b<i>` in a tiny DOM.
    let out = Command::new("node")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/browser/render_names.js"
        ))
        .arg(page_path(&s.dir, &page))
        .output()
        .expect("node");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn page_path(dir: &TempDir, page: &str) -> std::path::PathBuf {
    let p = dir.0.join("dashboard.html");
    std::fs::write(&p, page).expect("write page");
    p
}

/// A config whose routes take a long time to validate and compile (debug build):
/// many regex routes to the `api` pool, plus `marker` as the last route's name.
fn slow_config(o: &Origins, routes: usize, marker: &str) -> String {
    (0..routes)
        .fold(base_config(o, None), |c, i| {
            c.route(&format!("r{i}"), "api", |m| {
                m.path_regex(&format!(r"^/r{i}/(a|b|c)+[0-9]{{2,5}}\.m3u8$"))
            })
        })
        .route(marker, "api", |m| m.path_prefix("/never/"))
        .toml()
}

#[test]
fn item10_sighup_racing_put_keeps_newest() {
    let o = origins();
    // The file holds a config that is slow to parse; the PUT's text is quick.
    let s = Sluice::start(&slow_config(&o, 2000, "old-file"));
    let newest = with_live_route(&o, None, "newest-put");
    // (Before this round the signal handler was installed only after the address
    // line; wait so that on such a build too this test shows the race, not that.)
    std::thread::sleep(Duration::from_millis(300));
    s.proc.signal("HUP");
    // The reload has read the (older) file and is busy parsing it when the PUT comes.
    std::thread::sleep(Duration::from_millis(150));
    let r = s.admin("PUT", "/api/v1/config", "", &newest);
    assert_eq!(r.status, 200, "{}", r.text());
    wait_until(Duration::from_secs(8), "the reload finishes", || {
        s.stderr().contains("config reloaded")
    });
    let running = s.admin("GET", "/api/v1/config", "", "").text();
    assert!(
        running.contains("newest-put") && !running.contains("old-file"),
        "the reload re-applied the older text over the PUT"
    );
    assert_eq!(
        std::fs::read_to_string(&s.config_path).expect("file"),
        newest
    );
    assert_eq!(get(s.addr, "/live/x").header("x-origin"), Some("l1"));
}

#[test]
fn item10_worker_catches_up_missed_generation() {
    let o = origins();
    let s = Sluice::start(&base(&o, None));
    // Generation 2 takes the (single) worker a long while to build; meanwhile the
    // control plane sends it well over a bounded channel's worth of messages.
    let r = s.admin("PUT", "/api/v1/config", "", &slow_config(&o, 2000, "slow"));
    assert_eq!(r.status, 200, "{}", r.text());
    let admin_addr = s.admin;
    let a1 = o.addr("a1");
    let flood: Vec<_> = (0..8)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..25 {
                    let action = if (t + i) % 2 == 0 { "drain" } else { "disable" };
                    let _ = request(
                        admin_addr,
                        &format!("POST /api/v1/pools/api/servers/{a1}/{action} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
                    );
                }
            })
        })
        .collect();
    for f in flood {
        f.join().expect("flood");
    }
    // Generation 3 arrives while the worker is still busy with 2.
    let r = s.admin(
        "PUT",
        "/api/v1/config",
        "",
        &with_live_route(&o, None, "live"),
    );
    assert_eq!((r.status, r.text().as_str()), (200, "{\"generation\":3}"));
    wait_until(
        Duration::from_secs(6),
        "the worker applies generation 3 (routes /live/ to l1)",
        || get(s.addr, "/live/x").header("x-origin") == Some("l1"),
    );
    let st = s.status("");
    assert!(st.contains("\"worker_generations\":[3]"), "{st}");
}
