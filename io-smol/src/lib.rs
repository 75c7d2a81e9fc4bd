#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::io;
use std::sync::{Arc, OnceLock};

use async_executor::Executor;

/// The core crate, re-exported so that one dependency is enough.
pub use relay_core;
use relay_core::config::RelayConfig;
use relay_engine::{BoxFuture, IoStream, Runtime};
pub use relay_engine::{ClientError, ClientOptions, Events, RelayHandle};

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
/// [`Executor`], timers and sockets on the async-io reactor, blocking work
/// on the `blocking` thread pool.
///
/// [`SmolRuntime::default`] spawns onto a process-wide executor that one
/// background thread (named `hermes-relay-smol`) runs; [`SmolRuntime::with_executor`]
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
    /// Starts a client with default options. Its driver runs on the
    /// process-wide executor of [`SmolRuntime::default`], so it needs no
    /// runtime handle.
    pub fn start(config: RelayConfig) -> (RelayHandle, Events) {
        Self::start_with(config, ClientOptions::default())
    }

    /// Starts a client with `options`.
    pub fn start_with(config: RelayConfig, options: ClientOptions) -> (RelayHandle, Events) {
        Self::start_on(SmolRuntime::default(), config, options)
    }

    /// Starts a client on a given runtime, for example
    /// [`SmolRuntime::with_executor`].
    pub fn start_on(
        runtime: SmolRuntime,
        config: RelayConfig,
        options: ClientOptions,
    ) -> (RelayHandle, Events) {
        relay_engine::start(Arc::new(runtime), config, options)
    }
}
