#![no_main]

use relay_connector::fuzzing::{ConnectorOp, connector_ops};

libfuzzer_sys::fuzz_target!(|ops: Vec<ConnectorOp>| connector_ops(&ops));
