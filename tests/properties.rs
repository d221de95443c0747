//! Property tests (proptest) over the parsers, run in CI beside the fuzzers: the
//! same invariants as `sluice::fuzzing`, on generated inputs shaped like the real
//! thing as well as on arbitrary bytes.

use proptest::prelude::*;

fn path_segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(".".to_string()),
        Just("..".to_string()),
        Just("%2e%2E".to_string()),
        Just("%2F".to_string()),
        Just(String::new()),
        "[a-zA-Z0-9._~-]{1,8}",
        "%[0-9A-Fa-f]{2}",
    ]
}

fn path() -> impl Strategy<Value = String> {
    prop::collection::vec(path_segment(), 0..8).prop_map(|segs| format!("/{}", segs.join("/")))
}

fn chunked_body() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 1..40), 0..6).prop_map(|chunks| {
        let mut out = Vec::new();
        for c in chunks {
            out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
            out.extend_from_slice(&c);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn normalised_paths_are_idempotent_and_dot_free(p in path()) {
        sluice::fuzzing::path(p.as_bytes());
    }

    #[test]
    fn arbitrary_paths_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut b = vec![b'/'];
        b.extend(bytes);
        sluice::fuzzing::path(&b);
    }

    #[test]
    fn chunked_bodies_decode_the_same_however_split(body in chunked_body()) {
        sluice::fuzzing::chunked(&body);
        let mut d = sluice::http::chunked::ChunkedDecoder::new();
        prop_assert_eq!(d.feed(&body, |_| {}), Ok(body.len()));
        prop_assert!(d.is_done());
    }

    #[test]
    fn request_heads_never_panic(method in "[A-Z]{1,7}", p in path(), headers in prop::collection::vec(("[A-Za-z-]{1,12}", "[ -~]{0,20}"), 0..6), tail in prop::collection::vec(any::<u8>(), 0..32)) {
        let mut req = format!("{method} {p} HTTP/1.1\r\nHost: h\r\n");
        for (k, v) in &headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend(tail);
        sluice::fuzzing::request_head(&bytes);
        sluice::fuzzing::router(&bytes);
    }
}
