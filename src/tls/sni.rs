//! The SNI resolver: exact name, then a wildcard covering exactly one label
//! (RFC 6125 §6.4.3), then the first entry; no SNI gets the first entry. With
//! `strict` an SNI that matches nothing gets no certificate, so rustls refuses the
//! handshake. rustls' own `ResolvesServerCertUsingSni` cannot be changed once
//! built; this one is built per config generation instead, inside that
//! generation's `ServerConfig`, so a reload swaps it whole for new connections.

use std::collections::HashMap;
use std::sync::Arc;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::certs::CertEntry;

/// Certificates by name, for one config generation.
#[derive(Debug)]
pub struct SniResolver {
    /// Entries in config order; the first is the fallback.
    keys: Vec<Arc<CertifiedKey>>,
    /// Exact lower-cased name → entry.
    exact: HashMap<String, usize>,
    /// `*.example.com` stored as `example.com` → entry.
    wildcard: HashMap<String, usize>,
    strict: bool,
}

impl SniResolver {
    /// Index `certs` by their names; an earlier entry wins a name given twice.
    pub fn new(certs: &[CertEntry], strict: bool) -> Self {
        let mut exact = HashMap::new();
        let mut wildcard = HashMap::new();
        for (i, c) in certs.iter().enumerate() {
            for name in &c.names {
                match name.strip_prefix("*.") {
                    Some(parent) => wildcard.entry(parent.to_string()).or_insert(i),
                    None => exact.entry(name.clone()).or_insert(i),
                };
            }
        }
        SniResolver {
            keys: certs.iter().map(|c| Arc::clone(&c.key)).collect(),
            exact,
            wildcard,
            strict,
        }
    }

    /// The entry index for `sni` (already lower-cased by rustls), or `None` when
    /// nothing matches and the resolver is strict.
    pub fn pick(&self, sni: Option<&str>) -> Option<usize> {
        let Some(name) = sni else {
            return (!self.keys.is_empty()).then_some(0);
        };
        let name = name.trim_end_matches('.');
        if let Some(&i) = self.exact.get(name) {
            return Some(i);
        }
        if let Some((_, parent)) = name.split_once('.')
            && let Some(&i) = self.wildcard.get(parent)
        {
            return Some(i);
        }
        (!self.strict && !self.keys.is_empty()).then_some(0)
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let sni = hello.server_name().map(str::to_ascii_lowercase);
        self.pick(sni.as_deref()).map(|i| Arc::clone(&self.keys[i]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver(strict: bool) -> SniResolver {
        let names = [vec!["a.example"], vec!["b.example", "*.media.example"]];
        let mut r = SniResolver {
            keys: Vec::new(),
            exact: HashMap::new(),
            wildcard: HashMap::new(),
            strict,
        };
        for (i, list) in names.iter().enumerate() {
            for n in list {
                match n.strip_prefix("*.") {
                    Some(p) => r.wildcard.insert(p.to_string(), i),
                    None => r.exact.insert(n.to_string(), i),
                };
            }
        }
        // Keys are only cloned out by `resolve`; `pick` needs the count.
        let dummy = Arc::new(CertifiedKey::new(
            Vec::new(),
            rustls::crypto::ring::sign::any_supported_type(&test_key()).expect("key"),
        ));
        r.keys = vec![Arc::clone(&dummy), dummy];
        r
    }

    fn test_key() -> rustls_pki_types::PrivateKeyDer<'static> {
        let kp = rcgen::KeyPair::generate().expect("keypair");
        rustls_pki_types::PrivateKeyDer::Pkcs8(kp.serialize_der().into())
    }

    #[test]
    fn exact_then_one_label_wildcard_then_first() {
        let r = resolver(false);
        assert_eq!(r.pick(Some("a.example")), Some(0));
        assert_eq!(r.pick(Some("b.example")), Some(1));
        assert_eq!(r.pick(Some("x.media.example")), Some(1));
        assert_eq!(r.pick(Some("x.media.example.")), Some(1));
        // Two labels under the wildcard, or the bare parent: not covered.
        assert_eq!(r.pick(Some("y.x.media.example")), Some(0));
        assert_eq!(r.pick(Some("media.example")), Some(0));
        assert_eq!(r.pick(None), Some(0));
        assert_eq!(r.pick(Some("other.test")), Some(0));
    }

    #[test]
    fn strict_refuses_unknown_names_but_not_missing_sni() {
        let r = resolver(true);
        assert_eq!(r.pick(Some("other.test")), None);
        assert_eq!(r.pick(Some("y.x.media.example")), None);
        assert_eq!(r.pick(Some("x.media.example")), Some(1));
        assert_eq!(r.pick(None), Some(0));
    }
}
