//! Byte tunnel after `101 Switching Protocols` (WebSocket and other upgrades): copy
//! both directions until either side closes or stays silent past the idle timeout.
//!
//! A plain client's socket is split and each direction pumps on its own. A TLS
//! client's stream cannot be split (both directions drive one rustls state), so one
//! loop waits for either side to be readable and moves what that side has.

use monoio::io::Splitable;
use monoio::io::{AsyncReadRent, AsyncWriteRent};
use monoio::net::TcpStream;

use crate::core::io::{ByteStream, read_append, write_all};
use crate::core::timers::Timeout;
use crate::tls::TlsStream;
use crate::upstream::connect::UpstreamConn;

use super::client::ClientStream;

/// Tunnel between `client` and `upstream`, first delivering bytes already read from
/// each side.
pub async fn tunnel(
    client: ClientStream,
    upstream: UpstreamConn,
    client_pending: Vec<u8>,
    upstream_pending: Vec<u8>,
    idle: Timeout<'_>,
) {
    match client {
        ClientStream::Plain(c) => {
            plain_tunnel(c, upstream, client_pending, upstream_pending, idle).await
        }
        ClientStream::Tls(mut t) => {
            let UpstreamConn {
                stream: mut up,
                open: _open,
            } = upstream;
            tls_tunnel(&mut t, &mut up, client_pending, upstream_pending, idle).await;
            let _ = idle.run(t.close()).await;
            let _ = up.shutdown().await;
        }
    }
}

/// Which side of a TLS tunnel has bytes.
enum HasBytes {
    Client,
    Upstream,
    Idle,
}

/// One loop for both directions of a TLS client's tunnel.
async fn tls_tunnel(
    client: &mut TlsStream,
    up: &mut TcpStream,
    mut to_up: Vec<u8>,
    mut to_client: Vec<u8>,
    idle: Timeout<'_>,
) {
    to_up.reserve(16 * 1024);
    to_client.reserve(16 * 1024);
    loop {
        if !to_up.is_empty() {
            let (r, b) = write_all(up, to_up, idle).await;
            to_up = b;
            if r.is_err() {
                return;
            }
            to_up.clear();
        }
        if !to_client.is_empty() {
            if !matches!(idle.run(client.write_all(&to_client)).await, Some(Ok(()))) {
                return;
            }
            to_client.clear();
        }
        let side = monoio::select! {
            _ = client.readable() => HasBytes::Client,
            _ = up.readable(false) => HasBytes::Upstream,
            _ = idle.expiry() => HasBytes::Idle,
        };
        let got = match side {
            HasBytes::Client => {
                matches!(idle.run(client.read_append(&mut to_up, None)).await, Some(Ok(n)) if n > 0)
            }
            HasBytes::Upstream => {
                let (r, b) = up.read_some(to_client, idle).await;
                to_client = b;
                r.is_ok()
            }
            HasBytes::Idle => false,
        };
        if !got {
            return;
        }
    }
}

/// Tunnel a plain client: each direction pumps on its own.
async fn plain_tunnel(
    client: TcpStream,
    upstream: UpstreamConn,
    client_pending: Vec<u8>,
    upstream_pending: Vec<u8>,
    idle: Timeout<'_>,
) {
    let (mut cr, mut cw) = client.into_split();
    // The connection stays counted as open until the tunnel ends.
    let UpstreamConn {
        stream: upstream,
        open: _open,
    } = upstream;
    let (mut ur, mut uw) = upstream.into_split();
    let up = pump(&mut cr, &mut uw, client_pending, idle);
    let down = pump(&mut ur, &mut cw, upstream_pending, idle);
    monoio::join!(up, down);
}

/// Copy from `src` to `dst` until EOF, error or idle timeout, then shut down `dst`'s
/// write side so the peer sees the close.
async fn pump<R: AsyncReadRent, W: AsyncWriteRent>(
    src: &mut R,
    dst: &mut W,
    pending: Vec<u8>,
    idle: Timeout<'_>,
) {
    let mut buf = pending;
    if buf.capacity() < 16 * 1024 {
        buf.reserve(16 * 1024 - buf.len());
    }
    loop {
        if !buf.is_empty() {
            let (r, b) = write_all(dst, buf, idle).await;
            buf = b;
            if r.is_err() {
                break;
            }
            buf.clear();
        }
        let (r, b) = read_append(src, buf, idle).await;
        buf = b;
        if r.is_err() {
            break;
        }
    }
    let _ = dst.shutdown().await;
}
