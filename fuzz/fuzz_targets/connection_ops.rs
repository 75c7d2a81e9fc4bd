#![no_main]

use relay_core::fuzzing::{ConnOp, connection_ops};

libfuzzer_sys::fuzz_target!(|ops: Vec<ConnOp>| connection_ops(&ops));
