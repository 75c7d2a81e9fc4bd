//! The pending-request table: ids, deadlines, and fail-all on disconnect.
//!
//! Deadlines are `now + request_timeout` with a clamped monotonic `now`, so
//! they are non-decreasing in insertion order and a queue is enough to find
//! the earliest one. Resolved entries are skipped lazily. Iteration order is
//! insertion order, so failure events come out in a deterministic order.
//! Ids are found by hash (seeded with a constant: only ids drawn by the core
//! are stored), not by comparing 32-byte keys down a tree, which cost about
//! as much as the rest of the table with a few dozen requests in flight.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;

use foldhash::fast::{FixedState, FoldHasher};

use crate::request_id::RequestId;
use crate::time::Instant;

#[derive(Clone, Debug)]
struct Pending {
    deadline: Instant,
}

/// foldhash with its fixed seed, held in no bytes (a connection's size is
/// bounded, see `tests/connection_footprint.rs`).
#[derive(Clone, Copy, Debug, Default)]
struct IdHash;

impl BuildHasher for IdHash {
    type Hasher = FoldHasher<'static>;

    fn build_hasher(&self) -> Self::Hasher {
        FixedState::default().build_hasher()
    }
}

/// Requests in flight.
#[derive(Clone, Debug, Default)]
pub(crate) struct Requests {
    pending: HashMap<RequestId, Pending, IdHash>,
    order: VecDeque<(Instant, RequestId)>,
}

impl Requests {
    pub(crate) fn len(&self) -> usize {
        self.pending.len()
    }

    #[cfg(test)]
    pub(crate) fn contains(&self, id: &RequestId) -> bool {
        self.pending.contains_key(id)
    }

    pub(crate) fn insert(&mut self, id: RequestId, deadline: Instant) {
        self.order.push_back((deadline, id));
        self.pending.insert(id, Pending { deadline });
    }

    /// Removes `id`; `true` if it was pending.
    pub(crate) fn resolve(&mut self, id: &RequestId) -> bool {
        let found = self.pending.remove(id).is_some();
        self.compact();
        found
    }

    /// The earliest deadline of a request still pending.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.order
            .iter()
            .find(|(_, id)| self.pending.contains_key(id))
            .map(|(at, _)| *at)
    }

    /// Removes and returns every request whose deadline is `<= now`, oldest first.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<RequestId> {
        let mut expired = Vec::new();
        while let Some((at, _)) = self.order.front() {
            if *at > now {
                break;
            }
            if let Some((_, id)) = self.order.pop_front()
                && let Some(p) = self.pending.get(&id)
                && p.deadline <= now
            {
                self.pending.remove(&id);
                expired.push(id);
            }
        }
        expired
    }

    /// Removes and returns every pending request, oldest first.
    pub(crate) fn drain_all(&mut self) -> Vec<RequestId> {
        let mut all = Vec::with_capacity(self.pending.len());
        for (_, id) in self.order.drain(..) {
            if self.pending.remove(&id).is_some() {
                all.push(id);
            }
        }
        self.pending.clear();
        all
    }

    /// Drops resolved entries from the front so the queue stays short.
    fn compact(&mut self) {
        while let Some((_, id)) = self.order.front() {
            if self.pending.contains_key(id) {
                break;
            }
            self.order.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    fn id(n: u64) -> RequestId {
        RequestId::from_halves(0, n)
    }

    #[test]
    fn expire_and_resolve_in_order() {
        let mut r = Requests::default();
        r.insert(id(1), at(10));
        r.insert(id(2), at(20));
        r.insert(id(3), at(30));
        assert_eq!(r.next_deadline(), Some(at(10)));
        assert!(r.resolve(&id(1)));
        assert!(!r.resolve(&id(1)));
        assert_eq!(r.next_deadline(), Some(at(20)));
        assert_eq!(r.expire(at(25)), [id(2)]);
        assert!(r.contains(&id(3)));
        assert_eq!(r.drain_all(), [id(3)]);
        assert_eq!(r.len(), 0);
        assert_eq!(r.next_deadline(), None);
    }
}
