#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod client;
mod clock;
mod close_tap;
mod driver;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;
mod inline;
mod socket;
mod stall;

use std::future::Future;
use std::io;
use std::pin::Pin;

pub use client::{
    ClientError, ClientOptions, DEFAULT_WRITE_STALL_TIMEOUT, Events, RelayHandle, start,
};
pub use clock::Clock;
pub use inline::InlineClient;
/// The core crate, re-exported so that one dependency is enough.
pub use relay_core;
/// The TLS library of `wss://` dials, for [`ClientOptions::tls`].
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use rustls;
pub use socket::IoStream;
pub use stall::StallGuard;

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What an async runtime must provide to run the engine: every outside
/// input (tasks, time, sockets, blocking work, entropy) comes through it, so
/// a simulated runtime makes a client's run a pure function of its seed.
///
/// Time is the core's [`Instant`](relay_core::Instant) (monotonic
/// milliseconds since an epoch the runtime picks), so that a runtime may run
/// on virtual time. A runtime on the system clocks reads them through
/// [`Clock`]; see `relay_tokio::TokioRuntime` and `relay_smol::SmolRuntime`,
/// a few lines each.
pub trait Runtime: Send + Sync + 'static {
    /// Runs `task` in the background until it completes.
    fn spawn(&self, task: BoxFuture<()>);

    /// The monotonic clock, in milliseconds since the runtime's epoch.
    fn now(&self) -> relay_core::Instant;

    /// The wall clock, for minting upgrade tokens.
    fn wall_clock(&self) -> relay_core::UnixTime;

    /// Completes at `deadline` on the [`now`](Self::now) clock (at once if
    /// it has passed).
    fn sleep_until(&self, deadline: relay_core::Instant) -> BoxFuture<()>;

    /// Opens a TCP connection to `host:port`.
    fn connect_tcp(&self, host: String, port: u16) -> BoxFuture<io::Result<Box<dyn IoStream>>>;

    /// Runs blocking `work` off the async threads and completes when it is
    /// done.
    fn unblock(&self, work: Box<dyn FnOnce() + Send + 'static>) -> BoxFuture<()>;

    /// A fresh seed for a client started without
    /// [`ClientOptions::seed`] (request ids, backoff jitter).
    fn seed(&self) -> u64;
}

/// Runs blocking `work` through `rt` and returns its result.
#[cfg(feature = "http")]
pub(crate) async fn run_blocking<T, F>(rt: &dyn Runtime, work: F) -> Option<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = futures_channel::oneshot::channel();
    rt.unblock(Box::new(move || {
        let _ = tx.send(work());
    }))
    .await;
    rx.await.ok()
}
