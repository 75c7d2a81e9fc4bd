//! The pending-request table: ids, deadlines, and fail-all on disconnect.
//!
//! Deadlines are `now + request_timeout` with a clamped monotonic `now`, so
//! they are non-decreasing in insertion order and a queue is enough to find
//! the earliest one. Resolved entries are skipped lazily. Iteration order is
//! insertion order, so failure events come out in a deterministic order.

use std::collections::{BTreeMap, VecDeque};

use crate::time::Instant;

/// The id of an outbound request (32 lowercase hex characters on the wire).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub(crate) String);

impl RequestId {
    /// The id as sent in `requestId`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl core::fmt::Display for RequestId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Debug)]
struct Pending {
    deadline: Instant,
}

/// Requests in flight.
#[derive(Clone, Debug, Default)]
pub(crate) struct Requests {
    pending: BTreeMap<String, Pending>,
    order: VecDeque<(Instant, String)>,
}

impl Requests {
    pub(crate) fn len(&self) -> usize {
        self.pending.len()
    }

    #[cfg(test)]
    pub(crate) fn contains(&self, id: &str) -> bool {
        self.pending.contains_key(id)
    }

    pub(crate) fn insert(&mut self, id: String, deadline: Instant) {
        self.order.push_back((deadline, id.clone()));
        self.pending.insert(id, Pending { deadline });
    }

    /// Removes `id`; `true` if it was pending.
    pub(crate) fn resolve(&mut self, id: &str) -> bool {
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
                expired.push(RequestId(id));
            }
        }
        expired
    }

    /// Removes and returns every pending request, oldest first.
    pub(crate) fn drain_all(&mut self) -> Vec<RequestId> {
        let mut all = Vec::with_capacity(self.pending.len());
        for (_, id) in self.order.drain(..) {
            if self.pending.remove(&id).is_some() {
                all.push(RequestId(id));
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

    #[test]
    fn expire_and_resolve_in_order() {
        let mut r = Requests::default();
        r.insert("a".into(), at(10));
        r.insert("b".into(), at(20));
        r.insert("c".into(), at(30));
        assert_eq!(r.next_deadline(), Some(at(10)));
        assert!(r.resolve("a"));
        assert!(!r.resolve("a"));
        assert_eq!(r.next_deadline(), Some(at(20)));
        let ids: Vec<_> = r.expire(at(25)).into_iter().map(|i| i.0).collect();
        assert_eq!(ids, ["b"]);
        assert!(r.contains("c"));
        let all: Vec<_> = r.drain_all().into_iter().map(|i| i.0).collect();
        assert_eq!(all, ["c"]);
        assert_eq!(r.len(), 0);
        assert_eq!(r.next_deadline(), None);
    }
}
