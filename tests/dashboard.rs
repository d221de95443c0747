//! The dashboard in a real browser (headless Chromium driven by Selenium): enter the
//! token, see the pools, click drain; the server's state changes in the API. The
//! screenshot is kept at `target/dashboard.png`.
#![allow(clippy::disallowed_methods)] // tests block and sleep freely

mod common;

use std::process::Command;

use common::client::{get, request};
use common::{Origins, Sluice, TempDir, server_section};

#[test]
fn drain_from_the_dashboard_changes_the_server_state() {
    let o = Origins::start(&["api=127.0.0.1:0,name=a1", "api=127.0.0.1:0,name=a2"]);
    let config = server_section(1).replace(
        "[admin]\nlisten = \"127.0.0.1:0\"\n",
        "[admin]\nlisten = \"127.0.0.1:0\"\ntoken = \"browser-token\"\n",
    ) + &format!(
        "[[pool]]\nname = \"api\"\nservers = [\"{}\", \"{}\"]\n[default]\npool = \"api\"\n",
        o.addr("a1"),
        o.addr("a2")
    );
    let s = Sluice::start(&config);
    for _ in 0..20 {
        get(s.addr, "/warm");
    }
    let shot = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/dashboard.png");
    let profile = TempDir::new();
    let out = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/browser/dashboard.py"
        ))
        .arg(format!("http://{}", s.admin))
        .arg("browser-token")
        .arg("api")
        .arg(o.addr("a2").to_string())
        .arg(&shot)
        .arg(&profile.0)
        .output()
        .expect("run the browser driver");
    assert!(
        out.status.success(),
        "browser run failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let status = request(s.admin, "GET /api/v1/status HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer browser-token\r\nConnection: close\r\n\r\n").text();
    assert!(
        status.contains(&format!(
            "\"addr\":\"{}\",\"weight\":1,\"state\":\"draining\"",
            o.addr("a2")
        )),
        "{status}"
    );
    assert!(
        std::fs::metadata(&shot)
            .map(|m| m.len() > 1000)
            .unwrap_or(false),
        "no screenshot"
    );
}
