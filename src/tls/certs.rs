//! Certificate entries: a PEM chain and its private key read and checked as a pair,
//! with the names SNI selects them by (given, or the leaf's DNS SANs) and the leaf's
//! notAfter for the status page, the expiry metric and `sluice check`'s warning.

use std::sync::Arc;

use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// A loaded, checked certificate with the names it answers for.
#[derive(Debug, Clone)]
pub struct CertEntry {
    /// Lower-cased DNS names (`*.example.com` for a wildcard); never empty.
    pub names: Vec<String>,
    /// The leaf's notAfter, seconds since the Unix epoch.
    pub not_after: i64,
    /// The chain and signing key rustls serves.
    pub key: Arc<CertifiedKey>,
}

/// Which half of a pair is at fault, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairError {
    /// The certificate chain (`.cert`).
    Cert(String),
    /// The private key, or its match with the certificate (`.key`).
    Key(String),
}

/// Parse a PEM chain and a PEM key into a checked entry. `names` empty: the leaf's
/// DNS subject alternative names.
pub fn load_pair(
    cert_pem: &[u8],
    key_pem: &[u8],
    names: &[String],
) -> Result<CertEntry, PairError> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PairError::Cert(format!("not a PEM certificate chain: {e}")))?;
    let Some(leaf) = chain.first() else {
        return Err(PairError::Cert("no CERTIFICATE block in the file".into()));
    };
    let facts = leaf_facts(leaf).map_err(PairError::Cert)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| PairError::Key(format!("not a PEM private key: {e}")))?;
    let signer = rustls::crypto::ring::sign::any_supported_type(&key)
        .map_err(|e| PairError::Key(format!("unsupported private key: {e}")))?;
    let certified = CertifiedKey::new(chain, signer);
    certified
        .keys_match()
        .map_err(|_| PairError::Key("key does not match certificate".into()))?;
    let names: Vec<String> = if names.is_empty() {
        facts.dns_names
    } else {
        names.iter().map(|n| n.to_ascii_lowercase()).collect()
    };
    if names.is_empty() {
        return Err(PairError::Cert(
            "the certificate has no DNS names: give `names`".into(),
        ));
    }
    Ok(CertEntry {
        names,
        not_after: facts.not_after,
        key: Arc::new(certified),
    })
}

/// What sluice reads from a leaf certificate.
struct LeafFacts {
    dns_names: Vec<String>,
    not_after: i64,
}

fn leaf_facts(der: &CertificateDer<'_>) -> Result<LeafFacts, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref())
        .map_err(|e| format!("not an X.509 certificate: {e}"))?;
    let mut dns_names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(n) = name {
                dns_names.push(n.to_ascii_lowercase());
            }
        }
    }
    Ok(LeafFacts {
        dns_names,
        not_after: cert.validity().not_after.timestamp(),
    })
}

/// Whether `name` is a DNS name or a one-label wildcard (`*.example.com`) that a
/// certificate entry may be selected by.
pub fn valid_name(name: &str) -> bool {
    let rest = name.strip_prefix("*.").unwrap_or(name);
    !rest.is_empty()
        && rest.len() <= 253
        && rest.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Seconds since the Unix epoch now (0 if the clock is before it).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `secs` since the Unix epoch as RFC 3339 UTC (`2027-01-31T12:00:00Z`).
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_798_761_599), "2026-12-31T23:59:59Z");
    }

    #[test]
    fn names() {
        for ok in ["a.example", "*.example.com", "x-1.y"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "*.", "a..b", "a.*.b", "*", "a b", "a:80"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(
            load_pair(b"junk", b"junk", &[]),
            Err(PairError::Cert(_))
        ));
        let bad = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(matches!(load_pair(bad, b"", &[]), Err(PairError::Cert(_))));
    }
}
