//! The tuning knobs of a client.

#[cfg(feature = "tls")]
use std::sync::Arc;
use std::time::Duration;

/// Default of [`ClientOptions::write_stall_timeout`].
pub const DEFAULT_WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Tuning knobs of a client. The defaults suit most gateways.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Events buffered for the application before the driver stops reading
    /// the socket (see [`Events`](super::Events)). The application takes them in batches,
    /// so up to twice this many may be held at once.
    pub event_capacity: usize,
    /// Not used: a [`RelayHandle`](super::RelayHandle) call is carried
    /// out on the connection by the calling task, with no command queue.
    /// Kept so that code setting it still builds.
    pub command_capacity: usize,
    /// Outgoing messages queued on one socket that the socket has not taken
    /// yet. A peer that lets the queue fill is treated as gone (the socket is
    /// dropped and the core reconnects).
    pub write_queue: usize,
    /// WebSocket read buffer per connection, in bytes. Small keeps an idle
    /// link cheap (about 4 KiB); larger saves read calls on big frames.
    pub read_buffer: usize,
    /// Longest a TCP connect, TLS handshake and upgrade may take together.
    pub dial_timeout: Duration,
    /// Longest writes may wait on a peer that reads nothing (no byte of
    /// progress) before the socket is treated as gone and the core
    /// reconnects; zero turns the check off. Together with the bounded
    /// WebSocket write buffer this keeps a peer that floods without reading
    /// from costing memory or holding the link.
    pub write_stall_timeout: Duration,
    /// Seed for request ids and backoff jitter; `None` draws one from the OS.
    pub seed: Option<u64>,
    /// TLS settings for `wss://` URLs (a private CA, client certificates);
    /// `None` uses rustls with the *ring* provider and the webpki roots.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Test only (feature `planted-bugs`): the deliberate mistake this
    /// client's engine makes; [`PlantedBug::None`](super::PlantedBug::None)
    /// is the real engine.
    #[cfg(feature = "planted-bugs")]
    #[cfg_attr(docsrs, doc(cfg(feature = "planted-bugs")))]
    pub plant: super::PlantedBug,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            event_capacity: 256,
            command_capacity: 16,
            write_queue: 1024,
            read_buffer: 4096,
            dial_timeout: Duration::from_secs(30),
            write_stall_timeout: DEFAULT_WRITE_STALL_TIMEOUT,
            seed: None,
            #[cfg(feature = "tls")]
            tls: None,
            #[cfg(feature = "planted-bugs")]
            plant: super::PlantedBug::None,
        }
    }
}
