//! The fuzzers' seed corpora (and any crash reproducers saved beside them) run as
//! ordinary tests, so every finding stays fixed.

use std::path::Path;

fn run_corpus(target: &str, f: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("corpus entry").path();
        let data = std::fs::read(&path).expect("corpus file");
        f(&data);
        // Every prefix too: parsers see partial input all the time.
        for cut in 0..data.len().min(512) {
            f(&data[..cut]);
        }
        n += 1;
    }
    assert!(n > 0, "empty corpus {}", dir.display());
}

#[test]
fn request_head_corpus() {
    run_corpus("request_head", sluice::fuzzing::request_head);
}

#[test]
fn chunked_corpus() {
    run_corpus("chunked", sluice::fuzzing::chunked);
}

#[test]
fn path_corpus() {
    run_corpus("path", sluice::fuzzing::path);
}

#[test]
fn router_corpus() {
    run_corpus("router", sluice::fuzzing::router);
}

#[test]
fn tls_handoff_corpus() {
    run_corpus("tls_handoff", sluice::fuzzing::tls_handoff);
}

#[test]
fn forward_corpus() {
    run_corpus("forward", sluice::fuzzing::forward);
}

/// The seeds named for a class of head that sluice refuses (issue 10) are refused,
/// so they keep meaning what their names say.
#[test]
fn refused_seeds_are_refused() {
    use sluice::http::header_slots;
    use sluice::http::request::{HeadLimits, MAX_HEADERS, parse_request};
    let limits = HeadLimits {
        max_header_bytes: 16384,
        max_headers: 100,
        max_body: 1 << 20,
    };
    let mut n = 0;
    for target in ["request_head", "forward"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus")
            .join(target);
        for entry in std::fs::read_dir(&dir).expect("corpus dir") {
            let path = entry.expect("corpus entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if !(name.starts_with("conn_")
                || name.starts_with("invalid_")
                || name == "absolute_host_mismatch")
            {
                continue;
            }
            let data = std::fs::read(&path).expect("corpus file");
            let mut headers = header_slots::<MAX_HEADERS>();
            let parsed = parse_request(&data, &mut headers, &limits);
            assert!(parsed.is_err(), "{}: {parsed:?}", path.display());
            n += 1;
        }
    }
    assert!(n > 0, "no refused seeds");
}
