//! cargo-fuzz target: `sluice::fuzzing::tls_handoff`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice::fuzzing::tls_handoff(data));
