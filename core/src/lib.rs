#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// Listed by floor, lowest first: a module imports only modules on its own
// floor or below (docs/architecture.md; checked by tests/tests/layers.rs).
mod lax;
mod redact;
mod request_id;
pub mod rng;
pub mod time;

pub mod descriptor;
pub mod message;

pub mod recycle;

pub mod wire;

pub mod auth;
pub mod calls;
pub mod config;

mod backoff;
mod dedupe;
mod redial_hold;
mod replay;
mod requests;
mod scope;
mod timer;

pub mod connection;

#[cfg(feature = "arbitrary")]
#[cfg_attr(docsrs, doc(cfg(feature = "arbitrary")))]
pub mod fuzzing;

pub use connection::{Connection, Event, Input, Output, State};
pub use time::{Instant, UnixTime};
