//! The hostile-peer suite: a scripted hostile connector and a hostile
//! gateway (raw sockets on 127.0.0.1) against real `relay connect` and
//! `relay connector` processes and the library client. Every scenario
//! asserts a bound: peak RSS read from `/proc/<pid>/status`, an exit code,
//! a count of events or dials. Every loop is bounded in time and count; a
//! process that crosses its memory bound is killed at once.
//!
//! docs/limits.md lists the bounds these tests hold the edge to.
//!
//! Run: `cargo nextest run -p hermes-relay-cli --test hostile` (also part
//! of `cargo nextest run --workspace --all-features`). Scenarios whose fix
//! lives in the core (URL parsing, credentials, dedupe, descriptors,
//! configuration messages) are marked ignored with the reason until that
//! work is in; `--run-ignored all` runs them.

#![cfg(target_os = "linux")]

#[path = "hostile/support.rs"]
mod support;

#[path = "hostile/connect.rs"]
mod connect;

#[path = "hostile/connector.rs"]
mod connector;

#[path = "hostile/config.rs"]
mod config;

#[path = "hostile/held.rs"]
mod held;

#[path = "hostile/library.rs"]
mod library;
