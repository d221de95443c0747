//! cargo-fuzz target: `sluice::fuzzing::chunked`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice::fuzzing::chunked(data));
