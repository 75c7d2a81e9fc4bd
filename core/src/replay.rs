//! Remembers the identities of the inbound messages handed to the
//! application, so that a connector replaying a message it had delivered
//! live (after a reconnect, from its durable buffer, under a `bufferId`)
//! does not run the application's turn a second time.
//!
//! A message's identity is its platform, chat id and platform message id;
//! a message without a chat id or a message id has none and is never taken
//! for a replay (dropping a real message is worse than handing one over
//! twice). Identities are kept as 64-bit hashes (foldhash with a fixed
//! seed, the parts delimited), the newest `capacity` of them, first in
//! first out: memory stays at 24 bytes per entry whatever the ids' length,
//! and two different identities share a hash with a probability of about
//! `capacity / 2^64` per message.

use core::hash::BuildHasher;
use foldhash::quality::FixedState;

#[cfg(test)]
use crate::message::MessageEvent;

/// The identity hash of a message, when it has an identity.
#[cfg(test)]
pub(crate) fn identity_of(event: &MessageEvent) -> Option<u64> {
    identity_of_parts(
        event.source.platform.as_str(),
        event.source.chat_id.as_str(),
        event.message_id.as_deref(),
    )
}

/// [`identity_of`] from a message's platform, chat id and message id, for
/// a caller that has them as `&str` already.
#[inline]
pub(crate) fn identity_of_parts(
    platform: &str,
    chat_id: &str,
    message_id: Option<&str>,
) -> Option<u64> {
    let message_id = message_id.filter(|m| !m.is_empty())?;
    if chat_id.is_empty() {
        return None;
    }
    // A fixed seed: the same identity hashes the same in every run. A fast
    // hash rather than a keyed one loses nothing here: the set is bounded
    // (at most `capacity` entries, probes bounded by its size), and a
    // SipHash with fixed keys could be aimed at just as well.
    Some(IDENTITY_HASH.hash_one((platform, chat_id, message_id)))
}

/// The hasher of identities (the seed is arbitrary, fixed).
const IDENTITY_HASH: FixedState = FixedState::with_seed(0x7265_6c61_795f_6964);

/// What [`ReplayMemory::look_up`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// Handed over among the last `capacity`: a replay.
    Known,
    /// Not among them; the empty slot it would take (`None`: nothing is
    /// remembered, the capacity being 0).
    New(Option<usize>),
}

/// Marks an empty slot (an identity hashing to it is stored as 1).
const EMPTY: u64 = 0;

/// The identities of the last `capacity` messages handed over: their order
/// in a ring (filled up to `capacity`, then each new one takes the oldest
/// one's place), and an open-addressing set (linear probing, deletion by
/// backward shift) at most half full. Both are sized once, on the first
/// message, so a steady stream allocates nothing.
#[derive(Clone, Debug)]
pub(crate) struct ReplayMemory {
    order: Vec<u64>,
    /// Once `order` is full: the index of its oldest entry.
    oldest: usize,
    slots: Vec<u64>,
    capacity: usize,
}

impl ReplayMemory {
    /// Remembers up to `capacity` identities (0: none, never a replay).
    pub(crate) fn new(capacity: usize) -> Self {
        ReplayMemory {
            order: Vec::new(),
            oldest: 0,
            slots: Vec::new(),
            capacity,
        }
    }

    /// Looks `identity` up once: whether it was handed over among the last
    /// `capacity`, and else where [`remember_new`](Self::remember_new)
    /// records it. Valid until the memory is next changed.
    pub(crate) fn look_up(&mut self, identity: u64) -> Lookup {
        if self.capacity == 0 {
            return Lookup::New(None);
        }
        let key = stored(identity);
        if self.slots.is_empty() {
            self.size_once();
        }
        let mut i = self.home(key);
        loop {
            match self.slots.get(i) {
                Some(&s) if s == key => return Lookup::Known,
                Some(&EMPTY) | None => return Lookup::New(Some(i)),
                Some(_) => i = self.next(i),
            }
        }
    }

    /// Sizes the set and the ring, on the first message (out of line: the
    /// probe of every later one then saves no registers around it).
    #[cold]
    #[inline(never)]
    fn size_once(&mut self) {
        let size = self.capacity.saturating_mul(2).next_power_of_two().max(8);
        self.slots = vec![EMPTY; size];
        self.order.reserve_exact(self.capacity.min(1 << 16));
    }

    /// Records `identity`, which [`look_up`](Self::look_up) just found new
    /// (`at`, the memory unchanged since): inserted at the slot that look-up
    /// ended on, then the oldest identity forgotten if there are more than
    /// `capacity`. Evicting after inserting keeps `at` the first empty slot
    /// of the identity's probe path.
    pub(crate) fn remember_new(&mut self, identity: u64, at: Lookup) {
        let Lookup::New(Some(i)) = at else {
            return;
        };
        let key = stored(identity);
        let Some(slot) = self.slots.get_mut(i) else {
            return;
        };
        debug_assert_eq!(*slot, EMPTY, "the memory changed since the look-up");
        *slot = key;
        if self.order.len() < self.capacity {
            self.order.push(key);
        } else if let Some(oldest) = self.order.get_mut(self.oldest) {
            let old = std::mem::replace(oldest, key);
            self.oldest += 1;
            if self.oldest == self.order.len() {
                self.oldest = 0;
            }
            self.remove(old);
        }
    }

    /// Whether `identity` was handed over among the last `capacity`.
    #[cfg(test)]
    pub(crate) fn contains(&self, identity: u64) -> bool {
        self.find(stored(identity)).is_some()
    }

    /// Records that a message of `identity` was handed over.
    #[cfg(test)]
    pub(crate) fn remember(&mut self, identity: u64) {
        let at = self.look_up(identity);
        self.remember_new(identity, at);
    }

    fn home(&self, key: u64) -> usize {
        // The keys are hashes already: their low bits are the slot.
        (key as usize) & (self.slots.len() - 1)
    }

    fn next(&self, i: usize) -> usize {
        (i + 1) & (self.slots.len() - 1)
    }

    fn find(&self, key: u64) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mut i = self.home(key);
        loop {
            match self.slots.get(i) {
                Some(&s) if s == key => return Some(i),
                Some(&EMPTY) | None => return None,
                Some(_) => i = self.next(i),
            }
        }
    }

    /// Removes `key`, shifting back the entries probed past it so that
    /// every entry stays reachable from its home slot.
    fn remove(&mut self, key: u64) {
        let Some(mut hole) = self.find(key) else {
            return;
        };
        let mut j = hole;
        loop {
            j = self.next(j);
            let Some(&entry) = self.slots.get(j) else {
                return;
            };
            if entry == EMPTY {
                break;
            }
            let home = self.home(entry);
            // The entry may move into the hole unless its home lies
            // cyclically in (hole, j].
            let stays = if hole <= j {
                hole < home && home <= j
            } else {
                hole < home || home <= j
            };
            if !stays {
                if let Some(slot) = self.slots.get_mut(hole) {
                    *slot = entry;
                }
                hole = j;
            }
        }
        if let Some(slot) = self.slots.get_mut(hole) {
            *slot = EMPTY;
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }
}

/// `identity` as stored (never [`EMPTY`]).
fn stored(identity: u64) -> u64 {
    identity.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    fn event(platform: &str, chat: &str, message: Option<&str>) -> MessageEvent {
        let mut e = MessageEvent::default();
        e.source.platform = platform.into();
        e.source.chat_id = chat.into();
        e.message_id = message.map(Into::into);
        e
    }

    #[test]
    fn identity_needs_a_chat_and_a_message_id() {
        assert!(identity_of(&event("slack", "C1", Some("1.2"))).is_some());
        assert_eq!(identity_of(&event("slack", "C1", None)), None);
        assert_eq!(identity_of(&event("slack", "C1", Some(""))), None);
        assert_eq!(identity_of(&event("slack", "", Some("1.2"))), None);
        let a = identity_of(&event("slack", "C1", Some("1")));
        assert_ne!(a, identity_of(&event("discord", "C1", Some("1"))));
        assert_ne!(
            a,
            identity_of(&event("slack", "C", Some("11"))),
            "delimited"
        );
        assert_eq!(a, identity_of(&event("slack", "C1", Some("1"))));
    }

    #[test]
    fn first_in_first_out_and_bounded_under_a_flood() {
        let mut m = ReplayMemory::new(3);
        for id in 1..4 {
            m.remember(id);
        }
        m.remember(2); // known: no change of order
        m.remember(4);
        assert!(!m.contains(1));
        assert!(m.contains(2) && m.contains(4));
        for id in 10..200_000 {
            m.remember(id);
            assert!(m.len() <= 3);
        }
        assert_eq!(m.slots.iter().filter(|s| **s != EMPTY).count(), 3);
        assert!(m.contains(199_999) && m.contains(199_997) && !m.contains(199_996));
        let mut off = ReplayMemory::new(0);
        off.remember(5);
        assert!(!off.contains(5));
    }

    /// The single probe as the connection uses it: a look-up, then a
    /// record only for some of the new identities (a message not handed
    /// over is not remembered). A duplicate within the window is found, an
    /// identity evicted from it is new again, whatever the collisions.
    #[test]
    fn look_up_then_remember_agrees_with_a_model() {
        let mut rng = crate::rng::Rng::new(11);
        for capacity in [1, 2, 3, 7, 64] {
            let mut m = ReplayMemory::new(capacity);
            let mut model: VecDeque<u64> = VecDeque::new();
            for step in 0..20_000 {
                // Homes collide (multiples of 64 share the low bits), and
                // the probe chains wrap around the end of the slots.
                let id = rng.range_inclusive(0, 30) * 64 + rng.range_inclusive(0, 2) * 7;
                let key = id.max(1);
                let at = m.look_up(id);
                assert_eq!(
                    at == Lookup::Known,
                    model.contains(&key),
                    "step {step}: {id}"
                );
                if step % 5 != 0 {
                    m.remember_new(id, at);
                    if !model.contains(&key) {
                        model.push_back(key);
                        if model.len() > capacity {
                            model.pop_front();
                        }
                    }
                }
                assert_eq!(m.len(), model.len());
            }
        }
        let mut off = ReplayMemory::new(0);
        let at = off.look_up(5);
        off.remember_new(5, at);
        assert_eq!(off.look_up(5), Lookup::New(None));
    }

    /// The set agrees with a plain model under colliding homes and
    /// wrap-around, whatever the order of insertions and evictions.
    #[test]
    fn agrees_with_a_model_under_collisions() {
        let mut rng = crate::rng::Rng::new(9);
        for capacity in [1, 2, 3, 5, 8, 64] {
            let mut m = ReplayMemory::new(capacity);
            let mut model: VecDeque<u64> = VecDeque::new();
            for _ in 0..5_000 {
                // Few distinct values, many sharing a home slot.
                let id = rng.range_inclusive(0, 40) * 16 + rng.range_inclusive(0, 1);
                m.remember(id);
                let key = id.max(1);
                if !model.contains(&key) {
                    model.push_back(key);
                    if model.len() > capacity {
                        model.pop_front();
                    }
                }
                for probe in 0..700 {
                    assert_eq!(m.contains(probe), model.contains(&probe.max(1)), "{probe}");
                }
            }
        }
    }
}
