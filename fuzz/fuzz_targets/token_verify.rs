#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| relay_core::fuzzing::token_verify(data));
