//! Opening upstream connections. The caller bounds the wait (`upstream_connect`)
//! with its worker's coarse timers; this module knows no clock.

use std::io;
use std::net::SocketAddr;

use monoio::net::TcpStream;

/// Connect to `addr` with TCP_NODELAY.
pub async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_addr(addr).await?;
    // Heads and small bodies go out in one write each; Nagle only adds delay.
    let _ = stream.set_nodelay(true);
    Ok(stream)
}
