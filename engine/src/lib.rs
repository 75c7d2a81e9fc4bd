#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod client;
mod clock;
mod close_tap;
mod command;
mod driver;
mod engine;
mod error;
mod events;
mod handle;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;
mod inline;
mod io;
mod options;
mod runtime;
mod socket;
mod stall;
mod ws;

pub use client::RelayClient;
pub use clock::Clock;
pub use error::ClientError;
pub use events::Events;
pub use handle::RelayHandle;
pub use inline::InlineClient;
pub use io::IoStream;
pub use options::{ClientOptions, DEFAULT_WRITE_STALL_TIMEOUT};
/// The core crate, re-exported so that one dependency is enough.
pub use relay_core;
pub use runtime::{BoxFuture, CurrentRuntime, Runtime};
/// The TLS library of `wss://` dials, for [`ClientOptions::tls`].
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use rustls;
pub use stall::StallGuard;
