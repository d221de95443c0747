//! The JSON access log (SPEC §7) through the real binaries.
#![allow(clippy::disallowed_methods)] // tests block and sleep freely

mod common;

use std::time::Duration;

use common::client::get;
use common::{Origins, Sluice, TempDir, server_section};

#[test]
fn one_json_line_per_request_with_every_field() {
    let o = Origins::start(&["api=127.0.0.1:0,name=a"]);
    let dir = TempDir::new();
    let log = dir.0.join("access.log");
    let config = server_section(1).replace(
        "[admin]",
        &format!("[log]\naccess = \"{}\"\n[admin]", log.display()),
    ) + &format!(
        "[[pool]]\nname = \"api\"\nservers = [\"{}\"]\n[[route]]\nname = \"api\"\npool = \"api\"\n[route.match]\npath_prefix = \"/api/\"\n",
        o.addr("a")
    );
    let s = Sluice::start(&config);
    assert_eq!(get(s.addr, "/api/one").status, 200);
    assert_eq!(get(s.addr, "/nowhere").status, 404);
    std::thread::sleep(Duration::from_millis(600));
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    for key in [
        "\"time\":\"20",
        "\"client\":\"127.0.0.1\"",
        "\"method\":\"GET\"",
        "\"path\":\"/api/one\"",
        "\"route\":\"api\"",
        "\"pool\":\"api\"",
        "\"server\":\"127.0.0.1:",
        "\"status\":200",
        "\"bytes_in\":0",
        "\"bytes_out\":",
        "\"duration_us\":",
    ] {
        assert!(lines[0].contains(key), "{key} missing in {}", lines[0]);
    }
    assert!(
        lines[1].contains("\"status\":404") && lines[1].contains("\"route\":null"),
        "{}",
        lines[1]
    );
}
