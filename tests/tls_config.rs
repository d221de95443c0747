//! `[tls]` configuration (SPEC §10): certificate/key pairs checked at load, reload
//! and `sluice check`, with errors naming their key path; paths relative to the
//! config file; the 14-day expiry warning; certificates in the status JSON and
//! the metrics.

mod common;

use std::process::Command;

use common::config::quote;
use common::tls::{Leaf, TestCa, section};
use common::{Origins, Sluice, TempDir, check};

/// A minimal valid config around a `[tls]` section.
fn with_tls(tls: &str) -> String {
    format!(
        "[server]\nlisten = [\"127.0.0.1:0\"]\nworkers = 1\npin_cores = false\n[admin]\nlisten = \"127.0.0.1:0\"\n{tls}"
    )
}

/// `[[tls.cert]]` with these paths.
fn pair(cert: &str, key: &str) -> String {
    format!(
        "[tls]\nlisten = [\"127.0.0.1:0\"]\n[[tls.cert]]\ncert = {}\nkey = {}\n",
        quote(cert),
        quote(key)
    )
}

fn path(p: &std::path::Path) -> String {
    p.display().to_string()
}

#[test]
fn bad_pairs_are_config_errors_naming_their_key_path() {
    let dir = TempDir::new();
    let ca = TestCa::new(&dir.0);
    let a = ca.leaf(&dir.0, "a", &["a.test"], 90);
    let b = ca.leaf(&dir.0, "b", &["b.test"], 90);
    let junk = dir.0.join("junk.key");
    std::fs::write(&junk, "not a key").unwrap();
    let missing = dir.0.join("missing.pem");
    let cases = [
        (
            pair(&path(&a.cert), &path(&b.key)),
            "tls.cert[0].key: key does not match certificate",
        ),
        (
            pair(&path(&a.cert), &path(&junk)),
            "tls.cert[0].key: not a PEM private key",
        ),
        (
            pair(&path(&missing), &path(&a.key)),
            "tls.cert[0].cert: cannot read",
        ),
        (
            pair(&path(&a.cert), &path(&missing)),
            "tls.cert[0].key: cannot read",
        ),
        (pair(&path(&junk), &path(&a.key)), "tls.cert[0].cert: "),
        (
            "[tls]\nlisten = [\"127.0.0.1:0\"]\n".to_string(),
            "tls.cert: TLS listeners need at least one",
        ),
        (
            format!("{}min_version = \"1.1\"\n", "[tls]\n"),
            "tls.min_version: \"1.1\" is not",
        ),
    ];
    for (tls, want) in cases {
        let c = check(&with_tls(&tls));
        assert_eq!(c.code, 1, "{tls}\n{}", c.stderr);
        assert!(c.stderr.contains(want), "want {want:?} in:\n{}", c.stderr);
    }
    // The second entry is named by its own index.
    let two = format!(
        "{}[[tls.cert]]\ncert = {}\nkey = {}\n",
        pair(&path(&a.cert), &path(&a.key)),
        quote(&path(&b.cert)),
        quote(&path(&a.key))
    );
    let c = check(&with_tls(&two));
    assert!(
        c.stderr
            .contains("tls.cert[1].key: key does not match certificate"),
        "{}",
        c.stderr
    );
    // The unknown-key check covers the new tables too.
    let c = check(&with_tls(&format!(
        "{}colour = \"red\"\n",
        pair(&path(&a.cert), &path(&a.key))
    )));
    assert_eq!(c.code, 1, "{}", c.stderr);
    assert!(c.stderr.contains("colour"), "{}", c.stderr);
}

#[test]
fn paths_are_relative_to_the_config_file_and_expiry_is_warned() {
    let dir = TempDir::new();
    let ca = TestCa::new(&dir.0);
    ca.leaf(&dir.0, "soon", &["soon.test"], 5);
    let config = dir.0.join("config.toml");
    std::fs::write(&config, with_tls(&pair("soon.pem", "soon.key"))).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["check", "-c"])
        .arg(&config)
        .current_dir(std::env::temp_dir())
        .output()
        .expect("sluice check");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: tls.cert[0].cert: certificate for soon.test expires at")
            && (stderr.contains("in 4 days") || stderr.contains("in 5 days")),
        "{stderr}"
    );
    // Ninety days left: no warning.
    let far = ca.leaf(&dir.0, "far", &["far.test"], 90);
    let c = check(&with_tls(&pair(&path(&far.cert), &path(&far.key))));
    assert_eq!(c.code, 0, "{}", c.stderr);
    assert!(!c.stderr.contains("tls.cert"), "{}", c.stderr);
}

fn start(certs: &[&Leaf]) -> (Sluice, Origins) {
    let o = Origins::start(&["api=127.0.0.1:0,name=a1"]);
    let s = Sluice::builder()
        .pool("p", |p| p.server(o.addr("a1")))
        .default_pool("p")
        .tables(&section("", certs))
        .start();
    (s, o)
}

#[test]
fn status_and_metrics_list_certificates_and_a_bad_put_is_refused() {
    let dir = TempDir::new();
    let ca = TestCa::new(&dir.0);
    let a = ca.leaf(&dir.0, "a", &["a.test", "*.a.test"], 30);
    let b = ca.leaf(&dir.0, "b", &["b.test"], 90);
    let (s, _o) = start(&[&a]);
    let status = s.status("");
    let at = status.find("\"certs\":[{\"names\":[\"a.test\",\"*.a.test\"],\"not_after\":\"");
    assert!(at.is_some(), "{status}");
    let left: i64 = status
        .split("\"expires_in_s\":")
        .nth(1)
        .and_then(|r| r.split(['}', ',']).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{status}"));
    assert!((29 * 86_400..=30 * 86_400).contains(&left), "{left}");
    let metrics = s.admin("GET", "/metrics", "", "").text();
    for name in ["a.test", "*.a.test"] {
        assert!(
            metrics.contains(&format!(
                "sluice_tls_cert_expiry_seconds{{name=\"{name}\"}} "
            )),
            "{metrics}"
        );
    }
    // A config PUT with a mismatched pair is refused with its key path.
    let text = std::fs::read_to_string(&s.config_path).unwrap();
    let bad = text.replace(&path(&a.key), &path(&b.key));
    assert_ne!(bad, text);
    let r = s.admin("PUT", "/api/v1/config", "", &bad);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("tls.cert[0].key"), "{}", r.text());
    assert!(
        r.text().contains("key does not match certificate"),
        "{}",
        r.text()
    );
}
