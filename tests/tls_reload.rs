//! TLS across reloads (SPEC §10): a reload re-reads the certificate files and new
//! connections get the new certificate while established ones keep working, and
//! sessions resume across a reload because the ticket keys outlive generations.

mod common;

use std::time::Duration;

use common::tls::{TestCa, connect, presented, s_client, section};
use common::{Origins, Sluice, TempDir, wait_until};

fn generation_is(s: &Sluice, n: u64) -> bool {
    s.status("").contains(&format!("\"generation\":{n},"))
}

#[test]
fn a_reload_swaps_the_certificate_while_an_old_connection_keeps_working() {
    let dir = TempDir::new();
    let ca = TestCa::new(&dir.0);
    let old = ca.leaf(&dir.0, "a", &["a.test"], 90);
    let o = Origins::start(&["api=127.0.0.1:0,name=a1"]);
    let s = Sluice::builder()
        .pool("p", |p| p.server(o.addr("a1")))
        .default_pool("p")
        .tables(&section("", &[&old]))
        .start();
    let addr = s.tls[0];
    let mut kept = connect(addr, "a.test", &ca).expect("handshake");
    assert_eq!(presented(&kept), old.der);
    assert_eq!(kept.get("a.test", "/1").map(|r| r.status), Some(200));
    // New files at the same paths, then a config PUT of the unchanged text.
    let new = ca.leaf(&dir.0, "a", &["a.test"], 90);
    assert_ne!(new.der, old.der);
    let text = std::fs::read_to_string(&s.config_path).unwrap();
    let r = s.admin("PUT", "/api/v1/config", "", &text);
    assert_eq!(r.status, 200, "{}", r.text());
    wait_until(Duration::from_secs(5), "generation 2", || {
        generation_is(&s, 2)
    });
    wait_until(
        Duration::from_secs(5),
        "new connections get the new certificate",
        || connect(addr, "a.test", &ca).is_ok_and(|c| presented(&c) == new.der),
    );
    // The connection made before the reload still serves requests, on its old
    // certificate.
    let r = kept
        .get("a.test", "/2")
        .expect("an answer on the old connection");
    assert_eq!(r.status, 200);
    assert_eq!(presented(&kept), old.der);
    let mut fresh = connect(addr, "a.test", &ca).expect("handshake");
    assert_eq!(fresh.get("a.test", "/3").map(|r| r.status), Some(200));
}

#[test]
fn sessions_resume_across_a_sighup_reload() {
    let dir = TempDir::new();
    let ca = TestCa::new(&dir.0);
    let a = ca.leaf(&dir.0, "a", &["a.test"], 90);
    let o = Origins::start(&["api=127.0.0.1:0,name=a1"]);
    let s = Sluice::builder()
        .pool("p", |p| p.server(o.addr("a1")))
        .default_pool("p")
        .tables(&section("", &[&a]))
        .start();
    let addr = s.tls[0];
    for version in ["-tls1_3", "-tls1_2"] {
        let sess = dir.0.join(format!("session{version}.pem"));
        let sess = sess.display().to_string();
        let first = s_client(addr, "a.test", &ca, &[version, "-sess_out", &sess], b"");
        assert!(first.contains("New, TLSv1."), "{version}: {first}");
        let before = s.status("");
        let generation: u64 = before
            .split("\"generation\":")
            .nth(1)
            .and_then(|r| r.split(',').next())
            .and_then(|n| n.parse().ok())
            .expect("generation");
        s.proc.signal("HUP");
        wait_until(Duration::from_secs(5), "the reload", || {
            generation_is(&s, generation + 1)
        });
        let again = s_client(addr, "a.test", &ca, &[version, "-sess_in", &sess], b"");
        assert!(again.contains("Reused, TLSv1."), "{version}: {again}");
    }
    // Control: another sluice process (other ticket keys) does not resume it, so
    // "Reused" above came from keys that outlived the reload.
    let other = Sluice::builder()
        .pool("p", |p| p.server(o.addr("a1")))
        .default_pool("p")
        .tables(&section("", &[&a]))
        .start();
    let sess = dir.0.join("session-tls1_3.pem").display().to_string();
    let text = s_client(
        other.tls[0],
        "a.test",
        &ca,
        &["-tls1_3", "-sess_in", &sess],
        b"",
    );
    assert!(text.contains("New, TLSv1.3"), "{text}");
}
