#![doc = include_str!("../README.md")]
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
