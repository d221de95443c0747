//! One active health check: connect, send `GET <path>`, read the status line, all
//! within the check's timeout.

use std::net::SocketAddr;
use std::time::Duration;

use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::TcpStream;

use crate::config::StatusRange;

/// Run one check; `true` when the status is in `expect`.
pub async fn check(addr: SocketAddr, path: &str, timeout: Duration, expect: StatusRange) -> bool {
    matches!(monoio::time::timeout(timeout, fetch_status(addr, path)).await, Ok(Some(code)) if (expect.lo..=expect.hi).contains(&code))
}

async fn fetch_status(addr: SocketAddr, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect_addr(addr).await.ok()?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: sluice-health\r\nConnection: close\r\n\r\n"
    );
    let (r, _) = stream.write_all(request.into_bytes()).await;
    r.ok()?;
    let mut buf = Vec::with_capacity(1024);
    loop {
        let len = buf.len();
        if len == buf.capacity() {
            return None;
        }
        let (r, b) = stream
            .read(monoio::buf::IoBufMut::slice_mut(buf, len..1024))
            .await;
        buf = b.into_inner();
        if r.ok()? == 0 {
            return None;
        }
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut resp = httparse::Response::new(&mut headers);
        match resp.parse(&buf) {
            Ok(httparse::Status::Complete(_)) => return resp.code,
            Ok(httparse::Status::Partial) => continue,
            // Too many headers still told us the status line.
            Err(httparse::Error::TooManyHeaders) => return resp.code,
            Err(_) => return None,
        }
    }
}
