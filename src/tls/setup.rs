//! One config generation's rustls `ServerConfig`: its protocol versions, ALPN and
//! SNI resolver. Resumption state is process-wide, not per generation: one ticket
//! key rotator (`rustls::crypto::ring::Ticketer`, created once) and one stateful
//! session cache are put into every generation's config, so a session ticket or
//! session id issued before a reload still resumes after it.

use std::sync::{Arc, OnceLock};

use rustls::server::{ProducesTickets, ServerSessionMemoryCache, StoresServerSessions};
use rustls::{ServerConfig, SupportedProtocolVersion};

use super::certs::CertEntry;
use super::sni::SniResolver;

/// Sessions kept by the stateful cache (TLS 1.2 session ids, and TLS 1.3 when a
/// client asks for no ticket); a few hundred bytes each.
const SESSION_CACHE_SIZE: usize = 16 * 1024;

/// Lowest TLS version offered (`tls.min_version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MinVersion {
    /// TLS 1.2 and 1.3.
    Tls12,
    /// TLS 1.3 only.
    Tls13,
}

/// What a generation's TLS setup is built from (validated config values).
pub struct Settings<'a> {
    /// Certificates; at least one.
    pub certs: &'a [CertEntry],
    /// Lowest version.
    pub min_version: MinVersion,
    /// ALPN protocol ids, in preference order.
    pub alpn: &'a [String],
    /// Refuse a handshake whose SNI matches no certificate.
    pub strict_sni: bool,
}

/// The process's ticket key rotator, made on first use.
fn ticketer() -> Result<Arc<dyn ProducesTickets>, String> {
    static TICKETER: OnceLock<Result<Arc<dyn ProducesTickets>, String>> = OnceLock::new();
    TICKETER
        .get_or_init(|| {
            rustls::crypto::ring::Ticketer::new().map_err(|e| format!("session tickets: {e}"))
        })
        .clone()
}

/// The process's stateful session cache, made on first use.
fn session_cache() -> Arc<dyn StoresServerSessions> {
    static CACHE: OnceLock<Arc<ServerSessionMemoryCache>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| ServerSessionMemoryCache::new(SESSION_CACHE_SIZE));
    Arc::clone(cache) as Arc<dyn StoresServerSessions>
}

/// Build a generation's rustls config.
pub fn server_config(s: &Settings<'_>) -> Result<Arc<ServerConfig>, String> {
    static BOTH: [&SupportedProtocolVersion; 2] =
        [&rustls::version::TLS13, &rustls::version::TLS12];
    static TLS13: [&SupportedProtocolVersion; 1] = [&rustls::version::TLS13];
    let versions: &[&SupportedProtocolVersion] = match s.min_version {
        MinVersion::Tls12 => &BOTH,
        MinVersion::Tls13 => &TLS13,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|e| format!("TLS versions: {e}"))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(SniResolver::new(s.certs, s.strict_sni)));
    config.alpn_protocols = s.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    config.ticketer = ticketer()?;
    config.session_storage = session_cache();
    Ok(Arc::new(config))
}
