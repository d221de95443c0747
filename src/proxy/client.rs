//! The client side of one connection: its socket, the bytes read from it and not
//! yet consumed, and its peer address. Shared by the connection loop, request
//! reading and the exchange, so none of them depends on another for it.

use std::net::SocketAddr;

use monoio::net::TcpStream;

/// The client side of a connection.
pub struct ClientConn {
    /// The socket.
    pub stream: TcpStream,
    /// Bytes read and not yet consumed (empty with no capacity while idle).
    pub buf: Vec<u8>,
    /// The peer address.
    pub peer: SocketAddr,
}
