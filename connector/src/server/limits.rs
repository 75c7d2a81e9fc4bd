//! The server's bounds on connections: a cap that makes room by closing the
//! oldest connection that has not sent a request yet (so the admin API keeps
//! answering at the cap), and accept errors logged at most once per
//! interval. (The transport that gives up on a peer that stops reading is
//! the engine's [`relay_engine::StallGuard`].)

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// One served connection's shared state.
#[derive(Debug, Default)]
pub(crate) struct Slot {
    /// Whether a request (head complete) has arrived on it.
    started: AtomicBool,
    /// Notified to close it to make room.
    evict: Notify,
}

impl Slot {
    /// Marks that a request arrived: the connection is no longer evictable.
    pub(crate) fn started(&self) {
        self.started.store(true, Ordering::Relaxed);
    }

    /// Completes when the connection is asked to close to make room.
    pub(crate) async fn evicted(&self) {
        self.evict.notified().await;
    }
}

/// Decrements the open-connection count when the connection ends.
pub(crate) struct OpenGuard(Arc<AtomicUsize>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The accept loop's book of connections.
#[derive(Debug)]
pub(crate) struct Connections {
    max: usize,
    open: Arc<AtomicUsize>,
    /// Connections in accept order, while they may still be idle.
    waiting: VecDeque<Weak<Slot>>,
}

impl Connections {
    /// At most `max` connections (at least 1).
    pub(crate) fn new(max: usize) -> Self {
        Connections {
            max: max.max(1),
            open: Arc::new(AtomicUsize::new(0)),
            waiting: VecDeque::new(),
        }
    }

    /// Admits a new connection: at the cap, the oldest one that has sent no
    /// request is asked to close first. `None` when none can be closed (the
    /// new connection is then refused).
    pub(crate) fn admit(&mut self) -> Option<(Arc<Slot>, OpenGuard)> {
        if self.open.load(Ordering::Relaxed) >= self.max && !self.evict_one() {
            return None;
        }
        self.open.fetch_add(1, Ordering::Relaxed);
        let slot = Arc::new(Slot::default());
        if self.waiting.len() >= self.max.saturating_mul(2) {
            self.waiting.retain(|w| {
                w.upgrade()
                    .is_some_and(|s| !s.started.load(Ordering::Relaxed))
            });
        }
        self.waiting.push_back(Arc::downgrade(&slot));
        Some((slot, OpenGuard(Arc::clone(&self.open))))
    }

    fn evict_one(&mut self) -> bool {
        while let Some(weak) = self.waiting.pop_front() {
            if let Some(slot) = weak.upgrade()
                && !slot.started.load(Ordering::Relaxed)
            {
                // A stored permit: the task sees it even if not yet waiting.
                slot.evict.notify_one();
                return true;
            }
        }
        false
    }
}

/// Logs a recurring error at most once per interval, with the count of
/// those not logged.
#[derive(Debug)]
pub(crate) struct Throttled {
    every: Duration,
    last: Option<Instant>,
    skipped: u64,
}

impl Throttled {
    /// At most one line per `every`.
    pub(crate) fn new(every: Duration) -> Self {
        Throttled {
            every,
            last: None,
            skipped: 0,
        }
    }

    /// Logs `what` now, or counts it for the next line.
    pub(crate) fn warn(&mut self, what: &str, error: &dyn std::fmt::Display) {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < self.every)
        {
            self.skipped = self.skipped.saturating_add(1);
            return;
        }
        let skipped = std::mem::take(&mut self.skipped);
        self.last = Some(now);
        tracing::warn!(%error, skipped, "{what}");
    }
}

#[cfg(test)]
mod tests {
    use std::task::Context;

    use super::*;

    fn notified(slot: &Slot) -> bool {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut fut = std::pin::pin!(slot.evicted());
        fut.as_mut().poll(&mut cx).is_ready()
    }

    #[test]
    fn the_cap_evicts_the_oldest_idle_connection_only() {
        let mut c = Connections::new(2);
        let (a, _ga) = c.admit().expect("first");
        let (b, _gb) = c.admit().expect("second");
        a.started();
        // At the cap: `b` (idle) makes room, `a` (serving a request) stays.
        let (_c, _gc) = c.admit().expect("third, by evicting b");
        assert!(notified(&b));
        assert!(!notified(&a));
    }

    #[test]
    fn at_the_cap_with_nothing_idle_new_connections_are_refused() {
        let mut c = Connections::new(1);
        let (a, _ga) = c.admit().expect("first");
        a.started();
        assert!(c.admit().is_none());
        drop(_ga);
        assert!(c.admit().is_some());
    }
}
