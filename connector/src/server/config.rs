//! What a development connector server is started with.

use std::net::SocketAddr;
use std::time::Duration;

use crate::ConnectorConfig;

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

/// Everything a [`ConnectorServer`](crate::server::ConnectorServer) is started with.
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
