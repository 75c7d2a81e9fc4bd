//! The pending-request table: ids, deadlines, and fail-all on disconnect.
//!
//! Deadlines are `now + request_timeout` with a clamped monotonic `now`, so
//! they are non-decreasing in insertion order and a queue is enough to find
//! the earliest one. Resolved entries are skipped lazily. Iteration order is
//! insertion order, so failure events come out in a deterministic order.

use std::collections::{BTreeMap, VecDeque};

use crate::time::Instant;

/// The id of an outbound request (32 lowercase hex characters on the wire).
///
/// Held inline (no allocation): ids are copied into the request table and
/// handed to drivers without touching the heap.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId([u8; 32]);

impl RequestId {
    /// An id from the seeded core RNG: two 64-bit halves as 32 hex digits.
    pub(crate) fn from_halves(hi: u64, lo: u64) -> Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let n = (u128::from(hi) << 64) | u128::from(lo);
        let mut hex = [0u8; 32];
        for (i, digit) in hex.iter_mut().enumerate() {
            *digit = HEX[((n >> (124 - 4 * i)) & 0xf) as usize];
        }
        RequestId(hex)
    }

    /// The id a connector echoed, if it can be one of ours (32 bytes).
    pub(crate) fn from_wire(id: &str) -> Option<Self> {
        <[u8; 32]>::try_from(id.as_bytes()).ok().map(RequestId)
    }

    /// The id as sent in `requestId`.
    pub fn as_str(&self) -> &str {
        // Built from hex digits or from a `&str` of exactly 32 bytes.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl core::fmt::Display for RequestId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::fmt::Debug for RequestId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("RequestId").field(&self.as_str()).finish()
    }
}

#[derive(Clone, Debug)]
struct Pending {
    deadline: Instant,
}

/// Requests in flight.
#[derive(Clone, Debug, Default)]
pub(crate) struct Requests {
    pending: BTreeMap<RequestId, Pending>,
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
    fn ids_are_32_hex_digits_and_round_trip() {
        let a = RequestId::from_halves(0x0123_4567_89ab_4def, 0x8000_0000_0000_00ff);
        assert_eq!(a.as_str(), "0123456789ab4def80000000000000ff");
        assert_eq!(RequestId::from_wire(a.as_str()), Some(a));
        assert_eq!(RequestId::from_wire("short"), None);
        assert_eq!(a.to_string(), a.as_str());
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
