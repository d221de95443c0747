//! Upstream answers that arrive whole in one read: the head, a small body sent on
//! with it in one write, and whatever follows. sluice copies such a body straight
//! from where it was read; these tests pin the edges of that path with exact bytes.
#![allow(clippy::disallowed_methods)] // tests block and sleep freely

mod common;

use common::Sluice;
use common::client::Conn;
use common::raw::{Action, RawBackend};

/// A 200 whose body is `body`, followed on the wire by `after`, in one write.
fn ok_then(body: &str, after: &str) -> Action {
    Action::Reply(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}{after}",
            body.len()
        )
        .into_bytes(),
    )
}

/// One pool on `backend`, the default.
fn sluice_for(backend: &RawBackend) -> Sluice {
    Sluice::builder()
        .pool("p", |p| p.server(backend.addr))
        .default_pool("p")
        .start()
}

#[test]
fn bytes_after_the_body_are_not_relayed_and_the_connection_is_not_reused() {
    let backend = RawBackend::start(|conn, _| ok_then(&format!("hello{conn}"), "EXTRA-BYTES"));
    let s = sluice_for(&backend);
    let mut c = Conn::open(s.addr);
    let first = c.get("t", "/a").expect("first answer");
    assert_eq!((first.status, first.body.as_slice()), (200, &b"hello0"[..]));
    let second = c
        .get("t", "/b")
        .expect("second answer on the same client connection");
    assert_eq!(
        (second.status, second.body.as_slice()),
        (200, &b"hello1"[..]),
        "the second request went over a new upstream connection, not the one with \
         bytes left over"
    );
    assert_eq!(backend.connections(), 2);
}

#[test]
fn interim_and_final_answer_in_one_read_both_reach_the_client_intact() {
    let backend = RawBackend::start(|_, _| {
        Action::Reply(
            b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n\
              HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
                .to_vec(),
        )
    });
    let s = sluice_for(&backend);
    let mut c = Conn::open(s.addr);
    for round in 0..3 {
        c.send(b"GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
        let hints = c.read_response(false).expect("103");
        assert_eq!(hints.status, 103, "round {round}");
        assert!(
            hints.header("link").is_some(),
            "round {round}: {}",
            hints.head
        );
        let last = c.read_response(false).expect("200");
        assert_eq!(
            (last.status, last.body.as_slice()),
            (200, &b"hello"[..]),
            "round {round}"
        );
    }
    assert_eq!(
        backend.connections(),
        1,
        "a clean answer keeps its connection"
    );
}

#[test]
fn an_empty_body_and_a_body_split_from_its_head_are_relayed_exactly() {
    let backend = RawBackend::start(|_, head| {
        if head.contains("/empty") {
            ok_then("", "")
        } else {
            // Only part of the body comes with the head: the rest is relayed after it.
            ok_then(&"x".repeat(200_000), "")
        }
    });
    let s = sluice_for(&backend);
    let mut c = Conn::open(s.addr);
    for _ in 0..3 {
        let empty = c.get("t", "/empty").expect("empty answer");
        assert_eq!((empty.status, empty.body.len()), (200, 0));
        let big = c.get("t", "/big").expect("big answer");
        assert_eq!(big.status, 200);
        assert_eq!(big.body.len(), 200_000);
        assert!(big.body.iter().all(|&b| b == b'x'));
    }
    assert_eq!(backend.connections(), 1);
}
