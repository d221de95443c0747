//! Opening upstream connections within `upstream_connect`.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use monoio::net::TcpStream;

/// Why an upstream connection could not be opened.
#[derive(Debug)]
pub enum ConnectError {
    /// Refused, unreachable or reset during the handshake.
    Failed(io::Error),
    /// No answer within the connect timeout.
    TimedOut,
}

/// Connect to `addr` with TCP_NODELAY, giving up after `timeout`.
pub async fn connect(addr: SocketAddr, timeout: Duration) -> Result<TcpStream, ConnectError> {
    match monoio::time::timeout(timeout, TcpStream::connect_addr(addr)).await {
        Ok(Ok(stream)) => {
            // Heads and small bodies go out in one write each; Nagle only adds delay.
            let _ = stream.set_nodelay(true);
            Ok(stream)
        }
        Ok(Err(e)) => Err(ConnectError::Failed(e)),
        Err(_) => Err(ConnectError::TimedOut),
    }
}
