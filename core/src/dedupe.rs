//! Remembers which buffered deliveries (`bufferId`s) the application has
//! been handed, so a redelivery after a drop is acked again but never handed
//! over twice, and no item is ever lost.
//!
//! # Bounds, and what happens at them
//!
//! An id is in one of three states:
//!
//! * **held**: handed to the application, not yet acknowledged by it;
//! * **ack queued**: acknowledged by the application while no socket was
//!   open, so its `inbound_ack` waits for the item's redelivery;
//! * **acked**: its `inbound_ack` was written.
//!
//! Held and ack-queued ids are never forgotten: forgetting one would hand
//! its redelivery to the application a second time (or lose its ack). Their
//! number is bounded by [`Limits::max_unacked_deliveries`]. When a *new*
//! buffered delivery arrives with that many already outstanding, it is not
//! handed over and not acked ([`Admit::Full`]): the link closes the socket
//! (1013, try again later) and the connector, which keeps every unacked
//! item, redelivers it after the reconnect, by which time the application
//! has had the chance to ack. Nothing is dropped and nothing is duplicated.
//!
//! Acked ids are remembered only so that a redelivery of an item whose ack
//! was lost in flight is re-acked instead of handed over again. At most
//! [`Limits::dedupe_window`] of them are kept; beyond that the oldest ack is
//! forgotten first.
//!
//! Every operation is `O(log n)` (an ordered map, which a peer choosing the
//! ids cannot degrade) plus `O(1)` amortised queue work; eviction never
//! scans.
//!
//! [`Limits::max_unacked_deliveries`]: crate::config::Limits::max_unacked_deliveries
//! [`Limits::dedupe_window`]: crate::config::Limits::dedupe_window

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, VecDeque};

/// Where one buffered delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DeliveryState {
    /// Handed to the application, not yet acknowledged by it.
    Handed,
    /// Acknowledged by the application; its `inbound_ack` is not written
    /// yet (no socket was open). Written on redelivery.
    AckQueued,
    /// Acknowledged, and its `inbound_ack` written (safe to re-ack on sight).
    Acked,
}

/// What to do with a buffered delivery seen for the first time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Hand it to the application (now recorded as held).
    Hand,
    /// Too many held already: do not hand it, do not ack it.
    Full,
}

/// The ids of buffered deliveries and their state, bounded as the module
/// documentation says.
#[derive(Clone, Debug)]
pub(crate) struct DedupeWindow {
    states: BTreeMap<String, DeliveryState>,
    /// Acked ids, oldest ack first; every entry is `Acked` in `states`.
    acked: VecDeque<String>,
    /// How many acked ids are remembered.
    acked_capacity: usize,
    /// Held plus ack-queued ids.
    outstanding: usize,
    /// The bound on `outstanding`.
    max_outstanding: usize,
}

impl DedupeWindow {
    pub(crate) fn new(acked_capacity: usize, max_outstanding: usize) -> Self {
        DedupeWindow {
            states: BTreeMap::new(),
            acked: VecDeque::new(),
            acked_capacity: acked_capacity.max(1),
            outstanding: 0,
            max_outstanding: max_outstanding.max(1),
        }
    }

    pub(crate) fn get(&self, id: &str) -> Option<DeliveryState> {
        self.states.get(id).copied()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.states.len()
    }

    /// Held and ack-queued ids.
    #[cfg(test)]
    pub(crate) fn outstanding(&self) -> usize {
        self.outstanding
    }

    /// Records that `id`, never seen (or long forgotten), is handed to the
    /// application, unless too many are outstanding.
    pub(crate) fn admit_new(&mut self, id: &str) -> Admit {
        if self.outstanding >= self.max_outstanding {
            return Admit::Full;
        }
        match self.states.entry(id.to_owned()) {
            // Known ids are never admitted again (the caller checks first).
            Entry::Occupied(_) => Admit::Full,
            Entry::Vacant(slot) => {
                slot.insert(DeliveryState::Handed);
                self.outstanding += 1;
                Admit::Hand
            }
        }
    }

    /// The application acked `id`. With `written`, its `inbound_ack` goes out
    /// now; otherwise it waits for the redelivery. Returns the previous state.
    pub(crate) fn app_acked(&mut self, id: &str, written: bool) -> Option<DeliveryState> {
        let before = self.get(id)?;
        if before == DeliveryState::Handed {
            if written {
                self.outstanding = self.outstanding.saturating_sub(1);
                self.mark_acked(id);
            } else if let Some(slot) = self.states.get_mut(id) {
                *slot = DeliveryState::AckQueued;
            }
        }
        Some(before)
    }

    /// The queued `inbound_ack` of `id` was written (on its redelivery).
    pub(crate) fn ack_written(&mut self, id: &str) {
        if self.get(id) == Some(DeliveryState::AckQueued) {
            self.outstanding = self.outstanding.saturating_sub(1);
            self.mark_acked(id);
        }
    }

    /// Records `id`, never seen, as acked at once (its `inbound_ack` was
    /// written without the application: a replay of a message it has).
    pub(crate) fn record_acked(&mut self, id: &str) {
        if self.states.contains_key(id) {
            return;
        }
        self.states.insert(id.to_owned(), DeliveryState::Acked);
        self.mark_acked(id);
    }

    fn mark_acked(&mut self, id: &str) {
        if let Some(slot) = self.states.get_mut(id) {
            *slot = DeliveryState::Acked;
        }
        self.acked.push_back(id.to_owned());
        while self.acked.len() > self.acked_capacity {
            if let Some(old) = self.acked.pop_front() {
                self.states.remove(&old);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handed_then_acked() {
        let mut d = DedupeWindow::new(4, 10);
        assert_eq!(d.get("a"), None);
        assert_eq!(d.admit_new("a"), Admit::Hand);
        assert_eq!(d.get("a"), Some(DeliveryState::Handed));
        assert_eq!(d.app_acked("a", true), Some(DeliveryState::Handed));
        assert_eq!(d.app_acked("a", true), Some(DeliveryState::Acked));
        assert_eq!(d.app_acked("zzz", true), None);
        assert_eq!(d.outstanding(), 0);
    }

    #[test]
    fn held_ids_are_never_evicted_and_acked_ones_are_bounded() {
        let mut d = DedupeWindow::new(3, 100);
        for i in 0..50 {
            assert_eq!(d.admit_new(&format!("h{i}")), Admit::Hand);
        }
        for i in 0..40 {
            assert_eq!(d.admit_new(&format!("a{i}")), Admit::Hand);
            d.app_acked(&format!("a{i}"), true);
        }
        // 50 held + the 3 most recent acks.
        assert_eq!(d.len(), 53);
        assert_eq!(d.outstanding(), 50);
        for i in 0..50 {
            assert_eq!(d.get(&format!("h{i}")), Some(DeliveryState::Handed));
        }
        assert_eq!(d.get("a39"), Some(DeliveryState::Acked));
        assert_eq!(d.get("a36"), None);
    }

    #[test]
    fn queued_acks_are_kept_until_written() {
        let mut d = DedupeWindow::new(1, 10);
        d.admit_new("q");
        assert_eq!(d.app_acked("q", false), Some(DeliveryState::Handed));
        for i in 0..5 {
            d.admit_new(&format!("x{i}"));
            d.app_acked(&format!("x{i}"), true);
        }
        assert_eq!(d.get("q"), Some(DeliveryState::AckQueued));
        assert_eq!(d.outstanding(), 1);
        d.ack_written("q");
        assert_eq!(d.get("q"), Some(DeliveryState::Acked));
        assert_eq!(d.outstanding(), 0);
    }

    #[test]
    fn at_the_bound_new_ids_are_refused_until_an_ack() {
        let mut d = DedupeWindow::new(4, 2);
        assert_eq!(d.admit_new("a"), Admit::Hand);
        assert_eq!(d.admit_new("b"), Admit::Hand);
        assert_eq!(d.admit_new("c"), Admit::Full);
        assert_eq!(d.get("c"), None);
        d.app_acked("a", true);
        assert_eq!(d.admit_new("c"), Admit::Hand);
    }
}
