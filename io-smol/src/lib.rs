#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{Arc, OnceLock};

use async_executor::Executor;
use async_io::Async;

mod timer;

/// The core crate, re-exported so that one dependency is enough.
pub use relay_core;
use relay_core::{Instant, UnixTime};
use relay_engine::{
    BoxFuture, Clock, CurrentRuntime, HAPPY_EYEBALLS_STAGGER, IoStream, Runtime, connect_racing,
};
pub use relay_engine::{ClientError, ClientOptions, Events, InlineClient, RelayHandle};

/// The HTTP calls (provision, policy, enroll, the env file), runtime-neutral:
/// pass `&SmolRuntime::default()` as the runtime. Each call runs ureq on a
/// thread of its own.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use relay_smol::{SmolRuntime, http};
///
/// smol::block_on(async {
///     let (config, _warnings) = relay_core::config::RelayConfig::from_env()?;
///     let summary = http::provision(
///         &SmolRuntime::default(),
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
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub use relay_engine::http;

/// The engine's [`Runtime`] on smol's building blocks: tasks on an
/// [`Executor`], sockets on the async-io reactor, the connections' timers
/// on one thread (named `relay-smol-timer`, which exits when no timer is
/// armed), and blocking work (a name lookup per dial, the HTTP calls) on a
/// thread of its own.
///
/// [`SmolRuntime::default`] spawns onto a process-wide executor that one
/// background thread (named `relay-smol`) runs; [`SmolRuntime::with_executor`]
/// spawns onto an executor of yours (for example the one your application
/// runs with `smol::Executor::run`), so the driver shares your threads.
#[derive(Clone, Debug, Default)]
pub struct SmolRuntime {
    executor: Option<Arc<Executor<'static>>>,
}

impl SmolRuntime {
    /// Spawns the driver's tasks onto `executor`. The caller must keep the
    /// executor running (`executor.run(...)` on some thread) for as long as
    /// clients started with this runtime live.
    pub fn with_executor(executor: Arc<Executor<'static>>) -> Self {
        SmolRuntime {
            executor: Some(executor),
        }
    }

    fn executor(&self) -> &Executor<'static> {
        match &self.executor {
            Some(executor) => executor,
            None => global_executor(),
        }
    }
}

/// The process-wide executor of [`SmolRuntime::default`], started on first
/// use and run by one background thread for the life of the process.
fn global_executor() -> &'static Executor<'static> {
    static GLOBAL: OnceLock<&'static Executor<'static>> = OnceLock::new();
    GLOBAL.get_or_init(|| {
        let executor: &'static Executor<'static> = Box::leak(Box::new(Executor::new()));
        let spawned = std::thread::Builder::new()
            .name("relay-smol".into())
            .spawn(move || async_io::block_on(executor.run(std::future::pending::<()>())));
        if let Err(e) = spawned {
            // Without a thread of its own the executor still runs whenever
            // the application blocks on `async_io::block_on`, so report and
            // go on rather than panic.
            eprintln!("relay-smol: could not start the executor thread: {e}");
        }
        executor
    })
}

impl Runtime for SmolRuntime {
    fn spawn(&self, task: BoxFuture<()>) {
        self.executor().spawn(task).detach();
    }

    fn now(&self) -> Instant {
        Clock::now()
    }

    fn wall_clock(&self) -> UnixTime {
        Clock::wall()
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<()> {
        Box::pin(timer::Sleep::until(Clock::deadline(deadline)))
    }

    fn connect_tcp(&self, host: String, port: u16) -> BoxFuture<io::Result<Box<dyn IoStream>>> {
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
                Ok(ip) => vec![SocketAddr::new(ip, port)],
                // Name resolution blocks, so it runs on a thread of its own.
                Err(_) => {
                    let name = host.clone();
                    on_thread(move || (name.as_str(), port).to_socket_addrs().map(Vec::from_iter))
                        .await??
                }
            };
            // IPv6 and IPv4 raced, 250 ms apart (happy eyeballs).
            let stream = connect_racing(
                &addrs,
                HAPPY_EYEBALLS_STAGGER,
                Async::<TcpStream>::connect,
                |d| async move {
                    async_io::Timer::after(d).await;
                },
            )
            .await
            .map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => {
                    io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address"))
                }
                _ => e,
            })?;
            // Frames are small and latency matters more than packet count.
            stream.get_ref().set_nodelay(true)?;
            Ok(Box::new(stream) as Box<dyn IoStream>)
        })
    }

    fn unblock(&self, work: Box<dyn FnOnce() + Send + 'static>) -> BoxFuture<()> {
        Box::pin(async move {
            let _ = on_thread(work).await;
        })
    }

    fn seed(&self) -> u64 {
        Clock::seed()
    }
}

/// [`SmolRuntime::default`]: the process-wide executor, so a client needs no
/// runtime handle (never panics).
impl CurrentRuntime for SmolRuntime {
    fn current() -> Self {
        SmolRuntime::default()
    }
}

/// Runs blocking `work` on a thread of its own and completes with its result
/// (an error if the thread could not be started or `work` panicked). Blocking
/// work here is rare: one name lookup per dial, and the HTTP calls.
async fn on_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> io::Result<T> {
    let (tx, rx) = futures_channel::oneshot::channel();
    std::thread::Builder::new()
        .name("relay-smol-blocking".into())
        .spawn(move || {
            let _ = tx.send(work());
        })?;
    rx.await
        .map_err(|_| io::Error::other("the blocking work ended without a result"))
}

/// A relay gateway client on smol: the engine's
/// [`RelayClient`](relay_engine::RelayClient) on [`SmolRuntime`].
///
/// [`start`](relay_engine::RelayClient::start) and
/// [`inline`](relay_engine::RelayClient::inline) run on the process-wide
/// executor of [`SmolRuntime::default`], so they need no runtime handle;
/// [`start_on`](relay_engine::RelayClient::start_on) and
/// [`inline_on`](relay_engine::RelayClient::inline_on) take a runtime, for
/// example [`SmolRuntime::with_executor`]. An inline client makes progress
/// while the task awaits its `next_event`, `send` or `shutdown`; its sockets
/// use the async-io reactor, its timers relay-smol's timer thread, and its
/// final close runs on the runtime's executor.
pub type RelayClient = relay_engine::RelayClient<SmolRuntime>;
