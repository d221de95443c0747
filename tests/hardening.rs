//! Hardening through the real binaries (SPEC §4, §2 signals, §3 limits): smuggling
//! vectors, path normalisation, size limits, slow clients, 100-continue, upgrade
//! tunnels, graceful shutdown, reloads and many idle connections.
#![allow(clippy::disallowed_methods)] // tests block and sleep freely

mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::client::{Conn, Response, exchange, get, request};
use common::config::SluiceConfig;
use common::{Origins, Sluice, raise_nofile, wait_until};

/// One pool `p` on `origin`, the default.
fn one_pool(origin: SocketAddr) -> SluiceConfig {
    Sluice::builder()
        .pool("p", |p| p.server(origin))
        .default_pool("p")
}

#[test]
fn smuggling_vectors_get_400_close_and_never_reach_the_origin() {
    let o = Origins::start(&["api=127.0.0.1:0,name=o"]);
    let s = one_pool(o.addr("o")).start();
    let vectors: &[(&str, &[u8])] = &[
        ("CL+TE", b"POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ("differing CLs", b"POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde"),
        ("TE identity", b"POST /a HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: identity\r\n\r\n"),
        ("TE xchunked", b"POST /a HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: xchunked\r\n\r\n"),
        ("TE chunked, identity", b"POST /a HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, identity\r\n\r\n"),
        ("invalid chunk size", b"POST /a HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"),
        ("obs-fold", b"GET /a HTTP/1.1\r\nHost: t\r\nX-A: a\r\n  folded\r\n\r\n"),
        ("space before colon", b"GET /a HTTP/1.1\r\nHost: t\r\nX-A : a\r\n\r\n"),
        ("bare CR", b"GET /a HTTP/1.1\r\nHost: t\r\nX-A: a\rb\r\n\r\n"),
    ];
    for (what, bytes) in vectors {
        let (status, closed) = exchange(s.addr, bytes);
        assert_eq!(status, 400, "{what}");
        assert!(closed, "{what}: connection left open");
    }
    // The origin saw nothing: the first request that reaches it is its connection 1, request 1.
    let r = get(s.addr, "/ok");
    assert_eq!(
        (r.header("x-origin-conn"), r.header("x-origin-req")),
        (Some("1"), Some("1")),
        "a smuggled request reached the origin"
    );
}

#[test]
fn paths_are_normalised_before_routing_and_forwarded_as_judged() {
    let o = Origins::start(&["api=127.0.0.1:0,name=api", "api=127.0.0.1:0,name=live"]);
    let s = Sluice::builder()
        .pool("api", |p| p.server(o.addr("api")))
        .pool("live", |p| p.server(o.addr("live")))
        .route("api", "api", |m| m.path_prefix("/api/"))
        .route("live", "live", |m| m.path_prefix("/live/"))
        .start();
    for path in ["/live/../api/x", "/live/%2e%2e/api/x", "/live/./../api/./x"] {
        let r = get(s.addr, path);
        assert_eq!(r.header("x-origin"), Some("api"), "{path}");
        assert!(
            r.text().contains("\"path\":\"/api/x\""),
            "{path}: {}",
            r.text()
        );
    }
    // An encoded slash is not a separator: no dot-segment escape through it.
    let r = get(s.addr, "/live/..%2Fapi/x");
    assert_eq!(r.header("x-origin"), Some("live"));
    for climb in ["/../api/x", "/live/../../x", "/%2e%2e/x"] {
        assert_eq!(get(s.addr, climb).status, 400, "{climb}");
    }
}

#[test]
fn header_uri_and_body_limits() {
    let o = Origins::start(&["api=127.0.0.1:0,name=o"]);
    let s = one_pool(o.addr("o"))
        .limits(|l| l.max_header_bytes("1KiB").max_headers(10).max_body("100B"))
        .start();
    let long_uri = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(2000));
    assert_eq!(exchange(s.addr, long_uri.as_bytes()).0, 414);
    let big_header = format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "b".repeat(2000)
    );
    assert_eq!(exchange(s.addr, big_header.as_bytes()).0, 431);
    let many: String = (0..20).map(|i| format!("X-H{i}: v\r\n")).collect();
    assert_eq!(
        exchange(
            s.addr,
            format!("GET / HTTP/1.1\r\nHost: t\r\n{many}\r\n").as_bytes()
        )
        .0,
        431
    );
    assert_eq!(
        exchange(
            s.addr,
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n"
        )
        .0,
        413
    );
    assert_eq!(request(s.addr, "POST /echo-body HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello").text(), "hello");
}

#[test]
fn slowloris_is_cut_at_client_header_while_others_are_served() {
    let o = Origins::start(&["api=127.0.0.1:0,name=o"]);
    let s = one_pool(o.addr("o"))
        .timeouts(|t| t.client_header("1s"))
        .start();
    let mut slow = std::net::TcpStream::connect(s.addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let start = Instant::now();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n").unwrap();
    // Meanwhile (the scenario: the slow client has been holding its connection a
    // while), another client is served normally.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(get(s.addr, "/fast").status, 200);
    let _ = slow.write_all(b"X-Drip: 1\r\n");
    let mut answer = String::new();
    let _ = slow.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(2500),
        "cut after {took:?}"
    );
}

#[test]
fn expect_100_continue_is_answered_before_the_body_is_sent() {
    let o = Origins::start(&["api=127.0.0.1:0,name=o"]);
    let s = one_pool(o.addr("o")).start();
    let mut c = Conn::open(s.addr);
    c.send(
        b"POST /echo-body HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    );
    let interim = c.read_response(false).expect("interim");
    assert_eq!(interim.status, 100);
    c.send(b"hello");
    let r = c.read_response(false).expect("final");
    assert_eq!((r.status, r.text().as_str()), (200, "hello"));
}

#[test]
fn websocket_upgrade_is_tunnelled_both_ways() {
    let o = Origins::start(&["api=127.0.0.1:0,name=o"]);
    let s = one_pool(o.addr("o")).start();
    let mut c = Conn::open(s.addr);
    c.send(b"GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n");
    let r = c.read_response(true).expect("101");
    assert_eq!(r.status, 101);
    assert_eq!(r.header("upgrade"), Some("websocket"));
    for msg in [&b"ping one"[..], b"second frame of bytes"] {
        c.stream.write_all(msg).unwrap();
        let mut got = vec![0u8; msg.len()];
        c.stream.read_exact(&mut got).unwrap();
        assert_eq!(got, msg);
    }
}

/// Send a request the origin answers after `origin_delay`, signal SIGTERM `after`
/// it went out, and return its answer.
fn request_during_sigterm(s: &Sluice, origin_delay: &str, after: Duration) -> Response {
    let addr = s.addr;
    let raw = format!(
        "GET /slow HTTP/1.1\r\nHost: t\r\nx-origin-delay: {origin_delay}\r\nConnection: close\r\n\r\n"
    );
    let in_flight = std::thread::spawn(move || request(addr, &raw));
    // The scenario: SIGTERM while the request is in flight.
    std::thread::sleep(after);
    s.proc.signal("TERM");
    in_flight.join().expect("client")
}

#[test]
fn sigterm_lets_the_slow_in_flight_request_finish_then_exits_0() {
    let o = Origins::start(&["api=127.0.0.1:0,name=o"]);
    let mut s = one_pool(o.addr("o")).shutdown_timeout("5s").start();
    let addr = s.addr;
    let r = request_during_sigterm(&s, "1s", Duration::from_millis(300));
    assert_eq!(r.status, 200);
    assert_eq!(s.proc.wait_exit(Duration::from_secs(8)), Some(0));
    // And it no longer accepts.
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[test]
fn timeouts_still_fire_while_draining_after_sigterm() {
    // A request stuck on a silent origin during the shutdown drain gets its 504
    // at upstream_response, not when the origin finally answers.
    let o = Origins::start(&["api=127.0.0.1:0,name=o"]);
    let mut s = one_pool(o.addr("o"))
        .shutdown_timeout("8s")
        .timeouts(|t| t.upstream_response("400ms"))
        .start();
    let started = Instant::now();
    let r = request_during_sigterm(&s, "5s", Duration::from_millis(100));
    assert_eq!(r.status, 504);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(s.proc.wait_exit(Duration::from_secs(8)), Some(0));
}

#[test]
fn sighup_applies_a_good_config_and_refuses_a_bad_one() {
    let o = Origins::start(&["api=127.0.0.1:0,name=a", "api=127.0.0.1:0,name=b"]);
    let s = one_pool(o.addr("a")).start();
    let mut keep = Conn::open(s.addr);
    keep.send(b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(
        keep.read_response(false).unwrap().header("x-origin"),
        Some("a")
    );
    // Good: add a pool and route; the running config is replaced.
    // (The bound port is kept, so the listener stays.)
    let good = one_pool(o.addr("a"))
        .listen(s.addr)
        .pool("b", |p| p.server(o.addr("b")))
        .route("b", "b", |m| m.path_prefix("/b/"))
        .toml();
    std::fs::write(&s.config_path, good).unwrap();
    s.proc.signal("HUP");
    wait_until(Duration::from_secs(5), "the reload routes /b/ to b", || {
        get(s.addr, "/b/x").header("x-origin") == Some("b")
    });
    assert_eq!(get(s.addr, "/b/x").header("x-origin"), Some("b"));
    // The established connection survived the reload.
    keep.send(b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(keep.read_response(false).unwrap().status, 200);
    // Bad: refused and logged; the running config keeps serving.
    std::fs::write(&s.config_path, "[server]\nlisten = [\"nowhere\"]\n").unwrap();
    s.proc.signal("HUP");
    wait_until(Duration::from_secs(5), "the bad reload is refused", || {
        s.stderr().contains("reload refused")
    });
    assert_eq!(get(s.addr, "/b/x").header("x-origin"), Some("b"));
    let log = s.stderr();
    assert!(
        log.contains("reload refused") && log.contains("server.listen[0]"),
        "{log}"
    );
}

#[test]
fn two_thousand_idle_keep_alive_connections_are_served() {
    raise_nofile();
    let o = Origins::start(&["api=127.0.0.1:0,name=o"]);
    let s = one_pool(o.addr("o")).start();
    let mut conns: Vec<Conn> = (0..2000).map(|_| Conn::open(s.addr)).collect();
    for c in &mut conns {
        c.send(b"GET /first HTTP/1.1\r\nHost: t\r\n\r\n");
    }
    for c in &mut conns {
        assert_eq!(c.read_response(false).expect("first answer").status, 200);
    }
    // All idle now (the scenario: past the hot window); every one still works.
    std::thread::sleep(Duration::from_millis(600));
    for c in &mut conns {
        c.send(b"GET /again HTTP/1.1\r\nHost: t\r\n\r\n");
    }
    for c in &mut conns {
        assert_eq!(c.read_response(false).expect("second answer").status, 200);
    }
}

#[test]
fn max_connections_holds_extra_connections_in_the_backlog() {
    let o = Origins::start(&["api=127.0.0.1:0,name=o"]);
    let s = one_pool(o.addr("o")).max_connections(3).start();
    let mut first: Vec<Conn> = (0..3).map(|_| Conn::open(s.addr)).collect();
    for c in &mut first {
        c.send(b"GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!(c.read_response(false).expect("served").status, 200);
    }
    // A fourth connection is accepted by the kernel but waits in the backlog.
    let mut waiting = std::net::TcpStream::connect(s.addr).expect("backlog accepts");
    waiting
        .write_all(b"GET /b HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    // The scenario: 500 ms without an answer shows it is not served.
    waiting
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut byte = [0u8; 1];
    assert!(
        waiting.read(&mut byte).is_err(),
        "served beyond max_connections"
    );
    // One closes: the waiting connection is taken and answered.
    drop(first.pop());
    waiting
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut answer = Vec::new();
    waiting.read_to_end(&mut answer).unwrap();
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}
