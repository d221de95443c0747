//! Byte tunnel after `101 Switching Protocols` (WebSocket and other upgrades): copy
//! both directions until either side closes or stays silent past the idle timeout.

use monoio::io::Splitable;
use monoio::io::{AsyncReadRent, AsyncWriteRent};
use monoio::net::TcpStream;

use crate::core::io::{read_append, write_all};
use crate::core::timers::Timeout;
use crate::upstream::connect::UpstreamConn;

/// Tunnel between `client` and `upstream`, first delivering bytes already read from
/// each side.
pub async fn tunnel(
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
