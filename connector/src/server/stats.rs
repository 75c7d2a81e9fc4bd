//! The server's counters, and the stats it reports: the model's counters
//! and its own.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Connector, ConnectorStats, MediaStats};
use serde_json::{Value, json};

/// Counters kept outside the model (sockets and HTTP).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) upgrades_attempted: AtomicU64,
    pub(crate) upgrades_accepted: AtomicU64,
    pub(crate) upgrades_rejected: AtomicU64,
    pub(crate) sockets_open: AtomicU64,
    pub(crate) wake_pokes_sent: AtomicU64,
    pub(crate) wake_pokes_failed: AtomicU64,
    pub(crate) sockets_cut_queue_full: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
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
    /// ([`DevServerConfig::socket_queue`](crate::server::DevServerConfig::socket_queue)).
    pub sockets_cut_queue_full: u64,
    /// Live sessions in the model.
    pub sessions: usize,
    /// Items buffered over all instances.
    pub buffered: usize,
    /// The media plane's store and counters.
    pub media: MediaStats,
}

impl DevServerStats {
    /// The stats now: `connector`'s and `counters`.
    pub(super) fn collect(connector: &Connector, counters: &Counters) -> Self {
        DevServerStats {
            model: connector.stats().clone(),
            upgrades_attempted: Counters::get(&counters.upgrades_attempted),
            upgrades_accepted: Counters::get(&counters.upgrades_accepted),
            upgrades_rejected: Counters::get(&counters.upgrades_rejected),
            sockets_open: Counters::get(&counters.sockets_open),
            wake_pokes_sent: Counters::get(&counters.wake_pokes_sent),
            wake_pokes_failed: Counters::get(&counters.wake_pokes_failed),
            sockets_cut_queue_full: Counters::get(&counters.sockets_cut_queue_full),
            sessions: connector.sessions().len(),
            buffered: connector.total_buffered(),
            media: connector.media_stats(),
        }
    }

    /// The stats as the JSON object `GET /dev/stats` answers: the server's
    /// counters at the top level, the model's under `"model"` and the media
    /// plane's under `"media"`.
    pub fn to_json(&self) -> Value {
        // The model's counters in their declaration order.
        let model = serde_json::to_value(&self.model).unwrap_or(Value::Null);
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
            "media": serde_json::to_value(&self.media).unwrap_or(Value::Null),
        })
    }
}
