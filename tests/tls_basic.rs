//! TLS termination (SPEC §10, issue 14): curl and `openssl s_client` against the
//! real binaries, SNI choosing among certificates, the access-log `tls` field,
//! `X-Forwarded-Proto: https`, route matches on `tls` and `sni`, and bad input on a
//! TLS port closing only its own connection.

mod common;

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::client::{Conn, get};
use common::tls::{TestCa, connect, curl, https, s_client, section};
use common::{Origins, Sluice, TempDir, wait_until};

/// Read from `s` until the peer closes; how long that took, or `None` when it
/// stayed open for `limit`.
fn closed_within(s: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    s.set_read_timeout(Some(Duration::from_millis(100))).ok();
    let mut buf = [0u8; 4096];
    while start.elapsed() < limit {
        match s.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return Some(start.elapsed()),
        }
    }
    None
}

#[test]
fn tls_curl_and_openssl_s_client_reach_the_origin_as_https() {
    let dir = TempDir::new();
    let ca = TestCa::new(&dir.0);
    let a = ca.leaf(&dir.0, "a", &["a.test"], 90);
    let o = Origins::start(&["api=127.0.0.1:0,name=a1"]);
    let log = dir.0.join("access.log");
    let s = Sluice::builder()
        .pool("p", |p| p.server(o.addr("a1")))
        .default_pool("p")
        .access_log(log.display())
        .tables(&section("", &[&a]))
        .start();
    let addr = s.tls[0];
    let out = curl(
        &https(addr, "a.test", &ca, "/hello")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "curl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(body.contains(r#"["X-Forwarded-Proto","https"]"#), "{body}");
    // The plain listener still says http.
    let plain = get(s.addr, "/plain").text();
    assert!(plain.contains(r#"["X-Forwarded-Proto","http"]"#), "{plain}");
    let req = b"GET /sclient HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n";
    let text = s_client(addr, "a.test", &ca, &[], req);
    assert!(text.contains("Verify return code: 0 (ok)"), "{text}");
    assert!(text.contains("HTTP/1.1 200 OK"), "{text}");
    // The access log has the `tls` field on TLS requests only.
    wait_until(Duration::from_secs(5), "three access-log lines", || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .count()
            >= 3
    });
    let lines = std::fs::read_to_string(&log).unwrap();
    for line in lines.lines() {
        let tls = line.contains(r#""tls":{"version":"TLSv1.3","cipher":"TLS13_"#);
        assert_eq!(tls, !line.contains("/plain"), "{line}");
    }
}

#[test]
fn sni_picks_each_certificate_then_one_label_wildcards_then_the_first() {
    let dir = TempDir::new();
    let ca = TestCa::new(&dir.0);
    let a = ca.leaf(&dir.0, "a", &["a.test"], 90);
    let b = ca.leaf(&dir.0, "b", &["b.test", "*.w.test"], 90);
    let o = Origins::start(&["api=127.0.0.1:0,name=a1"]);
    let s = Sluice::builder()
        .pool("p", |p| p.server(o.addr("a1")))
        .default_pool("p")
        .tables(&section("", &[&a, &b]))
        .start();
    let addr = s.tls[0];
    // Names each certificate is valid for: a verifying client gets the right one.
    for (name, want) in [("a.test", &a), ("b.test", &b), ("x.w.test", &b)] {
        let mut c = connect(addr, name, &ca).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(common::tls::presented(&c), want.der, "{name}");
        assert_eq!(c.get(name, "/").map(|r| r.status), Some(200), "{name}");
    }
    // Two labels under the wildcard, an unknown name, no SNI: the first entry.
    for name in ["y.x.w.test", "other.test", ""] {
        let text = s_client(addr, name, &ca, &[], b"");
        assert!(text.contains("subject=CN = a.test"), "{name:?}: {text}");
    }
}

#[test]
fn strict_sni_refuses_unknown_names_only() {
    let dir = TempDir::new();
    let ca = TestCa::new(&dir.0);
    let a = ca.leaf(&dir.0, "a", &["a.test"], 90);
    let o = Origins::start(&["api=127.0.0.1:0,name=a1"]);
    let s = Sluice::builder()
        .pool("p", |p| p.server(o.addr("a1")))
        .default_pool("p")
        .tables(&section("strict_sni = true", &[&a]))
        .start();
    let addr = s.tls[0];
    let refused = s_client(addr, "other.test", &ca, &[], b"");
    assert!(!refused.contains("subject="), "{refused}");
    assert!(refused.contains("alert"), "{refused}");
    let mut ok = connect(addr, "a.test", &ca).expect("a.test handshake");
    assert_eq!(ok.get("a.test", "/").map(|r| r.status), Some(200));
}

#[test]
fn plain_http_garbage_and_stalls_on_a_tls_port_close_only_their_connection() {
    let dir = TempDir::new();
    let ca = TestCa::new(&dir.0);
    let a = ca.leaf(&dir.0, "a", &["a.test"], 90);
    let o = Origins::start(&["api=127.0.0.1:0,name=a1"]);
    let s = Sluice::builder()
        .pool("p", |p| p.server(o.addr("a1")))
        .default_pool("p")
        .timeouts(|t| t.client_header("1s"))
        .tables(&section("", &[&a]))
        .start();
    let addr: SocketAddr = s.tls[0];
    let mut good = connect(addr, "a.test", &ca).expect("handshake");
    assert_eq!(good.get("a.test", "/1").map(|r| r.status), Some(200));
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 7 + 3) as u8).collect();
    let inputs: [&[u8]; 3] = [b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n", &garbage, b""];
    for input in inputs {
        let mut raw = Conn::open(addr);
        raw.send(input);
        // The empty input is a stalled handshake: bound by client_header (1 s).
        let took = closed_within(&mut raw.stream, Duration::from_secs(4));
        assert!(
            took.is_some(),
            "{:?} left open",
            &input[..input.len().min(16)]
        );
    }
    // The established TLS connection is unaffected.
    assert_eq!(good.get("a.test", "/2").map(|r| r.status), Some(200));
    let metrics = s.admin("GET", "/metrics", "", "").text();
    assert!(
        metrics.contains("sluice_tls_handshakes_total{result=\"ok\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sluice_tls_handshakes_total{result=\"error\"} 3"),
        "{metrics}"
    );
}

#[test]
fn min_version_accepts_and_refuses_tls12_and_tls13() {
    let dir = TempDir::new();
    let ca = TestCa::new(&dir.0);
    let a = ca.leaf(&dir.0, "a", &["a.test"], 90);
    let o = Origins::start(&["api=127.0.0.1:0,name=a1"]);
    for (min, tls12_ok) in [("1.2", true), ("1.3", false)] {
        let s = Sluice::builder()
            .pool("p", |p| p.server(o.addr("a1")))
            .default_pool("p")
            .tables(&section(&format!("min_version = \"{min}\""), &[&a]))
            .start();
        let addr = s.tls[0];
        let t13 = s_client(addr, "a.test", &ca, &["-tls1_3"], b"");
        assert!(t13.contains("New, TLSv1.3"), "min {min}, -tls1_3: {t13}");
        let t12 = s_client(addr, "a.test", &ca, &["-tls1_2"], b"");
        assert_eq!(
            t12.contains("New, TLSv1.2"),
            tls12_ok,
            "min {min}, -tls1_2: {t12}"
        );
        if !tls12_ok {
            assert!(t12.contains("alert protocol version"), "{t12}");
        }
    }
}

#[test]
fn routes_match_on_tls_and_sni() {
    let dir = TempDir::new();
    let ca = TestCa::new(&dir.0);
    let a = ca.leaf(&dir.0, "a", &["a.test", "b.test"], 90);
    let o = Origins::start(&[
        "api=127.0.0.1:0,name=plain",
        "api=127.0.0.1:0,name=tls",
        "api=127.0.0.1:0,name=b",
    ]);
    let s = Sluice::builder()
        .pool("plain", |p| p.server(o.addr("plain")))
        .pool("tls", |p| p.server(o.addr("tls")))
        .pool("b", |p| p.server(o.addr("b")))
        .route("b", "b", |m| m.raw("sni = \"b.test\""))
        .route("tls", "tls", |m| m.raw("tls = true"))
        .route("plain", "plain", |m| m.raw("tls = false"))
        .tables(&section("", &[&a]))
        .start();
    let addr = s.tls[0];
    assert_eq!(get(s.addr, "/").origin(), "plain");
    for (name, want) in [("a.test", "tls"), ("b.test", "b")] {
        let mut c = connect(addr, name, &ca).expect("handshake");
        let r = c.get(name, "/").expect("answer");
        assert_eq!(r.origin(), want, "{name}");
    }
}

#[test]
fn a_websocket_tunnel_runs_over_tls() {
    use std::io::Write;
    let dir = TempDir::new();
    let ca = TestCa::new(&dir.0);
    let a = ca.leaf(&dir.0, "a", &["a.test"], 90);
    let o = Origins::start(&["api=127.0.0.1:0,name=a1"]);
    let s = Sluice::builder()
        .pool("p", |p| p.server(o.addr("a1")))
        .default_pool("p")
        .tables(&section("", &[&a]))
        .start();
    let mut c = connect(s.tls[0], "a.test", &ca).expect("handshake");
    c.send(b"GET /ws HTTP/1.1\r\nHost: a.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n");
    assert_eq!(c.read_response(true).expect("101").status, 101);
    let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    for msg in [&b"hello"[..], &big] {
        c.stream.write_all(msg).expect("send");
        c.stream.flush().expect("flush");
        let mut got = vec![0u8; msg.len()];
        c.stream.read_exact(&mut got).expect("echo");
        assert!(got == msg, "echo of {} bytes differs", msg.len());
    }
}

/// A request the client queued before the handshake ended goes out in the same
/// write as its Finished: the bytes read past the handshake's last record are kept
/// and answered, on TLS 1.3 and 1.2.
#[test]
fn a_request_sent_with_the_client_finished_is_answered() {
    use std::io::Write;
    use std::sync::Arc;
    let dir = TempDir::new();
    let ca = TestCa::new(&dir.0);
    let a = ca.leaf(&dir.0, "a", &["a.test"], 90);
    let o = Origins::start(&["api=127.0.0.1:0,name=a1"]);
    let s = Sluice::builder()
        .pool("p", |p| p.server(o.addr("a1")))
        .default_pool("p")
        .tables(&section("", &[&a]))
        .start();
    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        let mut roots = rustls::RootCertStore::empty();
        let pem = std::fs::read(&ca.pem).unwrap();
        use rustls::pki_types::pem::PemObject;
        for c in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
            roots.add(c.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[version])
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from("a.test").unwrap();
        let mut conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
        conn.writer()
            .write_all(b"GET /early HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut sock = TcpStream::connect(s.tls[0]).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(10))).ok();
        while conn.is_handshaking() {
            conn.complete_io(&mut sock).expect("handshake");
        }
        let mut c = Conn::over(rustls::StreamOwned::new(conn, sock));
        let r = c
            .read_response(false)
            .expect("an answer to the early request");
        assert_eq!(r.status, 200, "{version:?}");
        assert!(r.text().contains("\"path\":\"/early\""), "{}", r.text());
    }
}
