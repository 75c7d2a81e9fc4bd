//! What the engine needs from an async runtime, and nothing else: every
//! outside input (tasks, time, sockets, blocking work, entropy) comes
//! through [`Runtime`], so a simulated runtime makes a client's run a pure
//! function of its seed.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;

use relay_core::{Instant, UnixTime};

use super::io::IoStream;

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What an async runtime must provide to run the engine.
///
/// Time is the core's [`Instant`] (monotonic milliseconds since an epoch
/// the runtime picks), so that a runtime may run on virtual time. A runtime
/// on the system clocks reads them through [`Clock`](super::Clock); see
/// `relay_tokio::TokioRuntime` and `relay_smol::SmolRuntime`, a few lines
/// each.
pub trait Runtime: Send + Sync + 'static {
    /// Runs `task` in the background until it completes.
    fn spawn(&self, task: BoxFuture<()>);

    /// The monotonic clock, in milliseconds since the runtime's epoch.
    fn now(&self) -> Instant;

    /// The wall clock, for minting upgrade tokens.
    fn wall_clock(&self) -> UnixTime;

    /// Completes at `deadline` on the [`now`](Self::now) clock (at once if
    /// it has passed).
    fn sleep_until(&self, deadline: Instant) -> BoxFuture<()>;

    /// Opens a TCP connection to `host:port`.
    fn connect_tcp(&self, host: String, port: u16) -> BoxFuture<io::Result<Box<dyn IoStream>>>;

    /// Runs blocking `work` off the async threads and completes when it is
    /// done.
    fn unblock(&self, work: Box<dyn FnOnce() + Send + 'static>) -> BoxFuture<()>;

    /// A fresh seed for a client started without
    /// [`ClientOptions::seed`](super::ClientOptions::seed) (request ids,
    /// backoff jitter).
    fn seed(&self) -> u64;
}

impl<R: Runtime + ?Sized> Runtime for Arc<R> {
    fn spawn(&self, task: BoxFuture<()>) {
        (**self).spawn(task);
    }

    fn now(&self) -> Instant {
        (**self).now()
    }

    fn wall_clock(&self) -> UnixTime {
        (**self).wall_clock()
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<()> {
        (**self).sleep_until(deadline)
    }

    fn connect_tcp(&self, host: String, port: u16) -> BoxFuture<io::Result<Box<dyn IoStream>>> {
        (**self).connect_tcp(host, port)
    }

    fn unblock(&self, work: Box<dyn FnOnce() + Send + 'static>) -> BoxFuture<()> {
        (**self).unblock(work)
    }

    fn seed(&self) -> u64 {
        (**self).seed()
    }
}

/// A runtime that a client can find without being handed one: the runtime
/// of `RelayClient::start(config)` and `RelayClient::inline(config)`.
pub trait CurrentRuntime: Runtime + Sized {
    /// The runtime to run on (the one the caller runs on, or a process-wide
    /// one). May panic when there is none, as `tokio::spawn` does; the
    /// implementation says when.
    fn current() -> Self;
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
