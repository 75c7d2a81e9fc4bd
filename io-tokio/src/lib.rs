#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod runtime;
#[cfg(feature = "http")]
mod tokio_calls;
#[cfg(feature = "wake-listener")]
#[cfg_attr(docsrs, doc(cfg(feature = "wake-listener")))]
pub mod wake;

/// The core crate, re-exported so that one dependency is enough.
pub use relay_core;
/// The runtime-neutral engine, re-exported.
pub use relay_engine;
pub use relay_engine::{ClientError, ClientOptions, Events, InlineClient, RelayHandle};
pub use runtime::{RelayClient, TokioRuntime};

/// The HTTP calls on the current tokio runtime: provision, policy, enroll,
/// the media plane, the boot sequence and the env file.
///
/// Thin wrappers over [`relay_engine::http`] that use
/// [`TokioRuntime::try_current`] and the default
/// [`HttpOptions`](http::HttpOptions); use the
/// engine functions directly for another runtime or other options.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let (mut config, _warnings) = relay_core::config::RelayConfig::from_env()?;
/// let summary = relay_tokio::http::provision(&config).await?;
/// for (platform, error) in &summary.failures {
///     eprintln!("{platform}: {error}");
/// }
/// if let Some(credentials) = &summary.credentials {
///     credentials.apply_to(&mut config);
/// }
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http {
    pub use super::tokio_calls::*;
}
