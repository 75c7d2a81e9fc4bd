//! Tokio driver for [`relay_core`]: a relay gateway client on tokio.
//!
//! The protocol lives in `relay-core`; the runtime-neutral loop in
//! [`relay_engine`]; this crate supplies only the tokio glue,
//! [`TokioRuntime`], plus (behind features) the HTTP calls and a wake
//! listener.
//!
//! Start with [`RelayClient::start`], which returns a [`RelayHandle`] to act
//! and an [`Events`] stream to listen.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;
mod runtime;
#[cfg(feature = "wake-listener")]
#[cfg_attr(docsrs, doc(cfg(feature = "wake-listener")))]
pub mod wake;

/// The core crate, re-exported so that one dependency is enough.
pub use relay_core;
/// The runtime-neutral engine, re-exported.
pub use relay_engine;
pub use relay_engine::{ClientError, ClientOptions, Events, RelayHandle};
pub use runtime::{RelayClient, TokioRuntime};
