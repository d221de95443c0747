//! cargo-fuzz target: `sluice::fuzzing::forward`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice::fuzzing::forward(data));
