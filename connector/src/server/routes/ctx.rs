//! What every request handler shares.

use std::sync::Arc;

use async_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio::sync::{Semaphore, mpsc};

use crate::server::driver::Cmd;
use crate::server::socket::SocketLimits;
use crate::server::stats::Counters;

/// What every request handler shares.
pub(crate) struct Ctx {
    /// Upgraded into a sender held by each socket task, so that shutdown
    /// can wait for the sockets' close.
    pub(crate) live: mpsc::WeakSender<()>,
    pub(crate) cmds: mpsc::Sender<Cmd>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) ws_config: WebSocketConfig,
    pub(crate) socket_limits: SocketLimits,
    pub(crate) max_body_bytes: usize,
    /// Capacity of each socket's queue.
    pub(crate) socket_queue: usize,
    /// Permits of the media upload bodies read at once.
    pub(crate) media_uploads: Arc<Semaphore>,
}
