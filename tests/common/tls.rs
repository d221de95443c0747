//! TLS test kit: a test CA whose leaf certificates (rcgen, ECDSA P-256) are written
//! as PEM files, a rustls client trusting that CA, the `[tls]` section of a config,
//! and runners for curl and `openssl s_client`.
#![allow(dead_code)]

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use super::client::Conn;
use super::config::quote;

/// A certificate authority made for one test.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    der: CertificateDer<'static>,
    /// The CA certificate as a PEM file (for curl, openssl, ffmpeg).
    pub pem: PathBuf,
}

/// A leaf certificate and key written as PEM files.
pub struct Leaf {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The leaf's DER, to compare with what a server presented.
    pub der: Vec<u8>,
}

impl TestCa {
    /// A new CA; its certificate is written to `dir/ca.pem`.
    pub fn new(dir: &Path) -> TestCa {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "sluice test CA");
        let cert = params.self_signed(&key).expect("CA cert");
        let pem = dir.join("ca.pem");
        std::fs::write(&pem, cert.pem()).expect("write CA");
        TestCa {
            issuer: Issuer::new(params, key),
            der: cert.der().clone(),
            pem,
        }
    }

    /// A leaf for `names` (its CN is the first name), valid for `days` from now,
    /// written to `dir/STEM.pem` and `dir/STEM.key`.
    pub fn leaf(&self, dir: &Path, stem: &str, names: &[&str], days: u64) -> Leaf {
        let key = KeyPair::generate().expect("leaf key");
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).expect("leaf params");
        params
            .distinguished_name
            .push(DnType::CommonName, &names[0]);
        params.not_before = (SystemTime::now() - Duration::from_secs(3600)).into();
        params.not_after = (SystemTime::now() + Duration::from_secs(days * 86_400)).into();
        let cert = params.signed_by(&key, &self.issuer).expect("sign leaf");
        let leaf = Leaf {
            cert: dir.join(format!("{stem}.pem")),
            key: dir.join(format!("{stem}.key")),
            der: cert.der().to_vec(),
        };
        std::fs::write(&leaf.cert, cert.pem()).expect("write cert");
        std::fs::write(&leaf.key, key.serialize_pem()).expect("write key");
        leaf
    }

    /// A rustls client config trusting this CA only.
    pub fn client_config(&self) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots.add(self.der.clone()).expect("add CA");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        Arc::new(
            ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("versions")
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    }
}

/// A TLS client connection (handshake done) as the kit's HTTP client.
pub type TlsConn = Conn<StreamOwned<ClientConnection, TcpStream>>;

/// Connect to `addr` with SNI `name`, trusting `ca`; the handshake is finished
/// (or failed: `Err` with rustls' reason) before this returns.
pub fn connect(addr: SocketAddr, name: &str, ca: &TestCa) -> Result<TlsConn, String> {
    let server = ServerName::try_from(name.to_string()).map_err(|e| e.to_string())?;
    let mut conn = ClientConnection::new(ca.client_config(), server).map_err(|e| e.to_string())?;
    let mut sock = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(10))).ok();
    while conn.is_handshaking() {
        conn.complete_io(&mut sock).map_err(|e| e.to_string())?;
    }
    Ok(Conn::over(StreamOwned::new(conn, sock)))
}

/// The DER of the leaf certificate the server presented.
pub fn presented(conn: &TlsConn) -> Vec<u8> {
    conn.stream
        .conn
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.to_vec())
        .unwrap_or_default()
}

/// A `[tls]` section listening on `127.0.0.1:0` with these certificates, plus
/// `extra` lines of `[tls]` (e.g. `min_version = "1.3"`).
pub fn section(extra: &str, certs: &[&Leaf]) -> String {
    let mut out = format!("[tls]\nlisten = [\"127.0.0.1:0\"]\n{extra}\n");
    for c in certs {
        out.push_str(&format!(
            "[[tls.cert]]\ncert = {}\nkey = {}\n",
            quote(&c.cert.display().to_string()),
            quote(&c.key.display().to_string())
        ));
    }
    out
}

/// Run curl (silent, errors shown, 30 s at most) with `args`.
pub fn curl(args: &[&str]) -> Output {
    Command::new("curl")
        .args(["-sS", "--max-time", "30"])
        .args(args)
        .output()
        .expect("run curl")
}

/// curl options resolving `name` to the TLS listener at `addr` and trusting `ca`,
/// then the URL `https://name:port/path`.
pub fn https(addr: SocketAddr, name: &str, ca: &TestCa, path: &str) -> Vec<String> {
    vec![
        "--cacert".into(),
        ca.pem.display().to_string(),
        "--resolve".into(),
        format!("{name}:{}:127.0.0.1", addr.port()),
        format!("https://{name}:{}{path}", addr.port()),
    ]
}

/// Run `openssl s_client` against `addr` with SNI `name` (none when empty), trusting `ca`, with
/// `extra` options and `input` on its stdin; its stdout and stderr together.
pub fn s_client(addr: SocketAddr, name: &str, ca: &TestCa, extra: &[&str], input: &[u8]) -> String {
    let sni = if name.is_empty() {
        vec!["-noservername"]
    } else {
        vec!["-servername", name]
    };
    let mut child = Command::new("openssl")
        .arg("s_client")
        .arg("-connect")
        .arg(addr.to_string())
        .args(sni)
        .arg("-CAfile")
        .arg(&ca.pem)
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run openssl s_client");
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input);
        // Give the server time to answer (and send its session tickets) before
        // EOF on stdin makes s_client close.
        std::thread::sleep(Duration::from_millis(300));
    }
    let out = child.wait_with_output().expect("s_client output");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
