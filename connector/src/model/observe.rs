//! Observability: a bounded log of every frame and a set of counters.

use std::collections::VecDeque;

use serde::Serialize;

use super::interface::SessionId;
use relay_core::time::Instant;

/// Which way a logged frame travelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Gateway → connector.
    In,
    /// Connector → gateway.
    Out,
}

/// One logged frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// When it was handled or produced.
    pub at: Instant,
    /// The session it travelled on.
    pub session: SessionId,
    /// Which way.
    pub direction: Direction,
    /// The frame `type`, or `invalid` for a line that did not decode.
    pub frame_type: String,
    /// The line (without `\n`), truncated to the configured limit.
    pub text: String,
    /// Why the line was rejected, for `invalid` entries.
    pub error: Option<String>,
}

/// A bounded ring of [`LogEntry`]s: the oldest entries fall off.
#[derive(Clone, Debug, Default)]
pub struct FrameLog {
    entries: VecDeque<LogEntry>,
    capacity: usize,
    text_limit: usize,
    total: u64,
}

impl FrameLog {
    /// An empty log keeping at most `capacity` entries of at most `text_limit`
    /// bytes of text each.
    pub fn new(capacity: usize, text_limit: usize) -> Self {
        FrameLog {
            entries: VecDeque::new(),
            capacity,
            text_limit,
            total: 0,
        }
    }

    pub(crate) fn push(&mut self, mut entry: LogEntry) {
        self.total = self.total.saturating_add(1);
        if self.capacity == 0 {
            return;
        }
        if entry.text.len() > self.text_limit {
            let mut cut = self.text_limit;
            while cut > 0 && !entry.text.is_char_boundary(cut) {
                cut -= 1;
            }
            entry.text.truncate(cut);
        }
        if entry.text.ends_with('\n') {
            entry.text.pop();
        }
        while self.entries.len() >= self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    /// The kept entries, oldest first.
    pub fn entries(&self) -> impl Iterator<Item = &LogEntry> {
        self.entries.iter()
    }

    /// Number of kept entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no entry is kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries ever logged, including those that fell off or were cleared.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Drops every kept entry.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Removes and returns every kept entry.
    pub fn take(&mut self) -> Vec<LogEntry> {
        self.entries.drain(..).collect()
    }

    /// The kept frame types travelling in `direction` on `session`, in order
    /// (handy in tests).
    pub fn types(&self, session: SessionId, direction: Direction) -> Vec<&str> {
        self.entries
            .iter()
            .filter(|e| e.session == session && e.direction == direction)
            .map(|e| e.frame_type.as_str())
            .collect()
    }
}

/// Counters of what the connector did. All saturate; none is ever reset
/// (a [`crate::Connector::restart`] keeps them). They serialize as one JSON
/// object, a key per counter, in this order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ConnectorStats {
    /// Upgrades that became authorized sessions.
    pub upgrades_accepted: u64,
    /// Upgrades refused (at the HTTP level or with a 4401 close).
    pub upgrades_refused: u64,
    /// Close frames with code 4401 emitted (refused upgrades and revocations).
    pub closes_4401: u64,
    /// Sessions closed because a newer session of the same instance arrived.
    pub sessions_superseded: u64,
    /// Sessions lost to [`crate::Connector::restart`].
    pub sessions_dropped: u64,
    /// Frames received from gateways (decoded or not).
    pub frames_in: u64,
    /// Frames sent to gateways.
    pub frames_out: u64,
    /// Gateway lines that did not decode (skipped).
    pub bad_frames: u64,
    /// Input for a session that does not exist (any more).
    pub input_for_unknown_session: u64,
    /// `hello` frames handled.
    pub hellos: u64,
    /// `descriptor` frames sent.
    pub descriptors_sent: u64,
    /// Deliveries pushed live (no `bufferId`).
    pub delivered_live: u64,
    /// Deliveries appended to a durable buffer.
    pub buffered: u64,
    /// Deliveries dropped (instance not connected, not flipped, and
    /// buffering while disconnected is off).
    pub dropped_undeliverable: u64,
    /// Buffered items sent for the first time.
    pub drained: u64,
    /// Buffered items sent again after an earlier unacked send.
    pub redelivered: u64,
    /// `inbound_ack`s that acknowledged an in-flight item.
    pub acked: u64,
    /// Acks for an item this instance already had acknowledged.
    pub acks_duplicate: u64,
    /// Acks for an id that is not in flight for the sender's instance.
    pub acks_unknown: u64,
    /// `going_idle` frames handled.
    pub going_idle: u64,
    /// Times a flip was cleared after a completed drain.
    pub flips_cleared: u64,
    /// Wake pokes emitted.
    pub wake_pokes: u64,
    /// `outbound` requests received.
    pub outbound_requests: u64,
    /// `outbound_result` frames sent.
    pub outbound_results: u64,
    /// Requests the responder left unanswered, or whose delayed answer found
    /// its session gone.
    pub outbound_unanswered: u64,
    /// `follow_up`s refused for a missing capability or a tenant mismatch.
    pub follow_ups_refused: u64,
    /// Requests answered with an egress decline (a declined target).
    pub egress_declined: u64,
    /// `interrupt`s routed to the owner's live session.
    pub interrupts_routed: u64,
    /// `interrupt`s with no bound owner, no live owner session, or a tenant
    /// mismatch.
    pub interrupts_unrouted: u64,
    /// Management HTTP requests answered with a 2xx status.
    pub http_ok: u64,
    /// Management HTTP requests answered with an error status.
    pub http_errors: u64,
}
