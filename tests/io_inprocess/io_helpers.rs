//! `read_append`, `write_range`, `write_all` and `consume`.

use std::time::{Duration, Instant};

use monoio::io::AsyncWriteRentExt;

use super::sio::{IoFail, consume, read_append, write_all, write_range};
use super::{LONG, drain, pair, pattern, read_n};

#[monoio::test_all(timer_enabled = true)]
async fn read_append_appends_after_the_buffered_bytes_and_grows_a_full_buffer() {
    let t = super::timers();
    let (mut peer, mut s) = pair().await;
    let (r, _) = peer.write_all(b"cdef".to_vec()).await;
    r.expect("write");
    let mut buf = Vec::with_capacity(16);
    buf.extend_from_slice(b"ab");
    let (r, buf) = read_append(&mut s, buf, t.after(LONG)).await;
    assert_eq!(r.expect("read"), 4);
    assert_eq!(buf, b"abcdef");
    // A buffer with no room left is grown rather than read into nothing.
    let mut full = Vec::with_capacity(4);
    full.extend_from_slice(b"wxyz");
    assert_eq!(full.len(), full.capacity());
    let (r, _) = peer.write_all(b"more".to_vec()).await;
    r.expect("write");
    let (r, full) = read_append(&mut s, full, t.after(LONG)).await;
    assert_eq!(r.expect("read"), 4);
    assert_eq!(full, b"wxyzmore");
    // EOF is its own failure, and the buffer comes back intact.
    drop(peer);
    let (r, full) = read_append(&mut s, full, t.after(LONG)).await;
    assert!(matches!(r, Err(IoFail::Eof)), "{r:?}");
    assert_eq!(full, b"wxyzmore");
}

#[monoio::test_all(timer_enabled = true)]
async fn read_append_times_out_and_gives_back_an_empty_buffer() {
    let t = super::timers();
    let (_silent, mut s) = pair().await;
    let started = Instant::now();
    let (r, buf) = read_append(
        &mut s,
        b"kept?".to_vec(),
        t.after(Duration::from_millis(100)),
    )
    .await;
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
    let t = super::timers();
    let (mut s, mut peer) = pair().await;
    let (r, buf) = write_range(&mut s, b"0123456789".to_vec(), 2, 7, t.after(LONG)).await;
    r.expect("write_range");
    assert_eq!(buf, b"0123456789", "the buffer comes back whole");
    let (r, _) = write_all(&mut s, b"!".to_vec(), t.after(LONG)).await;
    r.expect("write_all");
    assert_eq!(read_n(&mut peer, 6).await, b"23456!");
}

#[monoio::test_all(timer_enabled = true)]
async fn write_all_sends_more_than_the_socket_buffers_hold_in_order() {
    let t = super::timers();
    let (mut s, peer) = pair().await;
    let data = pattern(8 << 20);
    let reader = drain(peer, data.len());
    let (r, buf) = write_all(&mut s, data.clone(), t.after(LONG)).await;
    r.expect("write_all");
    assert_eq!(buf.len(), data.len());
    let (_peer, got) = reader.await;
    assert!(got == data, "the bytes arrived altered or out of order");
}

#[monoio::test_all(timer_enabled = true)]
async fn write_range_times_out_when_the_peer_takes_nothing() {
    let t = super::timers();
    let (mut s, _not_reading) = pair().await;
    let started = Instant::now();
    let (r, buf) = write_all(
        &mut s,
        vec![7u8; 64 << 20],
        t.after(Duration::from_millis(200)),
    )
    .await;
    assert!(matches!(r, Err(IoFail::Timeout)), "{r:?}");
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert!(buf.is_empty());
}

#[monoio::test_all(timer_enabled = true)]
async fn writing_to_a_closed_peer_is_an_io_error() {
    let t = super::timers();
    let (mut s, peer) = pair().await;
    drop(peer);
    let mut result = Ok(());
    // The first write may still be taken by the kernel; the reset shows soon after.
    for _ in 0..100 {
        let (r, _) = write_all(&mut s, vec![1u8; 64 << 10], t.after(LONG)).await;
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
