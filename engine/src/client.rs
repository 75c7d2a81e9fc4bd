//! The one front door of the engine: [`RelayClient`], generic over the
//! [`Runtime`] it runs on.

use std::marker::PhantomData;
use std::sync::Arc;

use relay_core::config::RelayConfig;

use super::driver::Driver;
use super::engine::{Engine, Replies};
use super::events::Events;
use super::handle::RelayHandle;
use super::inline::InlineClient;
use super::options::ClientOptions;
use super::runtime::{CurrentRuntime, Runtime};
use super::shared::Shared;

/// A relay gateway client on the runtime `R`.
///
/// The runtime crates name it for their runtime:
/// `relay_tokio::RelayClient` is `RelayClient<TokioRuntime>`,
/// `relay_smol::RelayClient` is `RelayClient<SmolRuntime>`. Two ways to run
/// a client:
///
/// - [`start`](Self::start) spawns a driver task and returns a
///   [`RelayHandle`] (clone it, call it from any task, send concurrently)
///   and the [`Events`] stream;
/// - [`inline`](Self::inline) returns an [`InlineClient`], driven by the
///   task that awaits it: no driver task, no hand-over between tasks.
///
/// The `_on` forms take the runtime as a value, for a runtime of your own
/// (see the crate's README) or a specific instance of one.
pub struct RelayClient<R> {
    _runtime: PhantomData<fn() -> R>,
}

impl<R> std::fmt::Debug for RelayClient<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RelayClient")
    }
}

impl<R: Runtime> RelayClient<R> {
    /// Starts a client on `runtime`: the driver task owns the connection,
    /// and the returned handle and event stream are how the application
    /// talks to it.
    pub fn start_on(
        runtime: R,
        config: RelayConfig,
        options: ClientOptions,
    ) -> (RelayHandle, Events) {
        let rt: Arc<dyn Runtime> = Arc::new(runtime);
        let engine = Engine::new(
            rt.clone(),
            config,
            &options,
            Replies::Remote(Default::default()),
        );
        let shared = Arc::new(Shared::new(engine, options.event_capacity));
        rt.spawn(Box::pin(Driver::new(shared.clone())));
        (RelayHandle::new(shared.clone()), Events::new(shared))
    }

    /// A client on `runtime` that runs inside the calling task
    /// ([`InlineClient`]). Nothing happens until it is awaited.
    pub fn inline_on(runtime: R, config: RelayConfig, options: ClientOptions) -> InlineClient {
        InlineClient::new(Arc::new(runtime), config, options)
    }
}

impl<R: CurrentRuntime> RelayClient<R> {
    /// Starts a client with default options on the current runtime
    /// ([`CurrentRuntime::current`]).
    ///
    /// # Panics
    ///
    /// When the runtime cannot be found (on tokio: when called outside a
    /// tokio runtime, as `tokio::spawn` does).
    pub fn start(config: RelayConfig) -> (RelayHandle, Events) {
        Self::start_with(config, ClientOptions::default())
    }

    /// Starts a client with `options` on the current runtime.
    ///
    /// # Panics
    ///
    /// As [`start`](Self::start).
    pub fn start_with(config: RelayConfig, options: ClientOptions) -> (RelayHandle, Events) {
        Self::start_on(R::current(), config, options)
    }

    /// A client that runs inside the calling task instead of on a driver
    /// task of its own ([`InlineClient`]): the cheapest way to run one
    /// client from one task, above all on a multi-thread runtime. It makes
    /// progress while the task awaits its `next_event`, `send` or
    /// `shutdown`.
    ///
    /// # Panics
    ///
    /// As [`start`](Self::start).
    pub fn inline(config: RelayConfig) -> InlineClient {
        Self::inline_with(config, ClientOptions::default())
    }

    /// [`inline`](Self::inline) with `options`.
    ///
    /// # Panics
    ///
    /// As [`start`](Self::start).
    pub fn inline_with(config: RelayConfig, options: ClientOptions) -> InlineClient {
        Self::inline_on(R::current(), config, options)
    }
}
