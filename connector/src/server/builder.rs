//! Building and starting a development connector server: the model, its
//! driver task and the listener, wired together.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::{Connector, ConnectorConfig, RejectMode};
use relay_core::descriptor::CapabilityDescriptor;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use super::config::{DEFAULT_WRITE_STALL_TIMEOUT, DevServerConfig};
use super::driver::{self, Driver};
use super::handle::ConnectorServer;
use super::listener::{AcceptLimits, accept_loop};
use super::routes::{Ctx, MAX_MEDIA_UPLOADS_AT_ONCE};
use super::socket;
use super::stats::Counters;

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
        let (cmds, cmd_rx) = mpsc::channel(driver::QUEUE);
        let (stop, stop_rx) = watch::channel(false);
        let state = Driver {
            connector,
            counters: Arc::clone(&counters),
            sockets: Default::default(),
            room_wait: if config.write_stall_timeout.is_zero() {
                DEFAULT_WRITE_STALL_TIMEOUT
            } else {
                config.write_stall_timeout
            },
        };
        let driver = tokio::spawn(driver::run(state, cmd_rx, stop_rx.clone()));
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
            media_uploads: Arc::new(tokio::sync::Semaphore::new(MAX_MEDIA_UPLOADS_AT_ONCE)),
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
            tasks: vec![acceptor, driver],
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

impl ConnectorServer {
    /// A builder with the defaults of [`DevServerConfig`].
    pub fn builder() -> DevServerBuilder {
        DevServerBuilder::from_config(DevServerConfig::default())
    }

    /// Starts a server with `config`.
    pub async fn start(config: DevServerConfig) -> io::Result<ConnectorServer> {
        DevServerBuilder::from_config(config).start().await
    }
}
