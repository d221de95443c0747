//! Opening upstream connections. The caller bounds the wait (`upstream_connect`)
//! with its worker's coarse timers; this module knows no clock.

use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use monoio::net::TcpStream;

use crate::control::ServerStats;

/// An open upstream connection (in use or pooled idle).
pub struct UpstreamConn {
    /// The socket.
    pub stream: TcpStream,
    /// Keeps it counted while it is open.
    pub open: OpenConn,
}

/// Counts one open connection in its server's `open_conns` (summed for
/// `sluice_connections{side="upstream"}`) until dropped with the socket.
pub struct OpenConn(Arc<ServerStats>);

impl OpenConn {
    /// The server the connection goes to.
    pub fn server(&self) -> &ServerStats {
        &self.0
    }
}

impl Drop for OpenConn {
    fn drop(&mut self) {
        self.0.open_conns.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Connect to `server` with TCP_NODELAY.
pub async fn connect(server: &Arc<ServerStats>) -> io::Result<UpstreamConn> {
    let stream = TcpStream::connect_addr(server.addr).await?;
    // Heads and small bodies go out in one write each; Nagle only adds delay.
    let _ = stream.set_nodelay(true);
    server.open_conns.fetch_add(1, Ordering::Relaxed);
    server.connects.fetch_add(1, Ordering::Relaxed);
    Ok(UpstreamConn {
        stream,
        open: OpenConn(Arc::clone(server)),
    })
}
