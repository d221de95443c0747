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
