//! The data path's I/O layer in process, over loopback socket pairs, on both monoio
//! drivers (`test_all` runs each test as `uring_*` and `legacy_*`): the timed read
//! and write helpers, the three body relays, and the bounded splice, including the
//! next keep-alive request's bytes right behind a spliced body.
//!
//! Timeouts are coarse timers passed in, as on a worker: each test makes a set
//! (`timers`) whose ticks a spawned task drives with monoio's timer, so every
//! runtime here enables it.
//!
//! Each relay test has four sockets: `origin` writes what `src` reads, and `dst`
//! writes what `client` reads.
//!
//! `io_helpers`: the timed reads and writes; `length`: `relay_length`, copied and
//! spliced; `chunked`: `relay_chunked` and `relay_until_eof`.

mod chunked;
mod io_helpers;
mod length;

use std::os::fd::AsRawFd;
use std::time::Duration;

use monoio::buf::IoBufMut;
use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::{TcpListener, TcpStream};

// The modules under test, named once (the other files reach them through these
// names): moving them, to `sluice::core` say, changes these two lines only.
use sluice::core::{io as sio, timers::CoarseTimers};
use sluice::proxy::body;
use sluice::upstream::splice;

use body::RelayTimeouts;

/// Generous: a test that passes never waits for it.
const LONG: Duration = Duration::from_secs(5);

/// Coarse timers for one test, ticking (driven by a spawned task) until it ends.
fn timers() -> &'static CoarseTimers {
    let t: &'static CoarseTimers = Box::leak(Box::new(CoarseTimers::new()));
    monoio::spawn(t.drive());
    t
}

/// `LONG` both ways.
fn timeouts(t: &CoarseTimers) -> RelayTimeouts<'_> {
    RelayTimeouts {
        read: t.after(LONG),
        write: t.after(LONG),
    }
}

/// The next request on the same keep-alive connection, right behind a body.
const NEXT: &[u8] = b"GET /next HTTP/1.1\r\nHost: t\r\n\r\n";

/// Two ends of one loopback TCP connection.
async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let a = TcpStream::connect(addr).await.expect("connect");
    let (b, _) = listener.accept().await.expect("accept");
    (a, b)
}

/// `n` bytes of a pattern that shows misplaced bytes.
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// Read exactly `n` bytes (never more); panics on EOF or an error.
async fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let want = (n - out.len()).min(1 << 16);
        let (r, buf) = s.read(Vec::with_capacity(want).slice_mut(0..want)).await;
        let got = r.expect("read");
        assert!(got > 0, "EOF after {} of {n} bytes", out.len());
        out.extend_from_slice(&buf.into_inner());
    }
    out
}

/// Read until the peer closes.
async fn read_to_end(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let (r, buf) = s.read(Vec::with_capacity(1 << 16)).await;
        match r {
            Ok(0) | Err(_) => return out,
            Ok(_) => out.extend_from_slice(&buf),
        }
    }
}

/// Write `bytes` from `peer` in a task; the peer comes back (still open) when done.
fn feed(mut peer: TcpStream, bytes: Vec<u8>) -> monoio::task::JoinHandle<TcpStream> {
    monoio::spawn(async move {
        let (r, _) = peer.write_all(bytes).await;
        r.expect("feed");
        peer
    })
}

/// Read exactly `n` bytes from `peer` in a task.
fn drain(mut peer: TcpStream, n: usize) -> monoio::task::JoinHandle<(TcpStream, Vec<u8>)> {
    monoio::spawn(async move {
        let got = read_n(&mut peer, n).await;
        (peer, got)
    })
}

/// After a relay returned `left` (its read-ahead past the body), the bytes that
/// follow the body on the source connection: `left`, then what `src` still holds.
async fn after_body(src: &mut TcpStream, left: Vec<u8>, n: usize) -> Vec<u8> {
    assert!(
        left.len() <= n,
        "read ahead past the next request: {left:?}"
    );
    let mut out = left;
    let rest = read_n(src, n - out.len()).await;
    out.extend_from_slice(&rest);
    out
}

/// The socket's receive low-water mark (SO_RCVLOWAT).
fn rcvlowat(s: &TcpStream) -> i32 {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt on an open socket writes one c_int into the valid `v` and
    // its size into `len`.
    let r = unsafe {
        libc::getsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVLOWAT,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    assert_eq!(r, 0, "getsockopt: {}", std::io::Error::last_os_error());
    v
}
