//! `relay_chunked` (verbatim, de-chunked, over its limit, malformed) and
//! `relay_until_eof`.

use monoio::io::{AsyncWriteRent, AsyncWriteRentExt};

use super::body::{ChunkedRelay, RelayError, relay_chunked, relay_until_eof};
use super::{NEXT, after_body, drain, feed, pair, pattern, read_n, read_to_end, timeouts};

const CHUNKED: &[u8] = b"5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";

#[monoio::test_all(timer_enabled = true)]
async fn relay_chunked_forwards_the_framing_verbatim_and_keeps_the_next_request() {
    let t = super::timers();
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
    let (r, left) =
        relay_chunked(&mut src, &mut dst, CHUNKED[..7].to_vec(), how, timeouts(t)).await;
    assert_eq!(r.expect("relay"), CHUNKED.len() as u64);
    let (_client, got) = reader.await;
    assert_eq!(got, CHUNKED);
    assert_eq!(after_body(&mut src, left, NEXT.len()).await, NEXT);
    let _origin = writer.await;
}

#[monoio::test_all(timer_enabled = true)]
async fn relay_chunked_dechunks_for_an_http10_client() {
    let t = super::timers();
    let (origin, mut src) = pair().await;
    let (mut dst, client) = pair().await;
    let writer = feed(origin, CHUNKED.to_vec());
    let reader = drain(client, 11);
    let how = ChunkedRelay {
        dechunk: true,
        max_data: 0,
    };
    let (r, left) = relay_chunked(&mut src, &mut dst, Vec::new(), how, timeouts(t)).await;
    assert_eq!(r.expect("relay"), 11, "the data bytes written");
    assert!(left.is_empty());
    let (_client, got) = reader.await;
    assert_eq!(got, b"hello world");
    let _origin = writer.await;
}

#[monoio::test_all(timer_enabled = true)]
async fn relay_chunked_over_max_data_is_too_large_and_nothing_past_the_limit_is_written() {
    let t = super::timers();
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
        let (r, _) = relay_chunked(&mut src, &mut dst, Vec::new(), limit, timeouts(t)).await;
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
    let (r, _) = relay_chunked(&mut src, &mut dst, both, limit, timeouts(t)).await;
    assert!(matches!(r, Err(RelayError::TooLarge)), "{r:?}");
    drop(dst);
    assert!(read_to_end(&mut client).await.is_empty());
    drop(origin);
}

#[monoio::test_all(timer_enabled = true)]
async fn relay_chunked_refuses_bad_framing_before_writing_it() {
    let t = super::timers();
    let (_origin, mut src) = pair().await;
    let (mut dst, mut client) = pair().await;
    let how = ChunkedRelay {
        dechunk: false,
        max_data: 0,
    };
    let bad = b"zz\r\nhello\r\n0\r\n\r\n".to_vec();
    let (r, _) = relay_chunked(&mut src, &mut dst, bad, how, timeouts(t)).await;
    assert!(matches!(r, Err(RelayError::BadChunked)), "{r:?}");
    drop(dst);
    assert!(read_to_end(&mut client).await.is_empty());
}

#[monoio::test_all(timer_enabled = true)]
async fn relay_until_eof_relays_everything_until_the_source_closes() {
    let t = super::timers();
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
    let (r, _) = relay_until_eof(&mut src, &mut dst, expect[..1000].to_vec(), timeouts(t)).await;
    assert_eq!(r.expect("relay"), expect.len() as u64);
    drop(dst);
    assert!(reader.await == expect, "the body arrived altered");
    drop(writer.await);
}
