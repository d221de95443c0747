//! The data path's I/O layer in process, over loopback socket pairs, on both monoio
//! drivers (`test_all` runs each test as `uring_*` and `legacy_*`): the timed read
//! and write helpers, the three body relays, and the bounded splice, including the
//! next keep-alive request's bytes right behind a spliced body.
//!
//! Off a worker thread the helpers' timeouts fall back to monoio's timer (`timed` in
//! `coarse_timers`: a worker has its own coarse timers, these test threads do not),
//! and the splice waits use monoio's timer too, so every runtime here enables it;
//! without it the first timed operation panics ("maybe you have not enable_timer").
//!
//! Each relay test has four sockets: `origin` writes what `src` reads, and `dst`
//! writes what `client` reads.

use std::cell::RefCell;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use monoio::buf::IoBufMut;
use monoio::io::{AsyncReadRent, AsyncWriteRent, AsyncWriteRentExt};
use monoio::net::{TcpListener, TcpStream};

// The modules under test, named once: moving them (to `sluice::core`, say) changes
// these two lines only.
use sluice::proxy::{body, io as sio};
use sluice::upstream::splice;

use body::{ChunkedRelay, RelayError, RelayTimeouts, relay_chunked, relay_length, relay_until_eof};
use sio::{IoFail, consume, read_append, write_all, write_range};
use splice::{PipePool, SPLICE_MIN_BODY};

/// Generous: a test that passes never waits for it.
const LONG: Duration = Duration::from_secs(5);

const TIMEOUTS: RelayTimeouts = RelayTimeouts {
    read: LONG,
    write: LONG,
};

/// The next request on the same keep-alive connection, right behind a body.
const NEXT: &[u8] = b"GET /next HTTP/1.1\r\nHost: t\r\n\r\n";

// === helpers ===

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

// === io: read_append, write_range, write_all, consume ===

#[monoio::test_all(timer_enabled = true)]
async fn read_append_appends_after_the_buffered_bytes_and_grows_a_full_buffer() {
    let (mut peer, mut s) = pair().await;
    let (r, _) = peer.write_all(b"cdef".to_vec()).await;
    r.expect("write");
    let mut buf = Vec::with_capacity(16);
    buf.extend_from_slice(b"ab");
    let (r, buf) = read_append(&mut s, buf, LONG).await;
    assert_eq!(r.expect("read"), 4);
    assert_eq!(buf, b"abcdef");
    // A buffer with no room left is grown rather than read into nothing.
    let mut full = Vec::with_capacity(4);
    full.extend_from_slice(b"wxyz");
    assert_eq!(full.len(), full.capacity());
    let (r, _) = peer.write_all(b"more".to_vec()).await;
    r.expect("write");
    let (r, full) = read_append(&mut s, full, LONG).await;
    assert_eq!(r.expect("read"), 4);
    assert_eq!(full, b"wxyzmore");
    // EOF is its own failure, and the buffer comes back intact.
    drop(peer);
    let (r, full) = read_append(&mut s, full, LONG).await;
    assert!(matches!(r, Err(IoFail::Eof)), "{r:?}");
    assert_eq!(full, b"wxyzmore");
}

#[monoio::test_all(timer_enabled = true)]
async fn read_append_times_out_and_gives_back_an_empty_buffer() {
    let (_silent, mut s) = pair().await;
    let started = Instant::now();
    let (r, buf) = read_append(&mut s, b"kept?".to_vec(), Duration::from_millis(100)).await;
    assert!(matches!(r, Err(IoFail::Timeout)), "{r:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "{:?}",
        started.elapsed()
    );
    // The cancelled read took the buffer with it (the connection is closed anyway).
    assert!(buf.is_empty(), "{buf:?}");
}

#[monoio::test_all(timer_enabled = true)]
async fn write_range_sends_only_its_range_and_returns_the_buffer() {
    let (mut s, mut peer) = pair().await;
    let (r, buf) = write_range(&mut s, b"0123456789".to_vec(), 2, 7, LONG).await;
    r.expect("write_range");
    assert_eq!(buf, b"0123456789", "the buffer comes back whole");
    let (r, _) = write_all(&mut s, b"!".to_vec(), LONG).await;
    r.expect("write_all");
    assert_eq!(read_n(&mut peer, 6).await, b"23456!");
}

#[monoio::test_all(timer_enabled = true)]
async fn write_all_sends_more_than_the_socket_buffers_hold_in_order() {
    let (mut s, peer) = pair().await;
    let data = pattern(8 << 20);
    let reader = drain(peer, data.len());
    let (r, buf) = write_all(&mut s, data.clone(), LONG).await;
    r.expect("write_all");
    assert_eq!(buf.len(), data.len());
    let (_peer, got) = reader.await;
    assert!(got == data, "the bytes arrived altered or out of order");
}

#[monoio::test_all(timer_enabled = true)]
async fn write_range_times_out_when_the_peer_takes_nothing() {
    let (mut s, _not_reading) = pair().await;
    let started = Instant::now();
    let (r, buf) = write_all(&mut s, vec![7u8; 64 << 20], Duration::from_millis(200)).await;
    assert!(matches!(r, Err(IoFail::Timeout)), "{r:?}");
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert!(buf.is_empty());
}

#[monoio::test_all(timer_enabled = true)]
async fn writing_to_a_closed_peer_is_an_io_error() {
    let (mut s, peer) = pair().await;
    drop(peer);
    let mut result = Ok(());
    // The first write may still be taken by the kernel; the reset shows soon after.
    for _ in 0..100 {
        let (r, _) = write_all(&mut s, vec![1u8; 64 << 10], LONG).await;
        result = r;
        if result.is_err() {
            break;
        }
    }
    match result {
        Err(IoFail::Io(e)) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            ),
            "{e:?}"
        ),
        other => panic!("wrote 6.4 MiB to a closed peer: {other:?}"),
    }
}

#[test]
fn consume_drops_the_front_and_keeps_what_follows() {
    let mut buf = b"bodyGET /next".to_vec();
    consume(&mut buf, 4);
    assert_eq!(buf, b"GET /next");
    consume(&mut buf, 0);
    assert_eq!(buf, b"GET /next");
    consume(&mut buf, 100);
    assert!(buf.is_empty());
}

// === body: relay_length (copied and spliced) ===

#[monoio::test_all(timer_enabled = true)]
async fn relay_length_copies_a_short_body_and_keeps_the_next_request() {
    let (origin, mut src) = pair().await;
    let (mut dst, client) = pair().await;
    let body = pattern(100_000);
    assert!((body.len() as u64) < SPLICE_MIN_BODY);
    // 1000 bytes were read ahead with the head; the rest and the next request follow.
    let mut rest = body[1000..].to_vec();
    rest.extend_from_slice(NEXT);
    let writer = feed(origin, rest);
    let reader = drain(client, body.len());
    let pipes = RefCell::new(PipePool::new());
    let (r, left) = relay_length(
        &mut src,
        &mut dst,
        body[..1000].to_vec(),
        body.len() as u64,
        &pipes,
        TIMEOUTS,
    )
    .await;
    assert_eq!(r.expect("relay"), body.len() as u64);
    let (_client, got) = reader.await;
    assert!(got == body, "the body arrived altered");
    // Whatever the copy read past the body is handed back, the rest is unread.
    assert_eq!(after_body(&mut src, left, NEXT.len()).await, NEXT);
    let _origin = writer.await;
}

#[monoio::test_all(timer_enabled = true)]
async fn relay_length_with_the_whole_body_buffered_reads_nothing() {
    let (_origin, mut src) = pair().await;
    let (mut dst, mut client) = pair().await;
    let mut buffered = b"hello".to_vec();
    buffered.extend_from_slice(NEXT);
    let pipes = RefCell::new(PipePool::new());
    let (r, left) = relay_length(&mut src, &mut dst, buffered, 5, &pipes, TIMEOUTS).await;
    assert_eq!(r.expect("relay"), 5);
    assert_eq!(left, NEXT, "the pipelined request stays in the buffer");
    assert_eq!(read_n(&mut client, 5).await, b"hello");
}

#[monoio::test_all(timer_enabled = true)]
async fn relay_length_splices_long_bodies_and_leaves_the_next_request_unread() {
    let (origin, mut src) = pair().await;
    let (mut dst, client) = pair().await;
    let body = pattern((1 << 20) + 12_345);
    let len = body.len() as u64;
    // Two responses on one keep-alive connection (1000 bytes of the first read
    // ahead with its head), then the next request's bytes.
    let mut stream = body[1000..].to_vec();
    stream.extend_from_slice(&body);
    stream.extend_from_slice(NEXT);
    assert!(len - 1000 >= SPLICE_MIN_BODY, "both are spliced");
    let writer = feed(origin, stream);
    let reader = drain(client, 2 * body.len());
    let pipes = RefCell::new(PipePool::new());
    let mut buf = body[..1000].to_vec();
    for which in ["first", "second (through the pooled pipe)"] {
        let (r, left) = relay_length(&mut src, &mut dst, buf, len, &pipes, TIMEOUTS).await;
        assert_eq!(r.expect("relay"), len, "{which}");
        // The bounded splice reads nothing past the body.
        assert!(left.is_empty(), "{which}: {left:?}");
        buf = left;
    }
    let (_client, got) = reader.await;
    assert!(
        got[..body.len()] == body[..] && got[body.len()..] == body[..],
        "a spliced body arrived altered"
    );
    // The next request is still in the socket, byte for byte.
    assert_eq!(read_n(&mut src, NEXT.len()).await, NEXT);
    // And the low-water mark is back at 1, so the next head wakes the reader at once.
    assert_eq!(rcvlowat(&src), 1);
    let _origin = writer.await;
}

#[monoio::test_all(timer_enabled = true)]
async fn a_spliced_body_whose_tail_comes_late_is_finished_when_it_comes() {
    // The splice asks to be woken only once a large piece is buffered (SO_RCVLOWAT);
    // it must never ask for more than is still due, or the last bytes would wait
    // for the read timeout.
    let (mut origin, mut src) = pair().await;
    let (mut dst, client) = pair().await;
    const TAIL: usize = 1000;
    let body = pattern(1 << 20);
    let head_part = body[..body.len() - TAIL].to_vec();
    let mut tail = body[body.len() - TAIL..].to_vec();
    tail.extend_from_slice(NEXT);
    let writer = monoio::spawn(async move {
        let (r, _) = origin.write_all(head_part).await;
        r.expect("write");
        // The scenario: the tail comes 300 ms later.
        monoio::time::sleep(Duration::from_millis(300)).await;
        let (r, _) = origin.write_all(tail).await;
        r.expect("write");
        origin
    });
    let reader = drain(client, body.len());
    let pipes = RefCell::new(PipePool::new());
    let started = Instant::now();
    let (r, left) = relay_length(
        &mut src,
        &mut dst,
        Vec::new(),
        body.len() as u64,
        &pipes,
        TIMEOUTS,
    )
    .await;
    let took = started.elapsed();
    assert_eq!(r.expect("relay"), body.len() as u64);
    assert!(
        took < Duration::from_millis(1500),
        "took {took:?}: the last bytes waited for more than was due"
    );
    let (_client, got) = reader.await;
    assert!(got == body);
    assert!(left.is_empty());
    assert_eq!(read_n(&mut src, NEXT.len()).await, NEXT);
    // It waited with a raised low-water mark; the mark is back at 1 now.
    assert_eq!(rcvlowat(&src), 1);
    let _origin = writer.await;
}

#[monoio::test_all(timer_enabled = true)]
async fn relay_length_reports_a_source_that_closes_early() {
    let pipes = RefCell::new(PipePool::new());
    // Copied: the short read is an EOF.
    let (origin, mut src) = pair().await;
    let (mut dst, _client) = pair().await;
    let writer = monoio::spawn(async move {
        let mut origin = feed(origin, pattern(5000)).await;
        let _ = origin.shutdown().await;
        origin
    });
    let (r, _) = relay_length(&mut src, &mut dst, Vec::new(), 10_000, &pipes, TIMEOUTS).await;
    assert!(matches!(r, Err(RelayError::Source(IoFail::Eof))), "{r:?}");
    drop(writer.await);
    // Spliced: the same, as an unexpected EOF.
    let (origin, mut src) = pair().await;
    let (mut dst, client) = pair().await;
    let sent = 600 << 10;
    let writer = monoio::spawn(async move {
        let mut origin = feed(origin, pattern(sent)).await;
        let _ = origin.shutdown().await;
        origin
    });
    let reader = monoio::spawn(async move {
        let mut client = client;
        read_to_end(&mut client).await
    });
    let (r, _) = relay_length(&mut src, &mut dst, Vec::new(), 1 << 20, &pipes, TIMEOUTS).await;
    match r {
        Err(RelayError::Source(IoFail::Io(e))) => {
            assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof, "{e:?}")
        }
        other => panic!("{other:?}"),
    }
    drop(dst);
    assert_eq!(reader.await.len(), sent, "what came was relayed");
    drop(writer.await);
}

#[monoio::test_all(timer_enabled = true)]
async fn a_splice_from_a_silent_source_times_out() {
    let (_silent, mut src) = pair().await;
    let (mut dst, _client) = pair().await;
    let pipes = RefCell::new(PipePool::new());
    let t = RelayTimeouts {
        read: Duration::from_millis(200),
        write: LONG,
    };
    let started = Instant::now();
    let (r, _) = relay_length(&mut src, &mut dst, Vec::new(), 1 << 20, &pipes, t).await;
    assert!(
        matches!(r, Err(RelayError::Source(IoFail::Timeout))),
        "{r:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[monoio::test_all(timer_enabled = true)]
async fn relay_length_reports_a_destination_that_went_away() {
    let pipes = RefCell::new(PipePool::new());
    for len in [400 << 10, 4 << 20] {
        let (origin, mut src) = pair().await;
        let (mut dst, client) = pair().await;
        drop(client);
        let writer = monoio::spawn(async move {
            let mut origin = origin;
            let _ = origin.write_all(pattern(len)).await;
            origin
        });
        let (r, _) =
            relay_length(&mut src, &mut dst, Vec::new(), len as u64, &pipes, TIMEOUTS).await;
        assert!(matches!(r, Err(RelayError::Dest(_))), "{len}: {r:?}");
        drop(src);
        drop(writer.await);
    }
}

// === body: relay_chunked ===

const CHUNKED: &[u8] = b"5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";

#[monoio::test_all(timer_enabled = true)]
async fn relay_chunked_forwards_the_framing_verbatim_and_keeps_the_next_request() {
    let (origin, mut src) = pair().await;
    let (mut dst, client) = pair().await;
    let mut rest = CHUNKED[7..].to_vec();
    rest.extend_from_slice(NEXT);
    let writer = feed(origin, rest);
    let reader = drain(client, CHUNKED.len());
    let how = ChunkedRelay {
        dechunk: false,
        max_data: 0,
    };
    let (r, left) = relay_chunked(&mut src, &mut dst, CHUNKED[..7].to_vec(), how, TIMEOUTS).await;
    assert_eq!(r.expect("relay"), CHUNKED.len() as u64);
    let (_client, got) = reader.await;
    assert_eq!(got, CHUNKED);
    assert_eq!(after_body(&mut src, left, NEXT.len()).await, NEXT);
    let _origin = writer.await;
}

#[monoio::test_all(timer_enabled = true)]
async fn relay_chunked_dechunks_for_an_http10_client() {
    let (origin, mut src) = pair().await;
    let (mut dst, client) = pair().await;
    let writer = feed(origin, CHUNKED.to_vec());
    let reader = drain(client, 11);
    let how = ChunkedRelay {
        dechunk: true,
        max_data: 0,
    };
    let (r, left) = relay_chunked(&mut src, &mut dst, Vec::new(), how, TIMEOUTS).await;
    assert_eq!(r.expect("relay"), 11, "the data bytes written");
    assert!(left.is_empty());
    let (_client, got) = reader.await;
    assert_eq!(got, b"hello world");
    let _origin = writer.await;
}

#[monoio::test_all(timer_enabled = true)]
async fn relay_chunked_over_max_data_is_too_large_and_nothing_past_the_limit_is_written() {
    let limit = ChunkedRelay {
        dechunk: false,
        max_data: 1024,
    };
    let first = format!("258\r\n{}\r\n", "c".repeat(600)).into_bytes();
    let second = format!("258\r\n{}\r\n0\r\n\r\n", "d".repeat(600)).into_bytes();
    // Streamed: the first chunk (within the limit) goes through, then the second
    // would pass 1 KiB and is refused before any of it is written.
    let (mut origin, src) = pair().await;
    let (dst, mut client) = pair().await;
    let relay = monoio::spawn(async move {
        let (mut src, mut dst) = (src, dst);
        let (r, _) = relay_chunked(&mut src, &mut dst, Vec::new(), limit, TIMEOUTS).await;
        r
    });
    let (r, _) = origin.write_all(first.clone()).await;
    r.expect("write");
    let mut got = read_n(&mut client, 5 + 600).await;
    let (r, _) = origin.write_all(second.clone()).await;
    r.expect("write");
    let r = relay.await;
    assert!(matches!(r, Err(RelayError::TooLarge)), "{r:?}");
    // The relay has dropped `dst`: the client sees the rest of what was written.
    got.extend(read_to_end(&mut client).await);
    assert!(first.starts_with(&got), "{}", String::from_utf8_lossy(&got));
    assert!(!got.contains(&b'd'), "bytes past the limit were written");
    // In one batch: refused before anything is written.
    let (origin, mut src) = pair().await;
    let (mut dst, mut client) = pair().await;
    let mut both = first;
    both.extend_from_slice(&second);
    let (r, _) = relay_chunked(&mut src, &mut dst, both, limit, TIMEOUTS).await;
    assert!(matches!(r, Err(RelayError::TooLarge)), "{r:?}");
    drop(dst);
    assert!(read_to_end(&mut client).await.is_empty());
    drop(origin);
}

#[monoio::test_all(timer_enabled = true)]
async fn relay_chunked_refuses_bad_framing_before_writing_it() {
    let (_origin, mut src) = pair().await;
    let (mut dst, mut client) = pair().await;
    let how = ChunkedRelay {
        dechunk: false,
        max_data: 0,
    };
    let bad = b"zz\r\nhello\r\n0\r\n\r\n".to_vec();
    let (r, _) = relay_chunked(&mut src, &mut dst, bad, how, TIMEOUTS).await;
    assert!(matches!(r, Err(RelayError::BadChunked)), "{r:?}");
    drop(dst);
    assert!(read_to_end(&mut client).await.is_empty());
}

// === body: relay_until_eof ===

#[monoio::test_all(timer_enabled = true)]
async fn relay_until_eof_relays_everything_until_the_source_closes() {
    let (origin, mut src) = pair().await;
    let (mut dst, client) = pair().await;
    let body = pattern(300_000);
    let writer = monoio::spawn(async move {
        let mut origin = feed(origin, body[1000..].to_vec()).await;
        let _ = origin.shutdown().await;
        origin
    });
    let reader = monoio::spawn(async move {
        let mut client = client;
        read_to_end(&mut client).await
    });
    let expect = pattern(300_000);
    let (r, _) = relay_until_eof(&mut src, &mut dst, expect[..1000].to_vec(), TIMEOUTS).await;
    assert_eq!(r.expect("relay"), expect.len() as u64);
    drop(dst);
    assert!(reader.await == expect, "the body arrived altered");
    drop(writer.await);
}
