//! The TLS-to-HTTP hand-off under fuzzing: an in-memory rustls client completes a
//! real handshake with sluice's sans-I/O server half (`tls::session::Session`), then
//! sends arbitrary bytes as application data, delivered in arbitrary ciphertext
//! pieces; the plaintext goes through sluice's request-head parsing as the request
//! reader does (a bounded head buffer, pipelined heads consumed in turn). Or, by the
//! first byte's top bit, the bytes go to the server raw, as garbage on a TLS port.
//!
//! Invariants: nothing panics; a real client's stream always decrypts; every byte
//! the client sent arrives once and in order, then EOF (close_notify).

use std::io::Write;
use std::sync::Arc;

use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConnection};
use rustls_pki_types::pem::PemObject;

use crate::core::io::consume;
use crate::http::header_slots;
use crate::http::request::{HeadLimits, MAX_HEADERS, parse_request};
use crate::tls::session::Session;
use crate::tls::{MinVersion, Settings, load_pair, server_config};

/// The head limits sluice runs with by default.
const LIMITS: HeadLimits = HeadLimits {
    max_header_bytes: 16384,
    max_headers: 100,
    max_body: 0,
};

// A fixed test CA and a leaf for `fuzz.test` it signed (ECDSA P-256, valid for
// 100 years), made for this fuzz target only; never served by anything.
const FUZZ_CA: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBiTCCAS+gAwIBAgIUOCPGmjzjfcwSw8V1xQlHmS5wSrwwCgYIKoZIzj0EAwIw\n\
GTEXMBUGA1UEAwwOc2x1aWNlIGZ1enogQ0EwIBcNMjYxMjAyMDExODU5WhgPMjEy\n\
NjExMDgwMTE4NTlaMBkxFzAVBgNVBAMMDnNsdWljZSBmdXp6IENBMFkwEwYHKoZI\n\
zj0CAQYIKoZIzj0DAQcDQgAEFsNiWjCcivhh7Dv3DYWzbBLR3VUknVZB8lqbd7Gd\n\
jDrDdZfVkXtmWwqh3QYXXRN+MISJlKAjLo+z/5skr7z9LKNTMFEwHQYDVR0OBBYE\n\
FKN/6Oud/gi2UwkKrd56Vjy949uYMB8GA1UdIwQYMBaAFKN/6Oud/gi2UwkKrd56\n\
Vjy949uYMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIhAI3YswXc\n\
L95xzO+ZlGPBWk7Uk6sn0JrqVg9KSTLfrvDgAiAGsvGrkLqQrEEUp+Xec9cxhk4x\n\
N6S+tX6ScmkSgFHi9A==\n\
-----END CERTIFICATE-----\n\
";
const FUZZ_CERT: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBlTCCATqgAwIBAgIUQ+4pPEwmQgq42YOHfEgmoqXpt8MwCgYIKoZIzj0EAwIw\n\
GTEXMBUGA1UEAwwOc2x1aWNlIGZ1enogQ0EwIBcNMjYxMjAyMDExODU5WhgPMjEy\n\
NjExMDgwMTE4NTlaMBQxEjAQBgNVBAMMCWZ1enoudGVzdDBZMBMGByqGSM49AgEG\n\
CCqGSM49AwEHA0IABBZLSKjBVvUdueEcwfwHBV7rqY4qR2fyDle7iYevBVGVxmeH\n\
7WR/o02YBKiqtZ3lGPrqfW4WLc+dvNUspdh889OjYzBhMBQGA1UdEQQNMAuCCWZ1\n\
enoudGVzdDAJBgNVHRMEAjAAMB0GA1UdDgQWBBTyJHZY6DW/d823RcqOYCCi2Kbh\n\
KjAfBgNVHSMEGDAWgBSjf+jrnf4ItlMJCq3eelY8vePbmDAKBggqhkjOPQQDAgNJ\n\
ADBGAiEAmgBrDf/1rJCJZONdRgu/7AyPCWEJA9Ss+WOQOX/rdZ4CIQDUC2/2e3WN\n\
JG+pYu9plCAPzb1vEbQXwHOuCJeK1sJ+1A==\n\
-----END CERTIFICATE-----\n\
";
const FUZZ_KEY: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg63vooVvoCAO/FqsA\n\
WK0ak7suBocii8bLnT7O1p4/zUmhRANCAAQWS0iowVb1HbnhHMH8BwVe66mOKkdn\n\
8g5Xu4mHrwVRlcZnh+1kf6NNmASoqrWd5Rj66n1uFi3PnbzVLKXYfPPT\n\
-----END PRIVATE KEY-----\n\
";

/// The server and client configs, built once per thread.
fn configs() -> Option<(Arc<rustls::ServerConfig>, Arc<ClientConfig>)> {
    thread_local! {
        static CONFIGS: Option<(Arc<rustls::ServerConfig>, Arc<ClientConfig>)> = build_configs();
    }
    CONFIGS.with(Clone::clone)
}

fn build_configs() -> Option<(Arc<rustls::ServerConfig>, Arc<ClientConfig>)> {
    let entry = load_pair(FUZZ_CERT.as_bytes(), FUZZ_KEY.as_bytes(), &[]).ok()?;
    let alpn = ["http/1.1".to_string()];
    let server = server_config(&Settings {
        certs: std::slice::from_ref(&entry),
        min_version: MinVersion::Tls12,
        alpn: &alpn,
        strict_sni: false,
    })
    .ok()?;
    let mut roots = RootCertStore::empty();
    for ca in rustls_pki_types::CertificateDer::pem_slice_iter(FUZZ_CA.as_bytes()) {
        roots.add(ca.ok()?).ok()?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut client = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.alpn_protocols = vec![b"http/1.1".to_vec()];
    Some((server, Arc::new(client)))
}

/// Run the client and server handshake to its end in memory.
fn handshake(client: &mut ClientConnection, server: &mut Session) -> bool {
    for _ in 0..16 {
        let mut to_server = Vec::new();
        while client.wants_write() {
            if client.write_tls(&mut to_server).is_err() {
                return false;
            }
        }
        server.push_ciphertext(&to_server);
        if server.feed().is_err() {
            return false;
        }
        let mut to_client = Vec::new();
        while server.tls.wants_write() {
            if server.tls.write_tls(&mut to_client).is_err() {
                return false;
            }
        }
        if client.read_tls(&mut &to_client[..]).is_err() || client.process_new_packets().is_err() {
            return false;
        }
        if !client.is_handshaking() && !server.tls.is_handshaking() {
            return true;
        }
    }
    false
}

/// Parse and consume every complete head in `head` (pipelined requests); `false`
/// once the connection would be closed (a refused head, or a full buffer without
/// a complete head).
fn parse_heads(head: &mut Vec<u8>) -> bool {
    loop {
        let mut slots = header_slots::<MAX_HEADERS>();
        let len = match parse_request(head, &mut slots, &LIMITS) {
            Ok(Some(h)) => h.head_len,
            Ok(None) => return head.len() < LIMITS.max_header_bytes,
            Err(_) => return false,
        };
        assert!(
            len > 0 && len <= head.len(),
            "head length {len} of {}",
            head.len()
        );
        consume(head, len);
    }
}

/// Garbage straight onto a TLS port: an error or a wait for more, never a panic.
fn raw(data: &[u8]) {
    let Some((server, _)) = configs() else {
        return;
    };
    let Ok(conn) = ServerConnection::new(server) else {
        return;
    };
    let mut session = Session::new(conn);
    session.push_ciphertext(data);
    let mut out = Vec::with_capacity(LIMITS.max_header_bytes + 1);
    let _ = session.take_plain(&mut out);
    session.eof = true;
    let _ = session.take_plain(&mut out);
}

/// See the module docs. `data[0]`: top bit = raw mode, else the ciphertext piece
/// size (in units of 61 bytes, plus one); the rest is what the client sends.
pub fn tls_handoff(data: &[u8]) {
    let Some((&first, sent)) = data.split_first() else {
        return;
    };
    if first & 0x80 != 0 {
        return raw(sent);
    }
    let (server, client) = configs().expect("the fixed fuzz certificate loads");
    let name = rustls_pki_types::ServerName::try_from("fuzz.test").expect("a DNS name");
    let mut client = ClientConnection::new(client, name).expect("client");
    let mut session = Session::new(ServerConnection::new(server).expect("server"));
    assert!(
        handshake(&mut client, &mut session),
        "the in-memory handshake failed"
    );
    client.set_buffer_limit(None);
    client.writer().write_all(sent).expect("client plaintext");
    client.send_close_notify();
    let mut wire = Vec::new();
    while client.wants_write() {
        client.write_tls(&mut wire).expect("client ciphertext");
    }
    let piece = usize::from(first) * 61 + 1;
    let mut head = Vec::with_capacity(LIMITS.max_header_bytes + 1);
    let mut seen = Vec::new();
    let mut parsing = true;
    let mut eof = false;
    for chunk in wire.chunks(piece) {
        session.push_ciphertext(chunk);
        loop {
            if head.len() == head.capacity() {
                // A full head buffer without a complete head: 431, close.
                parsing = false;
            }
            if !parsing {
                head.clear();
            }
            match session.take_plain(&mut head) {
                Ok(Some(0)) => {
                    eof = true;
                    break;
                }
                Ok(Some(n)) => {
                    seen.extend_from_slice(&head[head.len() - n..]);
                    parsing = parsing && parse_heads(&mut head);
                }
                Ok(None) => break,
                Err(e) => panic!("a real client's stream failed to decrypt: {e}"),
            }
        }
    }
    assert!(
        seen == sent,
        "plaintext lost or reordered: {} of {} bytes",
        seen.len(),
        sent.len()
    );
    assert!(eof, "close_notify not seen as EOF");
}
