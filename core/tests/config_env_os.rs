//! Non-UTF-8 values in the process environment. One test per file: it sets
//! process environment variables.

#![cfg(unix)]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use relay_core::config::{ConfigError, RelayConfig};

#[test]
fn a_non_utf8_value_is_an_error_naming_the_variable() {
    // SAFETY: this test binary has this one test, so no other thread reads
    // or writes the environment meanwhile.
    unsafe {
        std::env::set_var("GATEWAY_RELAY_URL", "https://c.example");
        std::env::set_var("GATEWAY_RELAY_SECRET", "s3cret");
        std::env::set_var("GATEWAY_RELAY_ID", OsStr::from_bytes(b"gw-\xff\xfe"));
    }
    let err = RelayConfig::from_env().expect_err("non-UTF-8 id");
    match &err {
        ConfigError::NotUnicode { setting } => assert_eq!(setting, "GATEWAY_RELAY_ID", "{err}"),
        other => panic!("expected an error naming GATEWAY_RELAY_ID, got {other:?}"),
    }
    assert!(err.to_string().contains("UTF-8"), "{err}");
}
