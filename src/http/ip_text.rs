//! A client address as text, held inline: X-Forwarded-For and `client_ip` hashing
//! need the peer's address as bytes for every request, and a heap `String` per
//! connection would cost an allocation and stay resident while the connection idles.

use std::io::Write;
use std::net::IpAddr;

/// Longest textual IP address (an IPv4-mapped IPv6 address).
const MAX_LEN: usize = 45;

/// The textual form of an IP address, without allocation.
#[derive(Clone, Copy)]
pub struct IpText {
    bytes: [u8; MAX_LEN],
    len: u8,
}

impl IpText {
    /// Format `ip` as `Display` does (`127.0.0.1`, `::1`).
    pub fn new(ip: IpAddr) -> Self {
        let mut bytes = [0u8; MAX_LEN];
        let mut cursor = &mut bytes[..];
        // Every address fits in MAX_LEN, so the write cannot fall short; if it ever
        // did, the text would be cut at the buffer's end rather than panic.
        let _ = write!(cursor, "{ip}");
        let len = MAX_LEN - cursor.len();
        IpText {
            bytes,
            len: len as u8,
        }
    }

    /// The text as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn formats_like_display() {
        for ip in [
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)),
            IpAddr::V4(Ipv4Addr::new(255, 255, 255, 255)),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::new(0xfe80, 1, 2, 3, 4, 5, 6, 7)),
            IpAddr::V6(Ipv4Addr::new(255, 255, 255, 255).to_ipv6_mapped()),
            IpAddr::V6(Ipv6Addr::new(
                0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff,
            )),
        ] {
            assert_eq!(
                IpText::new(ip).as_bytes(),
                ip.to_string().as_bytes(),
                "{ip}"
            );
        }
    }
}
