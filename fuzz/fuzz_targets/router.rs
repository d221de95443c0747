//! cargo-fuzz target: `sluice::fuzzing::router`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice::fuzzing::router(data));
