//! cargo-fuzz target: `sluice::fuzzing::path`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice::fuzzing::path(data));
