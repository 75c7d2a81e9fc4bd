//! # relay-core
//!
//! The gateway side of the Hermes relay protocol as a pure, synchronous,
//! sans-IO library: no sockets, no clocks, no threads, no global randomness.
//! Drivers feed it WebSocket events and the current time, and drain what it
//! wants done (dials, frames to send, closes, timers and application events).
//!
//! Start with [`connection::Connection`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod auth;
pub mod config;
pub mod descriptor;
#[cfg(feature = "arbitrary")]
#[cfg_attr(docsrs, doc(cfg(feature = "arbitrary")))]
pub mod fuzzing;
pub mod http;
pub mod rng;
pub mod source;
pub mod time;
pub mod wire;

pub use time::{Instant, UnixTime};

mod backoff;
pub mod connection;
mod dedupe;
pub mod requests;
mod scope;
pub mod timer;

pub use connection::{Connection, Event, Input, Output, State};
