//! Checks of `[tls]` and its `[[tls.cert]]` entries: listen addresses, version,
//! ALPN ids, and every certificate/key pair read from its files (relative to the
//! config file's directory) and checked to match. A missing or bad certificate
//! names `tls.cert[N].cert`, a missing, bad or mismatched key `tls.cert[N].key`.

use std::path::Path;

use crate::tls::{CertEntry, MinVersion, PairError, load_pair};

use super::errors::Errors;
use super::schema::{RawCert, RawTls};
use super::types::Tls;

/// Certificates expiring within this many seconds are warned about.
pub const EXPIRY_WARNING_SECS: i64 = 14 * 86_400;

/// Check `[tls]`; `base` is the directory relative paths start from.
pub(super) fn check_tls(t: &RawTls, base: &Path, e: &mut Errors) -> Tls {
    let listen = t
        .listen
        .iter()
        .enumerate()
        .filter_map(|(i, a)| e.addr(&format!("tls.listen[{i}]"), a))
        .collect();
    let min_version = match t.min_version.as_str() {
        "1.2" => MinVersion::Tls12,
        "1.3" => MinVersion::Tls13,
        other => {
            e.push(
                "tls.min_version",
                format!("{other:?} is not \"1.2\" or \"1.3\""),
            );
            MinVersion::Tls12
        }
    };
    for (i, a) in t.alpn.iter().enumerate() {
        if a.is_empty() || a.len() > 255 {
            e.push(
                format!("tls.alpn[{i}]"),
                format!("{a:?} must be 1 to 255 bytes"),
            );
        }
    }
    if !t.listen.is_empty() && t.certs.is_empty() {
        e.push(
            "tls.cert",
            "TLS listeners need at least one [[tls.cert]] entry",
        );
    }
    let certs = t
        .certs
        .iter()
        .enumerate()
        .filter_map(|(i, c)| check_cert(i, c, base, e))
        .collect();
    Tls {
        listen,
        min_version,
        alpn: t.alpn.clone(),
        strict_sni: t.strict_sni,
        certs,
    }
}

fn check_cert(i: usize, c: &RawCert, base: &Path, e: &mut Errors) -> Option<CertEntry> {
    let at = format!("tls.cert[{i}]");
    let mut ok = true;
    for (j, n) in c.names.iter().enumerate() {
        if !crate::tls::certs::valid_name(&n.to_ascii_lowercase()) {
            e.push(
                format!("{at}.names[{j}]"),
                format!("{n:?} is not a DNS name or a one-label wildcard like \"*.example.com\""),
            );
            ok = false;
        }
    }
    let cert = read(&at, "cert", &c.cert, base, e);
    let key = read(&at, "key", &c.key, base, e);
    let (cert, key) = (cert?, key?);
    if !ok {
        return None;
    }
    match load_pair(&cert, &key, &c.names) {
        Ok(entry) => Some(entry),
        Err(PairError::Cert(m)) => {
            e.push(format!("{at}.cert"), format!("{}: {m}", c.cert));
            None
        }
        Err(PairError::Key(m)) => {
            e.push(format!("{at}.key"), m);
            None
        }
    }
}

fn read(at: &str, key: &str, path: &str, base: &Path, e: &mut Errors) -> Option<Vec<u8>> {
    if path.is_empty() {
        e.push(format!("{at}.{key}"), "must name a file");
        return None;
    }
    std::fs::read(base.join(path))
        .map_err(|err| {
            e.push(
                format!("{at}.{key}"),
                format!("cannot read {path:?}: {err}"),
            )
        })
        .ok()
}

impl Tls {
    /// Warnings for certificates that expire within 14 days (or have expired),
    /// as of `now` (seconds since the Unix epoch).
    pub fn expiry_warnings(&self, now: i64) -> Vec<String> {
        self.certs
            .iter()
            .enumerate()
            .filter(|(_, c)| c.not_after - now < EXPIRY_WARNING_SECS)
            .map(|(i, c)| {
                let left = c.not_after - now;
                let when = crate::tls::certs::rfc3339(c.not_after);
                if left < 0 {
                    format!(
                        "tls.cert[{i}].cert: certificate for {} expired at {when}",
                        c.names.join(", ")
                    )
                } else {
                    format!(
                        "tls.cert[{i}].cert: certificate for {} expires at {when}, in {} days",
                        c.names.join(", "),
                        left / 86_400
                    )
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    /// A temp dir with `a.pem`/`a.key` (names `a.test`, `*.a.test`) and `b.key`.
    fn certs(tag: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("sluice-tls-unit-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let key = rcgen::KeyPair::generate().expect("key");
        let params = rcgen::CertificateParams::new(vec!["a.test".into(), "*.a.test".into()])
            .expect("params");
        let cert = params.self_signed(&key).expect("cert");
        std::fs::write(dir.join("a.pem"), cert.pem()).expect("cert file");
        std::fs::write(dir.join("a.key"), key.serialize_pem()).expect("key file");
        let other = rcgen::KeyPair::generate().expect("key");
        std::fs::write(dir.join("b.key"), other.serialize_pem()).expect("key file");
        dir
    }

    const TLS: &str = "[tls]\nlisten = [\"127.0.0.1:0\"]\nmin_version = \"1.3\"\n[[tls.cert]]\ncert = \"a.pem\"\nkey = \"a.key\"\n";

    #[test]
    fn tls_loads_relative_to_base_and_round_trips_through_toml() {
        let dir = certs("rt");
        let c = Config::from_toml_str_in(TLS, &dir).unwrap_or_else(|e| panic!("{e}"));
        let t = c.tls.as_ref().expect("tls");
        assert_eq!(t.certs[0].names, ["a.test", "*.a.test"]);
        assert_eq!(t.min_version, crate::tls::MinVersion::Tls13);
        let again = Config::from_toml_str_in(&c.to_toml(), &dir).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.tls.expect("tls").certs.len(), 1);
        // Relative to another directory the files are not there.
        let e = Config::from_toml_str_in(TLS, &std::env::temp_dir().join("nowhere")).unwrap_err();
        assert!(
            e.to_string().contains("tls.cert[0].cert: cannot read"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn bad_names_and_mismatched_keys_name_their_paths() {
        let dir = certs("bad");
        let text = TLS.replace("a.key", "b.key") + "names = [\"ok.test\", \"a.*.test\"]\n";
        let e = Config::from_toml_str_in(&text, &dir)
            .unwrap_err()
            .to_string();
        assert!(e.contains("tls.cert[0].names[1]: \"a.*.test\""), "{e}");
        let text = TLS.replace("a.key", "b.key");
        let e = Config::from_toml_str_in(&text, &dir)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "tls.cert[0].key: key does not match certificate");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn expiry_warnings_start_fourteen_days_out() {
        let dir = certs("exp");
        let c = Config::from_toml_str_in(TLS, &dir).unwrap_or_else(|e| panic!("{e}"));
        let t = c.tls.expect("tls");
        let end = t.certs[0].not_after;
        assert!(t.expiry_warnings(end - 15 * 86_400).is_empty());
        let w = t.expiry_warnings(end - 13 * 86_400);
        assert!(
            w[0].contains("expires at") && w[0].contains("in 13 days"),
            "{w:?}"
        );
        assert!(t.expiry_warnings(end + 1)[0].contains("expired at"));
        let _ = std::fs::remove_dir_all(dir);
    }
}
