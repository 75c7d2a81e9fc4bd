//! A development connector: the sans-IO [`Connector`] model behind a real
//! tokio server, for local development, demos, the command line and driver
//! tests.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use relay_connector::server::ConnectorServer;
//!
//! let server = ConnectorServer::builder()
//!     .gateway("gw-1", &["secret-1"])
//!     .start()
//!     .await?;
//! // A gateway configured with `relay_url = server.url()` dials `<url>/relay`.
//! println!("connector at {}", server.url());
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # What it serves
//!
//! - `GET /relay` with WebSocket upgrade headers: handed to
//!   [`Connector::accept`]; accepted upgrades get `101`, refused ones the
//!   model's HTTP status (`RejectMode::Http*`), or a `101` followed by a
//!   4401 close frame (`RejectMode::Close4401`, the default). A WebSocket
//!   upgrade on any other path is answered `400`.
//! - `POST /relay/provision`, `/relay/enroll`, `/relay/policy`: the model's
//!   [`Connector::handle_http`].
//! - The admin API (JSON), one route per thing a connector can do to a
//!   gateway, each with a handle method doing the same:
//!
//! | route | body | handle method |
//! | --- | --- | --- |
//! | `POST /dev/inbound` | `{"instance", "event": <MessageEvent, or {"chat_id", "text", "platform"}>}` | [`ConnectorServer::deliver`] |
//! | `POST /dev/passthrough` | `{"instance", "platform", "bot_id"?, "method", "path", "headers": [[name, value], ...], "body_b64"}` | [`ConnectorServer::deliver_passthrough`] |
//! | `POST /dev/interrupt` | `{"session_key", "chat_id"}` | [`ConnectorServer::push_interrupt`] |
//! | `POST /dev/bind` | `{"session_key", "instance"}` | [`ConnectorServer::bind`] |
//! | `POST /dev/capability` | `{"session_key", "instance", "kind", "expires_in_secs"?}`, or `{"session_key", "instance", "revoke": true}` | [`ConnectorServer::grant_capability`], [`ConnectorServer::revoke_capabilities`] |
//! | `POST /dev/descriptor` | `{"platform", "descriptor": {...}}` | [`ConnectorServer::set_descriptor`] |
//! | `POST /dev/revoke` | `{"gateway_id"}` | [`ConnectorServer::revoke`] |
//! | `GET /dev/stats` | | [`ConnectorServer::stats`] |
//! | `GET /dev/log` | | [`ConnectorServer::frame_log`] |
//!
//! `/dev/inbound` and `/dev/passthrough` answer `{"delivery": "live",
//! "session": "s1"}` or `{"delivery": "buffered", "buffer_id": "buf-1"}`
//! (or `{"delivery": "dropped"}`). An unknown instance or a session key
//! nobody owns answers `404`, an owner without a serving session `409`.
//! With a server on port 8080:
//!
//! ```sh
//! curl -X POST localhost:8080/dev/passthrough -d '{"instance":"gw-1","platform":"discord",
//!   "method":"POST","path":"/hook","headers":[["X-A","1"]],"body_b64":"eyJ0eXBlIjogMn0="}'
//! curl -X POST localhost:8080/dev/bind -d '{"session_key":"agent:main:discord:dm:D1","instance":"gw-1"}'
//! curl -X POST localhost:8080/dev/interrupt -d '{"session_key":"agent:main:discord:dm:D1","chat_id":"D1"}'
//! curl -X POST localhost:8080/dev/capability -d '{"session_key":"agent:main:discord:dm:D1",
//!   "instance":"gw-1","kind":"discord.interaction_token","expires_in_secs":60}'
//! curl -X POST localhost:8080/dev/capability -d '{"session_key":"agent:main:discord:dm:D1",
//!   "instance":"gw-1","revoke":true}'
//! curl localhost:8080/dev/log
//! ```
//!
//! # How it runs
//!
//! One task owns the model. Socket tasks and admin calls feed it through a
//! channel; after every input it drains [`Connector::poll_output`] and
//! routes each output: frames and close frames to the session's socket, a
//! cut link (no close frame) for `Dropped`, an HTTP GET for wake pokes, and
//! a timer for the `Wait` deadline. The model's clock is a monotonic epoch
//! taken at [`DevServerBuilder::start`]; tokens are checked against the
//! system clock.
//!
//! The server binds `127.0.0.1` by default and has no authentication of its
//! own on the admin routes: it is meant for local use only.

mod limits;
mod model;
mod poke;
mod routes;
mod socket;

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crate::{
    AdminError, Connector, ConnectorConfig, ConnectorStats, Delivery, LogEntry, RejectMode,
    SessionId,
};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use relay_core::descriptor::CapabilityDescriptor;
use relay_core::message::MessageEvent;
use relay_core::wire::PassthroughForward;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use model::{Clock, Cmd, Counters, ModelState, SocketCmd};
use routes::Ctx;

/// Default limit on request bodies (1 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Default [`DevServerConfig::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Default [`DevServerConfig::header_read_timeout`].
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default [`DevServerConfig::idle_timeout`].
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// Default [`DevServerConfig::write_stall_timeout`].
pub const DEFAULT_WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Default [`DevServerConfig::socket_queue`].
pub const DEFAULT_SOCKET_QUEUE: usize = 1024;
/// The longest [`ConnectorServer::shutdown`] waits for live sockets to
/// finish their closing handshake.
pub const SHUTDOWN_SOCKET_GRACE: Duration = Duration::from_secs(15);

/// Everything a [`ConnectorServer`] is started with.
#[derive(Clone, Debug, PartialEq)]
pub struct DevServerConfig {
    /// Address to listen on (`127.0.0.1:0`: loopback, a free port).
    pub bind: SocketAddr,
    /// The model's configuration: gateways, descriptors, wake URLs, reject
    /// mode, buffering.
    pub connector: ConnectorConfig,
    /// Seed of the model's random generator (ids and issued secrets).
    pub seed: u64,
    /// Largest accepted HTTP request body, in bytes (larger ones get 413).
    pub max_body_bytes: usize,
    /// Most HTTP connections served at once (WebSocket sockets, once
    /// upgraded, are not counted). At the cap, a new connection closes the
    /// oldest one that has not sent a request yet, so the admin API keeps
    /// answering; when every one is busy, the new one is closed at once.
    pub max_connections: usize,
    /// Longest a client may take to send a request's headers, including the
    /// wait for the next request on a kept-alive connection (hyper's
    /// `header_read_timeout`); then the connection is closed.
    pub header_read_timeout: Duration,
    /// A WebSocket from which nothing (not even a ping) is read for this
    /// long is cut (zero: never). Gateways ping every 30 s by default.
    pub idle_timeout: Duration,
    /// A WebSocket whose writes make no progress for this long (the gateway
    /// reads nothing) is cut (zero: never).
    pub write_stall_timeout: Duration,
    /// Frames the model may queue for one socket that its writer has not
    /// sent yet (never fewer than the model's drain window + 64, since a
    /// drain queues a whole window at once). At the bound the model waits
    /// for room (so its callers wait: backpressure) for at most the
    /// write-stall timeout (10 s when that is off); a socket still full then
    /// is treated as gone: it is closed with 1013, the model hears that it
    /// closed, and what it had buffered and sent unacked is redelivered to
    /// the next connection.
    pub socket_queue: usize,
}

impl Default for DevServerConfig {
    fn default() -> Self {
        DevServerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            connector: ConnectorConfig::default(),
            seed: 1,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            write_stall_timeout: DEFAULT_WRITE_STALL_TIMEOUT,
            socket_queue: DEFAULT_SOCKET_QUEUE,
        }
    }
}

/// A setup step run on the model before the server starts.
type Setup = Box<dyn FnOnce(&mut Connector) + Send>;

/// Builds and starts a [`ConnectorServer`]; see [`ConnectorServer::builder`].
#[must_use = "a builder does nothing until started"]
pub struct DevServerBuilder {
    config: DevServerConfig,
    setup: Vec<Setup>,
}

impl core::fmt::Debug for DevServerBuilder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DevServerBuilder")
            .field("config", &self.config)
            .field("setup_steps", &self.setup.len())
            .finish()
    }
}

impl DevServerBuilder {
    /// A builder with `config`.
    pub fn from_config(config: DevServerConfig) -> Self {
        DevServerBuilder {
            config,
            setup: Vec::new(),
        }
    }

    /// Listens on `addr` instead of `127.0.0.1:0`.
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.config.bind = addr;
        self
    }

    /// Replaces the model's configuration (gateways and descriptors added so
    /// far are replaced too).
    pub fn connector_config(mut self, config: ConnectorConfig) -> Self {
        self.config.connector = config;
        self
    }

    /// Registers gateway `id` with its secret rotation list (primary first).
    pub fn gateway(mut self, id: &str, secrets: &[&str]) -> Self {
        self.config.connector.gateways.insert(
            id.to_owned(),
            secrets.iter().map(|s| (*s).to_owned()).collect(),
        );
        self
    }

    /// Sets the descriptor answered to hellos for `platform`.
    pub fn descriptor(mut self, platform: &str, descriptor: CapabilityDescriptor) -> Self {
        self.config
            .connector
            .descriptors
            .insert(platform.to_owned(), descriptor);
        self
    }

    /// Registers the wake URL of `instance` (an `http://` URL).
    pub fn wake_url(mut self, instance: &str, url: &str) -> Self {
        self.config
            .connector
            .wake_urls
            .insert(instance.to_owned(), url.to_owned());
        self
    }

    /// Whether upgrades without an `Authorization` header are refused
    /// (default true; when false they join the anonymous instance).
    pub fn require_auth(mut self, on: bool) -> Self {
        self.config.connector.require_auth = on;
        self
    }

    /// How refused upgrades are answered.
    pub fn reject_mode(mut self, mode: RejectMode) -> Self {
        self.config.connector.reject_mode = mode;
        self
    }

    /// Seeds the model's random generator.
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = seed;
        self
    }

    /// Largest accepted HTTP request body, in bytes.
    pub fn max_body_bytes(mut self, max: usize) -> Self {
        self.config.max_body_bytes = max;
        self
    }

    /// Runs `f` on the model before the server starts (identities,
    /// enrollment tokens, bindings, a responder, ...).
    pub fn setup(mut self, f: impl FnOnce(&mut Connector) + Send + 'static) -> Self {
        self.setup.push(Box::new(f));
        self
    }

    /// Binds the listener and spawns the server on the current tokio
    /// runtime.
    pub async fn start(self) -> io::Result<ConnectorServer> {
        let DevServerBuilder { config, setup } = self;
        let listener = TcpListener::bind(config.bind).await?;
        let local_addr = listener.local_addr()?;
        let mut connector = Connector::new(config.connector.clone(), config.seed);
        for step in setup {
            step(&mut connector);
        }
        let counters = Arc::new(Counters::default());
        let (cmds, cmd_rx) = mpsc::channel(model::QUEUE);
        let (stop, stop_rx) = watch::channel(false);
        let state = ModelState {
            connector,
            clock: Clock::start(),
            counters: Arc::clone(&counters),
            sockets: Default::default(),
            room_wait: if config.write_stall_timeout.is_zero() {
                DEFAULT_WRITE_STALL_TIMEOUT
            } else {
                config.write_stall_timeout
            },
        };
        let model = tokio::spawn(model::run(state, cmd_rx, stop_rx.clone()));
        // Every socket task holds a sender; the last one gone ends the wait.
        let (live, ended) = mpsc::channel(1);
        let ctx = Arc::new(Ctx {
            live: live.downgrade(),
            cmds: cmds.clone(),
            counters: Arc::clone(&counters),
            ws_config: socket::ws_config(config.connector.max_frame_bytes),
            socket_limits: socket::SocketLimits {
                idle: config.idle_timeout,
                write_stall: config.write_stall_timeout,
            },
            max_body_bytes: config.max_body_bytes,
            socket_queue: socket_queue_capacity(&config),
        });
        let limits = AcceptLimits {
            max_connections: config.max_connections,
            header_read_timeout: config.header_read_timeout,
        };
        let acceptor = tokio::spawn(accept_loop(listener, ctx, limits, stop_rx));
        tracing::info!(%local_addr, "dev connector listening");
        Ok(ConnectorServer {
            local_addr,
            cmds,
            counters,
            stop,
            tasks: vec![acceptor, model],
            sockets: Some(live),
            sockets_ended: ended,
        })
    }
}

/// The capacity of each socket's queue: the setting, but room for a whole
/// drain window (which the model queues at once) and then some.
fn socket_queue_capacity(config: &DevServerConfig) -> usize {
    config
        .socket_queue
        .max(config.connector.drain_window.saturating_add(64))
        .min(tokio::sync::Semaphore::MAX_PERMITS)
}

/// The accept loop's bounds.
#[derive(Clone, Copy, Debug)]
struct AcceptLimits {
    max_connections: usize,
    header_read_timeout: Duration,
}

/// Accepts connections until told to stop; each is served by hyper (with
/// upgrades) on its own task, within the connection cap and the header-read
/// timeout.
async fn accept_loop(
    listener: TcpListener,
    ctx: Arc<Ctx>,
    limits: AcceptLimits,
    mut stop: watch::Receiver<bool>,
) {
    let mut connections = limits::Connections::new(limits.max_connections);
    let mut accept_errors = limits::Throttled::new(Duration::from_secs(10));
    let mut refusals = limits::Throttled::new(Duration::from_secs(10));
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stop.changed() => break,
        };
        let (stream, _peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of descriptors and the like: back off briefly, and say
                // so at most once per interval.
                accept_errors.warn("accept failed", &e);
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some((slot, open)) = connections.admit() else {
            refusals.warn(
                "connection cap reached and every connection is busy; closing new ones",
                &limits.max_connections,
            );
            drop(stream);
            continue;
        };
        // Frames are small and latency matters more than packet count
        // (without this, Nagle and delayed ACKs hold back a second frame).
        let _ = stream.set_nodelay(true);
        let ctx = Arc::clone(&ctx);
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let _open = open;
            let seen = Arc::clone(&slot);
            let service = service_fn(move |req| {
                seen.started();
                routes::handle(req, Arc::clone(&ctx))
            });
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::select! {
                r = conn => if let Err(e) = r {
                    tracing::debug!(error = %e, "http connection ended with an error");
                },
                () = slot.evicted() => {
                    tracing::debug!("closing an idle connection to make room");
                }
                _ = stop.changed() => {}
            }
        });
    }
}

/// Runs `f` on the model task and returns its result (`None` once the
/// server has stopped).
pub(crate) async fn call<R: Send + 'static>(
    cmds: &mpsc::Sender<Cmd>,
    f: impl FnOnce(&mut ModelState) -> R + Send + 'static,
) -> Option<R> {
    let (tx, rx) = oneshot::channel();
    let call: model::Call = Box::new(move |st| {
        let _ = tx.send(f(st));
    });
    cmds.send(Cmd::Call(call)).await.ok()?;
    rx.await.ok()
}

/// The server has stopped; admin calls can no longer reach the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the dev connector server has stopped")]
pub struct ServerStopped;

/// Where [`ConnectorServer::send_raw`] sends its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawTarget {
    /// This session's socket.
    Session(SessionId),
    /// The socket of this instance's live session.
    Instance(String),
}

impl From<SessionId> for RawTarget {
    fn from(s: SessionId) -> Self {
        RawTarget::Session(s)
    }
}

impl From<&str> for RawTarget {
    fn from(s: &str) -> Self {
        RawTarget::Instance(s.to_owned())
    }
}

impl From<String> for RawTarget {
    fn from(s: String) -> Self {
        RawTarget::Instance(s)
    }
}

/// The model's counters and the server's own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DevServerStats {
    /// The model's counters.
    pub model: ConnectorStats,
    /// WebSocket upgrade requests on `/relay` (well-formed or not).
    pub upgrades_attempted: u64,
    /// Upgrades answered `101` (including those then closed with 4401).
    pub upgrades_accepted: u64,
    /// Upgrades refused at the HTTP level (malformed, or refused by the
    /// model).
    pub upgrades_rejected: u64,
    /// WebSocket sockets currently open.
    pub sockets_open: u64,
    /// Wake pokes answered (any HTTP status).
    pub wake_pokes_sent: u64,
    /// Wake pokes that failed (unsupported URL, connect error, timeout).
    pub wake_pokes_failed: u64,
    /// Sockets treated as gone because their queue was full
    /// ([`DevServerConfig::socket_queue`]).
    pub sockets_cut_queue_full: u64,
    /// Live sessions in the model.
    pub sessions: usize,
    /// Items buffered over all instances.
    pub buffered: usize,
}

macro_rules! stats_fields {
    ($s:expr, $($f:ident),* $(,)?) => {{
        let mut m = serde_json::Map::new();
        $( m.insert(stringify!($f).to_owned(), Value::from($s.$f)); )*
        Value::Object(m)
    }};
}

impl DevServerStats {
    fn collect(st: &ModelState, counters: &Counters) -> Self {
        DevServerStats {
            model: st.connector.stats().clone(),
            upgrades_attempted: Counters::get(&counters.upgrades_attempted),
            upgrades_accepted: Counters::get(&counters.upgrades_accepted),
            upgrades_rejected: Counters::get(&counters.upgrades_rejected),
            sockets_open: Counters::get(&counters.sockets_open),
            wake_pokes_sent: Counters::get(&counters.wake_pokes_sent),
            wake_pokes_failed: Counters::get(&counters.wake_pokes_failed),
            sockets_cut_queue_full: Counters::get(&counters.sockets_cut_queue_full),
            sessions: st.connector.sessions().len(),
            buffered: st.connector.total_buffered(),
        }
    }

    /// The stats as the JSON object `GET /dev/stats` answers: the server's
    /// counters at the top level and the model's under `"model"`.
    pub fn to_json(&self) -> Value {
        let model = stats_fields!(
            self.model,
            upgrades_accepted,
            upgrades_refused,
            closes_4401,
            sessions_superseded,
            sessions_dropped,
            frames_in,
            frames_out,
            bad_frames,
            input_for_unknown_session,
            hellos,
            descriptors_sent,
            delivered_live,
            buffered,
            dropped_undeliverable,
            drained,
            redelivered,
            acked,
            acks_duplicate,
            acks_unknown,
            going_idle,
            flips_cleared,
            wake_pokes,
            outbound_requests,
            outbound_results,
            outbound_unanswered,
            follow_ups_refused,
            interrupts_routed,
            interrupts_unrouted,
            http_ok,
            http_errors,
        );
        json!({
            "upgrades_attempted": self.upgrades_attempted,
            "upgrades_accepted": self.upgrades_accepted,
            "upgrades_rejected": self.upgrades_rejected,
            "sockets_open": self.sockets_open,
            "wake_pokes_sent": self.wake_pokes_sent,
            "wake_pokes_failed": self.wake_pokes_failed,
            "sockets_cut_queue_full": self.sockets_cut_queue_full,
            "sessions": self.sessions,
            "buffered": self.buffered,
            "model": model,
        })
    }
}

/// A running development connector. Dropping the handle stops the server
/// (as [`ConnectorServer::shutdown`] does, without waiting).
#[derive(Debug)]
pub struct ConnectorServer {
    local_addr: SocketAddr,
    cmds: mpsc::Sender<Cmd>,
    counters: Arc<Counters>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// Cloned into every socket task (weakly through the handlers); once
    /// this one is dropped, `sockets_ended` yields `None` when the last
    /// socket task has ended.
    sockets: Option<mpsc::Sender<()>>,
    sockets_ended: mpsc::Receiver<()>,
}

impl ConnectorServer {
    /// A builder with the defaults of [`DevServerConfig`].
    pub fn builder() -> DevServerBuilder {
        DevServerBuilder::from_config(DevServerConfig::default())
    }

    /// Starts a server with `config`.
    pub async fn start(config: DevServerConfig) -> io::Result<ConnectorServer> {
        DevServerBuilder::from_config(config).start().await
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The base relay URL a gateway is configured with, `ws://HOST:PORT`
    /// (the gateway appends `/relay`; see [`relay_core::config::dial_url`]).
    /// A wildcard bind address (`0.0.0.0`, `::`) is given as loopback.
    pub fn url(&self) -> String {
        format!("ws://{}", self.dialable_addr())
    }

    /// The HTTP base URL of the management and admin routes,
    /// `http://HOST:PORT`.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.dialable_addr())
    }

    /// The listening address, with a wildcard IP replaced by loopback.
    fn dialable_addr(&self) -> SocketAddr {
        let mut addr = self.local_addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        }
        addr
    }

    async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut ModelState) -> R + Send + 'static,
    ) -> Result<R, ServerStopped> {
        call(&self.cmds, f).await.ok_or(ServerStopped)
    }

    /// Runs `f` on the model (with its current time) and returns its result.
    /// Outputs it causes are routed afterwards, like any other input.
    pub async fn with_model<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connector, relay_core::Instant) -> R + Send + 'static,
    ) -> Result<R, ServerStopped> {
        self.call(move |st| {
            let now = st.now();
            f(&mut st.connector, now)
        })
        .await
    }

    /// Delivers an inbound message to `instance` (see [`Connector::deliver`]).
    pub async fn deliver(
        &self,
        instance: &str,
        event: MessageEvent,
    ) -> Result<Delivery, ServerStopped> {
        let instance = instance.to_owned();
        tracing::info!(%instance, "admin: deliver");
        self.with_model(move |c, now| c.deliver(&instance, event, now))
            .await
    }

    /// Delivers a passthrough forward to `instance` (see
    /// [`Connector::deliver_passthrough`]).
    pub async fn deliver_passthrough(
        &self,
        instance: &str,
        forward: PassthroughForward,
    ) -> Result<Delivery, ServerStopped> {
        let instance = instance.to_owned();
        tracing::info!(%instance, "admin: deliver passthrough");
        self.with_model(move |c, now| c.deliver_passthrough(&instance, forward, now))
            .await
    }

    /// Binds `session_key` to the registered gateway `instance` (see
    /// [`Connector::bind_instance`]): gateway→connector interrupts for it are
    /// routed to that instance, and [`ConnectorServer::push_interrupt`]
    /// reaches it.
    pub async fn bind(
        &self,
        session_key: &str,
        instance: &str,
    ) -> Result<Result<(), AdminError>, ServerStopped> {
        let (key, inst) = (session_key.to_owned(), instance.to_owned());
        tracing::info!(session_key = %key, instance = %inst, "admin: bind");
        self.with_model(move |c, _| c.bind_instance(&key, &inst))
            .await
    }

    /// Pushes `interrupt_inbound` to the instance that owns `session_key`
    /// (see [`Connector::push_interrupt`]); returns the session it went to.
    pub async fn push_interrupt(
        &self,
        session_key: &str,
        chat_id: &str,
    ) -> Result<Result<SessionId, AdminError>, ServerStopped> {
        let (key, chat) = (session_key.to_owned(), chat_id.to_owned());
        tracing::info!(session_key = %key, "admin: interrupt");
        self.with_model(move |c, now| c.push_interrupt(&key, &chat, now))
            .await
    }

    /// Grants a `follow_up` capability of `kind` for `session_key` in the
    /// tenant of `instance`, expiring `expires_in` from now (`None`: never).
    pub async fn grant_capability(
        &self,
        session_key: &str,
        instance: &str,
        kind: &str,
        expires_in: Option<Duration>,
    ) -> Result<Result<(), AdminError>, ServerStopped> {
        let (key, inst, kind) = (session_key.to_owned(), instance.to_owned(), kind.to_owned());
        tracing::info!(session_key = %key, instance = %inst, %kind, "admin: grant capability");
        self.with_model(move |c, now| {
            let at = expires_in.map(|d| now.saturating_add(d));
            c.grant_instance_capability(&key, &inst, &kind, at)
        })
        .await
    }

    /// Revokes every capability of `session_key` in the tenant of
    /// `instance`; returns how many were removed.
    pub async fn revoke_capabilities(
        &self,
        session_key: &str,
        instance: &str,
    ) -> Result<Result<usize, AdminError>, ServerStopped> {
        let (key, inst) = (session_key.to_owned(), instance.to_owned());
        tracing::info!(session_key = %key, instance = %inst, "admin: revoke capabilities");
        self.with_model(move |c, _| c.revoke_capabilities(&key, &inst))
            .await
    }

    /// Sets the descriptor answered to later hellos for `platform`.
    pub async fn set_descriptor(
        &self,
        platform: &str,
        descriptor: CapabilityDescriptor,
    ) -> Result<(), ServerStopped> {
        let platform = platform.to_owned();
        tracing::info!(%platform, "admin: set descriptor");
        self.with_model(move |c, _| c.set_descriptor(&platform, descriptor))
            .await
    }

    /// A copy of the model's frame log (oldest first).
    pub async fn frame_log(&self) -> Result<Vec<LogEntry>, ServerStopped> {
        self.with_model(|c, _| c.log().entries().cloned().collect())
            .await
    }

    /// Revokes `gateway_id`: its live socket is closed with 4401 and later
    /// upgrades are refused.
    pub async fn revoke(&self, gateway_id: &str) -> Result<(), ServerStopped> {
        let id = gateway_id.to_owned();
        tracing::info!(gateway_id = %id, "admin: revoke");
        self.with_model(move |c, now| c.revoke(&id, now)).await
    }

    /// Restarts the model ([`Connector::restart`]): every session is lost
    /// and its socket cut without a close frame; buffers and registrations
    /// are kept. Returns the number of sockets cut.
    pub async fn restart(&self) -> Result<usize, ServerStopped> {
        tracing::info!("admin: restart");
        self.call(|st| {
            let now = st.now();
            // Every socket the model routes to belongs to a session it is
            // about to drop; the `Dropped` outputs cut them right after.
            let cut = st.sockets.len();
            st.connector.restart(now);
            cut
        })
        .await
    }

    /// Cuts every live socket without a close frame (an abnormal close, as
    /// if the network failed); the model sees each session close. Returns
    /// the number of sockets cut.
    pub async fn drop_connections(&self) -> Result<usize, ServerStopped> {
        tracing::info!("admin: drop connections");
        self.call(ModelState::drop_all).await
    }

    /// The model's counters and the server's own.
    pub async fn stats(&self) -> Result<DevServerStats, ServerStopped> {
        let counters = Arc::clone(&self.counters);
        self.call(move |st| DevServerStats::collect(st, &counters))
            .await
    }

    /// WebSocket upgrade requests received on `/relay` so far (every dial,
    /// accepted or not).
    pub fn upgrade_count(&self) -> u64 {
        Counters::get(&self.counters.upgrades_attempted)
    }

    /// WebSocket sockets currently open.
    pub fn sockets_open(&self) -> u64 {
        Counters::get(&self.counters.sockets_open)
    }

    /// Items in `instance`'s buffer.
    pub async fn buffer_len(&self, instance: &str) -> Result<usize, ServerStopped> {
        let instance = instance.to_owned();
        self.with_model(move |c, _| c.buffer_len(&instance)).await
    }

    /// The model's live sessions, in id order.
    pub async fn sessions(&self) -> Result<Vec<SessionId>, ServerStopped> {
        self.with_model(|c, _| c.sessions()).await
    }

    /// Sends `text` verbatim as one WebSocket text message on the socket of
    /// `target`, bypassing the model (for garbage or oversized frames in
    /// tests). Returns false when there is no such socket.
    pub async fn send_raw(
        &self,
        target: impl Into<RawTarget>,
        text: impl Into<String>,
    ) -> Result<bool, ServerStopped> {
        let target = target.into();
        let text = text.into();
        tracing::info!(?target, bytes = text.len(), "admin: send raw text");
        self.call(move |st| {
            let session = match target {
                RawTarget::Session(s) => Some(s),
                RawTarget::Instance(i) => st.connector.session_of(&i),
            };
            session.is_some_and(|s| st.send_to_socket(s, SocketCmd::Text(text)))
        })
        .await
    }

    /// Stops accepting, closes every live socket with 1001 and waits for the
    /// server's tasks to end, and for each socket's closing handshake (each
    /// bounded by the write-stall timeout and a 2 s wait for the peer's
    /// close frame; the whole wait by [`SHUTDOWN_SOCKET_GRACE`]).
    pub async fn shutdown(mut self) {
        tracing::info!("dev connector shutting down");
        self.stop.send_replace(true);
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
        self.sockets = None;
        let closed = tokio::time::timeout(SHUTDOWN_SOCKET_GRACE, self.sockets_ended.recv()).await;
        if closed.is_err() {
            tracing::warn!(
                grace = ?SHUTDOWN_SOCKET_GRACE,
                "sockets still closing at the end of the shutdown grace; leaving them"
            );
        }
    }
}

impl Drop for ConnectorServer {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}
