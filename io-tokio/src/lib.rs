//! Tokio driver for [`relay_core`]: a relay gateway client, the HTTP calls,
//! a development connector server and the `relay` command line.
//!
//! The protocol lives in `relay-core`; this crate only moves bytes, timers
//! and events. Its [`engine`] is runtime-neutral and shared with
//! `relay-smol`; the tokio-specific glue is [`TokioRuntime`].
//!
//! Start with [`RelayClient::start`], which returns a [`RelayHandle`] to act
//! and an [`Events`] stream to listen.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "tokio-runtime")]
pub mod dev;
pub mod engine;
#[cfg(feature = "tokio-runtime")]
pub mod http;
#[cfg(feature = "tokio-runtime")]
mod runtime;
#[cfg(feature = "tokio-runtime")]
pub mod wake;

pub use engine::{ClientError, ClientOptions, Events, RelayHandle};
/// The core crate, re-exported so that one dependency is enough.
pub use relay_core;
#[cfg(feature = "tokio-runtime")]
pub use runtime::{RelayClient, TokioRuntime};
