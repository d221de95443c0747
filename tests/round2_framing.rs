//! Hardening round 2, framing items (issue 10 items 1, 2, 3 and the framing parts of
//! 10), through the real binaries with the exact bytes on the wire. Each test is
//! named for its item.
#![allow(clippy::disallowed_methods)] // tests block and sleep freely

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::client::{Conn, assert_status, exchange, get, request};
use common::config::SluiceConfig;
use common::raw::{Action, RawBackend};
use common::{Origins, Sluice, wait_until};

/// One pool `p` on `server`, the default.
fn config_for(server: SocketAddr) -> SluiceConfig {
    Sluice::builder()
        .pool("p", |p| p.server(server))
        .default_pool("p")
}

/// The origin has seen no request yet: the next one is its connection 1, request 1.
fn assert_origin_untouched(s: &Sluice, what: &str) {
    let r = get(s.addr, "/after");
    assert_eq!(
        (r.header("x-origin-conn"), r.header("x-origin-req")),
        (Some("1"), Some("1")),
        "{what}: something reached the origin before"
    );
}

#[test]
fn item1_connection_naming_a_framing_header_is_400_and_nothing_reaches_the_origin() {
    let vectors: &[(&str, &[u8])] = &[
        (
            "Connection: content-length",
            b"GET /a HTTP/1.1\r\nHost: t\r\nConnection: content-length\r\nContent-Length: 35\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n",
        ),
        (
            "Connection: transfer-encoding",
            b"POST /a HTTP/1.1\r\nHost: t\r\nConnection: keep-alive, Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n23\r\nGET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n\r\n0\r\n\r\n",
        ),
        (
            "Connection: host",
            b"GET /a HTTP/1.1\r\nHost: t\r\nConnection: Host\r\n\r\n",
        ),
    ];
    for (what, bytes) in vectors {
        let o = Origins::start(&["api=127.0.0.1:0,name=o"]);
        let s = config_for(o.addr("o")).start();
        assert_eq!(exchange(s.addr, bytes), (400, true), "{what}");
        assert_origin_untouched(&s, what);
    }
}

/// A backend that answers every request with `response`: the client must get a 502.
fn assert_response_refused(response: &'static [u8]) {
    let backend = RawBackend::start(move |_, _| Action::Reply(response.to_vec()));
    let s = config_for(backend.addr).start();
    assert_status(&get(s.addr, "/a"), 502, "upstream_bad_response");
}

#[test]
fn item1_a_response_whose_connection_names_its_framing_is_502() {
    assert_response_refused(
        b"HTTP/1.1 200 OK\r\nConnection: content-length\r\nContent-Length: 5\r\n\r\nhello",
    );
}

#[test]
fn item2_absolute_form_authority_is_the_forwarded_host() {
    let o = Origins::start(&["api=127.0.0.1:0,name=o"]);
    let s = config_for(o.addr("o")).start();
    // HTTP/1.0 without Host: the authority alone names the host.
    let r = request(s.addr, "GET http://media.example:8080/x HTTP/1.0\r\n\r\n");
    assert_eq!(r.status, 200);
    let echoed = r.text();
    assert!(
        echoed.contains(r#"["Host","media.example:8080"]"#),
        "backend saw: {echoed}"
    );
    // A Host that agrees (case and default port aside) is replaced by the authority.
    let r = request(
        s.addr,
        "GET http://Media.Example/x HTTP/1.1\r\nHost: media.example:80\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    let echoed = r.text();
    assert!(
        echoed.contains(r#"["Host","Media.Example"]"#) && echoed.matches(r#"["Host""#).count() == 1,
        "backend saw: {echoed}"
    );
}

#[test]
fn item2_host_mismatch_duplicate_or_invalid_is_400_and_nothing_reaches_the_origin() {
    let o = Origins::start(&["api=127.0.0.1:0,name=o"]);
    let s = config_for(o.addr("o")).start();
    let vectors: &[(&str, &[u8])] = &[
        (
            "authority disagrees with Host",
            b"GET http://a.example/x HTTP/1.1\r\nHost: evil.example\r\n\r\n",
        ),
        (
            "authority port disagrees",
            b"GET http://a.example:81/x HTTP/1.1\r\nHost: a.example\r\n\r\n",
        ),
        (
            "two Host fields",
            b"GET /x HTTP/1.1\r\nHost: a.example\r\nHost: evil.example\r\n\r\n",
        ),
        ("Host with a space", b"GET /x HTTP/1.1\r\nHost: a b\r\n\r\n"),
        ("Host with a slash", b"GET /x HTTP/1.1\r\nHost: a/b\r\n\r\n"),
        (
            "Host with userinfo",
            b"GET /x HTTP/1.1\r\nHost: u@a\r\n\r\n",
        ),
        (
            "Host with a bad port",
            b"GET /x HTTP/1.1\r\nHost: a:8o\r\n\r\n",
        ),
    ];
    for (what, bytes) in vectors {
        assert_eq!(exchange(s.addr, bytes), (400, true), "{what}");
    }
    assert_origin_untouched(&s, "bad Host");
}

#[test]
fn item3_chunked_body_over_max_body_is_413_and_no_more_than_the_limit_is_forwarded() {
    let backend = RawBackend::start(|_, _| {
        Action::Reply(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec())
    });
    let s = config_for(backend.addr)
        .limits(|l| l.max_body("1KiB"))
        .start();
    // Within the limit: forwarded.
    let small = format!("400\r\n{}\r\n0\r\n\r\n", "a".repeat(1024));
    let mut c = Conn::open(s.addr);
    c.send(b"POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    c.send(small.as_bytes());
    assert_eq!(c.read_response(false).expect("answer").status, 200);
    // Over it, in one go (buffered before anything is sent upstream).
    let big = format!("401\r\n{}\r\n0\r\n\r\n", "b".repeat(1025));
    let (status, closed) = exchange(
        s.addr,
        format!("POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n{big}")
            .as_bytes(),
    );
    assert_eq!((status, closed), (413, true));
    // Over it, streamed: 600 bytes go through, the next chunk would pass 1 KiB.
    let mut c = Conn::open(s.addr);
    c.send(b"POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    c.send(format!("258\r\n{}\r\n", "c".repeat(600)).as_bytes());
    wait_until(
        Duration::from_secs(5),
        "the first chunk reaches the backend",
        || backend.all_text().contains(&"c".repeat(600)),
    );
    c.send(format!("258\r\n{}\r\n0\r\n\r\n", "d".repeat(600)).as_bytes());
    assert_status(
        &c.read_response(false).expect("answer"),
        413,
        "body_too_large",
    );
    let seen = backend.all_text();
    assert!(
        !seen.contains("bbbb"),
        "the over-limit body reached the backend"
    );
    assert!(
        !seen.contains("dddd"),
        "bytes past the limit reached the backend"
    );
    assert!(
        seen.contains(&"c".repeat(600)),
        "the part within the limit went through"
    );
}

#[test]
fn item10_a_response_with_both_content_length_and_chunked_is_502() {
    assert_response_refused(
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    );
}

#[test]
fn item10_chunk_extensions_and_trailers_are_capped_in_total() {
    let o = Origins::start(&["api=127.0.0.1:0,name=o"]);
    let s = config_for(o.addr("o")).start();
    // Each line is under the per-line cap; together they are far over the body cap.
    let ext = "e".repeat(1000);
    let mut many_extensions = String::new();
    for _ in 0..40 {
        many_extensions.push_str(&format!("1;{ext}\r\nx\r\n"));
    }
    many_extensions.push_str("0\r\n\r\n");
    let mut many_trailers = String::from("1\r\nx\r\n0\r\n");
    for i in 0..40 {
        many_trailers.push_str(&format!("X-T{i}: {ext}\r\n"));
    }
    many_trailers.push_str("\r\n");
    for (what, body) in [("extensions", many_extensions), ("trailers", many_trailers)] {
        let (status, closed) = exchange(
            s.addr,
            format!(
                "POST /echo-body HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n{body}"
            )
            .as_bytes(),
        );
        assert_eq!((status, closed), (400, true), "{what}");
    }
}

#[test]
fn item10_the_first_head_must_arrive_within_client_header_of_accept() {
    let o = Origins::start(&["api=127.0.0.1:0,name=o"]);
    let s = config_for(o.addr("o"))
        .timeouts(|t| t.client_header("1s"))
        .start();
    let started = Instant::now();
    let mut c = TcpStream::connect(s.addr).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(5))).ok();
    // The scenario: silent for most of the allowance, then a head that never completes.
    std::thread::sleep(Duration::from_millis(700));
    c.write_all(b"GET / HTTP/1.1\r\n").expect("send");
    let mut answer = Vec::new();
    let _ = c.read_to_end(&mut answer);
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "got {text:?}");
    assert!(
        took < Duration::from_millis(1450),
        "408 came {took:?} after accept: the timer restarted at the first byte"
    );
}
