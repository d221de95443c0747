//! The dashboard in a real browser (headless Chromium driven by Selenium): enter the
//! token, see the pools, click drain; the server's state changes in the API. The
//! screenshot is kept at `target/dashboard.png` (`target/dashboard-abi.png` for the
//! pool named `a'b<i>`).
#![allow(clippy::disallowed_methods)] // tests block and sleep freely

mod common;

use std::process::Command;

use common::client::get;
use common::{Origins, Sluice, TempDir, bearer};

#[test]
fn drain_from_the_dashboard_changes_the_server_state() {
    drain_in_browser("api");
}

/// Issue 10 item 8: a pool named with a quote and markup shows as text, and its
/// drain button (once an inline `onclick='…'` the quote broke) still works.
#[test]
fn item8_dashboard_shows_a_hostile_pool_name_as_text() {
    drain_in_browser("a'b<i>");
}

fn drain_in_browser(pool: &str) {
    let o = Origins::start(&["api=127.0.0.1:0,name=a1", "api=127.0.0.1:0,name=a2"]);
    let s = Sluice::builder()
        .token("browser-token")
        .pool(pool, |p| p.server(o.addr("a1")).server(o.addr("a2")))
        .default_pool(pool)
        .start();
    for _ in 0..20 {
        get(s.addr, "/warm");
    }
    let file = match pool {
        "api" => "dashboard.png".to_string(),
        other => {
            let name: String = other.chars().filter(char::is_ascii_alphanumeric).collect();
            format!("dashboard-{name}.png")
        }
    };
    let shot = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(file);
    let profile = TempDir::new();
    let out = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/browser/dashboard.py"
        ))
        .arg(format!("http://{}", s.admin))
        .arg("browser-token")
        .arg(pool)
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
    let status = s
        .admin_as(
            "localhost",
            "GET",
            "/api/v1/status",
            &bearer("browser-token"),
            "",
        )
        .text();
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
