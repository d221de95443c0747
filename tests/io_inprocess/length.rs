//! `relay_length`: short bodies copied, long ones through the bounded splice, and
//! the bytes of the next keep-alive request left where they were.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use monoio::io::{AsyncWriteRent, AsyncWriteRentExt};

use super::body::{RelayError, RelayTimeouts, relay_length};
use super::sio::IoFail;
use super::splice::{PipePool, SPLICE_MIN_BODY};
use super::{
    LONG, NEXT, after_body, drain, feed, pair, pattern, rcvlowat, read_n, read_to_end, timeouts,
};

#[monoio::test_all(timer_enabled = true)]
async fn relay_length_copies_a_short_body_and_keeps_the_next_request() {
    let t = super::timers();
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
        timeouts(t),
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
    let t = super::timers();
    let (_origin, mut src) = pair().await;
    let (mut dst, mut client) = pair().await;
    let mut buffered = b"hello".to_vec();
    buffered.extend_from_slice(NEXT);
    let pipes = RefCell::new(PipePool::new());
    let (r, left) = relay_length(&mut src, &mut dst, buffered, 5, &pipes, timeouts(t)).await;
    assert_eq!(r.expect("relay"), 5);
    assert_eq!(left, NEXT, "the pipelined request stays in the buffer");
    assert_eq!(read_n(&mut client, 5).await, b"hello");
}

#[monoio::test_all(timer_enabled = true)]
async fn relay_length_splices_long_bodies_and_leaves_the_next_request_unread() {
    let t = super::timers();
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
        let (r, left) = relay_length(&mut src, &mut dst, buf, len, &pipes, timeouts(t)).await;
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
    let t = super::timers();
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
        timeouts(t),
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
    let t = super::timers();
    let pipes = RefCell::new(PipePool::new());
    // Copied: the short read is an EOF.
    let (origin, mut src) = pair().await;
    let (mut dst, _client) = pair().await;
    let writer = monoio::spawn(async move {
        let mut origin = feed(origin, pattern(5000)).await;
        let _ = origin.shutdown().await;
        origin
    });
    let (r, _) = relay_length(&mut src, &mut dst, Vec::new(), 10_000, &pipes, timeouts(t)).await;
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
    let (r, _) = relay_length(&mut src, &mut dst, Vec::new(), 1 << 20, &pipes, timeouts(t)).await;
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
    let t = super::timers();
    let (_silent, mut src) = pair().await;
    let (mut dst, _client) = pair().await;
    let pipes = RefCell::new(PipePool::new());
    let t = RelayTimeouts {
        read: t.after(Duration::from_millis(200)),
        write: t.after(LONG),
    };
    let started = Instant::now();
    let (r, _) = relay_length(&mut src, &mut dst, Vec::new(), 1 << 20, &pipes, t).await;
    assert!(
        matches!(r, Err(RelayError::Source(IoFail::Timeout))),
        "{r:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(200));
}

/// A client that takes nothing is the destination's fault (`Dest(Timeout)`), on the
/// write timeout, not the source's on the read timeout.
#[monoio::test_all(timer_enabled = true)]
async fn a_splice_into_a_client_that_reads_nothing_times_out_on_the_destination() {
    let t = super::timers();
    let (origin, mut src) = pair().await;
    let (mut dst, _stalled_client) = pair().await;
    let len = 32 << 20;
    let writer = monoio::spawn(async move {
        let mut origin = origin;
        let _ = origin.write_all(pattern(len)).await;
        origin
    });
    let pipes = RefCell::new(PipePool::new());
    let t = RelayTimeouts {
        read: t.after(LONG),
        write: t.after(Duration::from_millis(300)),
    };
    let (r, _) = relay_length(&mut src, &mut dst, Vec::new(), len as u64, &pipes, t).await;
    assert!(matches!(r, Err(RelayError::Dest(IoFail::Timeout))), "{r:?}");
    drop(src);
    drop(writer.await);
}

#[monoio::test_all(timer_enabled = true)]
async fn relay_length_reports_a_destination_that_went_away() {
    let t = super::timers();
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
        let (r, _) = relay_length(
            &mut src,
            &mut dst,
            Vec::new(),
            len as u64,
            &pipes,
            timeouts(t),
        )
        .await;
        assert!(matches!(r, Err(RelayError::Dest(_))), "{len}: {r:?}");
        drop(src);
        drop(writer.await);
    }
}
