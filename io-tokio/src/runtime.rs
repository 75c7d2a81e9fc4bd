//! The tokio glue: what the engine needs from a runtime.

use std::io;

use async_tungstenite::tokio::TokioAdapter;
use relay_core::{Instant, UnixTime};
use relay_engine::{
    BoxFuture, Clock, CurrentRuntime, HAPPY_EYEBALLS_STAGGER, IoStream, Runtime, connect_racing,
};

/// The engine's [`Runtime`] on a tokio runtime.
#[derive(Clone, Debug)]
pub struct TokioRuntime {
    handle: tokio::runtime::Handle,
}

impl TokioRuntime {
    /// The runtime the caller runs on, if any.
    pub fn try_current() -> Option<Self> {
        tokio::runtime::Handle::try_current()
            .ok()
            .map(Self::from_handle)
    }

    /// A specific runtime.
    pub fn from_handle(handle: tokio::runtime::Handle) -> Self {
        TokioRuntime { handle }
    }
}

impl Runtime for TokioRuntime {
    fn spawn(&self, task: BoxFuture<()>) {
        self.handle.spawn(task);
    }

    fn now(&self) -> Instant {
        Clock::now()
    }

    fn wall_clock(&self) -> UnixTime {
        Clock::wall()
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<()> {
        // Timers must be created inside the runtime's context.
        let _guard = self.handle.enter();
        Box::pin(tokio::time::sleep_until(Clock::deadline(deadline).into()))
    }

    fn connect_tcp(&self, host: String, port: u16) -> BoxFuture<io::Result<Box<dyn IoStream>>> {
        Box::pin(async move {
            let addrs: Vec<_> = tokio::net::lookup_host((host.as_str(), port))
                .await?
                .collect();
            // IPv6 and IPv4 raced, 250 ms apart (happy eyeballs).
            let stream = connect_racing(
                &addrs,
                HAPPY_EYEBALLS_STAGGER,
                tokio::net::TcpStream::connect,
                tokio::time::sleep,
            )
            .await?;
            // Frames are small and latency matters more than packet count.
            stream.set_nodelay(true)?;
            Ok(Box::new(TokioAdapter::new(stream)) as Box<dyn IoStream>)
        })
    }

    fn unblock(&self, work: Box<dyn FnOnce() + Send + 'static>) -> BoxFuture<()> {
        let task = self.handle.spawn_blocking(work);
        Box::pin(async move {
            let _ = task.await;
        })
    }

    fn seed(&self) -> u64 {
        Clock::seed()
    }
}

/// The runtime the caller runs on.
///
/// # Panics
///
/// `current()` panics when called outside a tokio runtime (as
/// `tokio::spawn` does).
impl CurrentRuntime for TokioRuntime {
    fn current() -> Self {
        Self::from_handle(tokio::runtime::Handle::current())
    }
}

/// A relay gateway client on tokio: the engine's
/// [`RelayClient`](relay_engine::RelayClient) on [`TokioRuntime`].
///
/// [`start`](relay_engine::RelayClient::start) spawns the driver task on
/// the current tokio runtime and returns a handle and the event stream:
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use relay_core::config::RelayConfig;
/// use relay_core::Event;
///
/// let config = RelayConfig::builder("ws://127.0.0.1:8080")
///     .identity("telegram", "bot-1")
///     .allow_unauthenticated()
///     .build()?;
/// let (handle, mut events) = relay_tokio::RelayClient::start(config);
/// while let Some(event) = events.next_event().await {
///     if let Event::Inbound { event, delivery } = event {
///         handle.send_text(event.source.chat_id.clone(), "got it").await?;
///         if let Some(delivery) = delivery {
///             handle.ack(delivery).await?;
///         }
///     }
/// }
/// # Ok(())
/// # }
/// ```
///
/// [`inline`](relay_engine::RelayClient::inline) runs the client inside
/// the calling task instead ([`InlineClient`](relay_engine::InlineClient)):
/// the cheapest way to run one client from one task, above all on a
/// multi-thread runtime.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use relay_core::config::RelayConfig;
/// use relay_core::Event;
///
/// let config = RelayConfig::builder("ws://127.0.0.1:8080")
///     .identity("telegram", "bot-1")
///     .build()?;
/// let mut client = relay_tokio::RelayClient::inline(config);
/// while let Some(event) = client.next_event().await {
///     if let Event::Inbound { event, delivery } = event {
///         client.send_text(event.source.chat_id.clone(), "got it").await?;
///         if let Some(delivery) = delivery {
///             client.ack(delivery)?;
///         }
///     }
/// }
/// # Ok(())
/// # }
/// ```
///
/// Both panic when called outside a tokio runtime (as `tokio::spawn`
/// does); [`start_on`](relay_engine::RelayClient::start_on) and
/// [`inline_on`](relay_engine::RelayClient::inline_on) take a
/// [`TokioRuntime`] instead.
pub type RelayClient = relay_engine::RelayClient<TokioRuntime>;
