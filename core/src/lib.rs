#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod auth;
pub mod calls;
pub mod config;
pub mod descriptor;
#[cfg(feature = "arbitrary")]
#[cfg_attr(docsrs, doc(cfg(feature = "arbitrary")))]
pub mod fuzzing;
mod lax;
pub mod message;
pub mod rng;
pub mod time;
pub mod wire;

pub use time::{Instant, UnixTime};

mod backoff;
pub mod connection;
mod dedupe;
pub mod recycle;
mod request_id;
mod requests;
mod scope;
pub mod timer;

pub use connection::{Connection, Event, Input, Output, State};
