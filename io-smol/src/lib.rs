//! smol driver for [`relay_core`]: the same [`RelayClient`], [`RelayHandle`]
//! and [`Events`] as `relay-tokio`, on smol.
//!
//! The driver loop, the socket handling and the application API are the
//! runtime-neutral engine of `relay-tokio` (used here without its `tokio`
//! feature, so no tokio enters the dependency tree). This crate supplies
//! only the smol glue: spawn, timers, TCP connect and blocking work.
//!
//! ```no_run
//! use relay_core::config::RelayConfig;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! smol::block_on(async {
//!     let config = RelayConfig::builder("ws://127.0.0.1:8080").allow_unauthenticated().build()?;
//!     let (handle, mut events) = relay_smol::RelayClient::start(config);
//!     while let Some(event) = events.next_event().await {
//!         println!("{event:?}");
//!     }
//!     handle.shutdown().await;
//!     Ok(())
//! })
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::io;
use std::sync::Arc;

/// The core crate, re-exported so that one dependency is enough.
pub use relay_core;
use relay_core::config::RelayConfig;
use relay_tokio::engine::{self, BoxFuture, IoStream, Runtime};
pub use relay_tokio::engine::{ClientError, ClientOptions, Events, RelayHandle};

/// The HTTP calls (provision, policy, enroll, the env file), runtime-neutral:
/// pass `&SmolRuntime` as the runtime. They run ureq on smol's blocking
/// thread pool.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use relay_smol::{SmolRuntime, http};
///
/// smol::block_on(async {
///     let (config, _warnings) = relay_core::config::RelayConfig::from_env()?;
///     let summary = http::provision(
///         &SmolRuntime,
///         &config,
///         &http::default_gateway_id(&config),
///         "identity-token",
///         &http::HttpOptions::default(),
///     )
///     .await;
///     println!("{} platform(s) failed", summary.failures.len());
///     Ok(())
/// })
/// # }
/// ```
pub use relay_tokio::engine::http;

/// The engine's [`Runtime`] on smol's global executor and async-io reactor.
#[derive(Clone, Copy, Debug, Default)]
pub struct SmolRuntime;

impl Runtime for SmolRuntime {
    fn spawn(&self, task: BoxFuture<()>) {
        smol::spawn(task).detach();
    }

    fn sleep_until(&self, deadline: std::time::Instant) -> BoxFuture<()> {
        let timer = async_io::Timer::at(deadline);
        Box::pin(async move {
            timer.await;
        })
    }

    fn connect_tcp(&self, host: String, port: u16) -> BoxFuture<io::Result<Box<dyn IoStream>>> {
        Box::pin(async move {
            let stream = async_net::TcpStream::connect((host.as_str(), port)).await?;
            // Frames are small and latency matters more than packet count.
            stream.set_nodelay(true)?;
            Ok(Box::new(stream) as Box<dyn IoStream>)
        })
    }

    fn unblock(&self, work: Box<dyn FnOnce() + Send + 'static>) -> BoxFuture<()> {
        Box::pin(blocking::unblock(work))
    }
}

/// A relay gateway client on smol.
#[derive(Debug)]
pub struct RelayClient;

impl RelayClient {
    /// Starts a client with default options. Its driver runs on smol's
    /// global executor, so it needs no runtime handle.
    pub fn start(config: RelayConfig) -> (RelayHandle, Events) {
        Self::start_with(config, ClientOptions::default())
    }

    /// Starts a client with `options`.
    pub fn start_with(config: RelayConfig, options: ClientOptions) -> (RelayHandle, Events) {
        engine::start(Arc::new(SmolRuntime), config, options)
    }
}
