//! The JSON access log (SPEC §7) through the real binaries.
#![allow(clippy::disallowed_methods)] // tests block and sleep freely

mod common;

use std::path::Path;
use std::time::Duration;

use common::client::{get, request};
use common::config::SluiceConfig;
use common::{Origins, Sluice, TempDir, wait_until};

/// A sluice with its access log in a fresh directory (`access.log` there) and one
/// pool `api` on a real origin; `routing` says how requests reach the pool.
fn logging_sluice(
    routing: impl FnOnce(SluiceConfig) -> SluiceConfig,
) -> (Origins, TempDir, Sluice) {
    let o = Origins::start(&["api=127.0.0.1:0,name=a"]);
    let dir = TempDir::new();
    let config = Sluice::builder()
        .access_log(dir.0.join("access.log").display())
        .pool("api", |p| p.server(o.addr("a")));
    let s = routing(config).start();
    (o, dir, s)
}

/// The log once it holds `n` whole lines (the log thread writes them a moment
/// after the answers went out).
fn log_with_lines(log: &Path, n: usize) -> String {
    let read = || std::fs::read_to_string(log).unwrap_or_default();
    wait_until(
        Duration::from_secs(5),
        "the access log has its lines",
        || {
            let text = read();
            text.ends_with('\n') && text.lines().count() >= n
        },
    );
    read()
}

#[test]
fn one_json_line_per_request_with_every_field() {
    let (_o, dir, s) = logging_sluice(|c| c.route("api", "api", |m| m.path_prefix("/api/")));
    assert_eq!(get(s.addr, "/api/one").status, 200);
    assert_eq!(get(s.addr, "/nowhere").status, 404);
    let text = log_with_lines(&dir.0.join("access.log"), 2);
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

#[test]
fn bytes_out_counts_chunked_and_close_delimited_bodies() {
    let (_o, dir, s) = logging_sluice(|c| c.default_pool("api"));
    for framing in ["length", "chunked", "close"] {
        let r = request(
            s.addr,
            &format!(
                "GET /api/{framing} HTTP/1.1\r\nHost: t\r\nx-origin-framing: {framing}\r\nx-origin-body-size: 5000\r\nConnection: close\r\n\r\n"
            ),
        );
        assert_eq!(r.status, 200);
        assert_eq!(r.body.len(), 5000, "{framing}");
    }
    let text = log_with_lines(&dir.0.join("access.log"), 3);
    let bytes_out = |framing: &str| -> u64 {
        let line = text
            .lines()
            .find(|l| l.contains(&format!("\"path\":\"/api/{framing}\"")))
            .unwrap_or_else(|| panic!("no line for {framing} in {text}"));
        let at = line.find("\"bytes_out\":").expect("bytes_out") + "\"bytes_out\":".len();
        line[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .expect("a number")
    };
    assert_eq!(bytes_out("length"), 5000);
    assert_eq!(bytes_out("close"), 5000);
    // Relayed as is: the chunk framing is part of what went out.
    let chunked = bytes_out("chunked");
    assert!(chunked > 5000 && chunked < 5200, "{chunked}");
}

/// A request refused before it was read whole (431, 408) is logged with its own
/// (empty) method and path, never the previous request's on the same connection.
#[test]
fn a_refused_request_is_not_logged_with_the_previous_requests_path() {
    let (_o, dir, s) =
        logging_sluice(|c| c.default_pool("api").limits(|l| l.raw("max_headers = 3")));
    let mut c = common::client::Conn::open(s.addr);
    c.send(b"GET /first-path HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.read_response(false).expect("answer").status, 200);
    c.send(b"GET /second HTTP/1.1\r\nHost: t\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n");
    assert_eq!(c.read_response(false).expect("answer").status, 431);
    let text = log_with_lines(&dir.0.join("access.log"), 2);
    let refused = text.lines().nth(1).expect("second line");
    assert!(refused.contains("\"status\":431"), "{refused}");
    assert!(
        !refused.contains("/first-path"),
        "the 431 was logged with the previous request's path: {refused}"
    );
}
