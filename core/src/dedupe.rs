//! Remembers which buffered deliveries (`bufferId`s) the application has
//! already been handed, so a redelivery after a drop is acked again but never
//! handed over twice. Bounded: the oldest entries are forgotten first,
//! preferring ones the application already acknowledged.

use std::collections::{BTreeMap, VecDeque};

/// Where one buffered delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DeliveryState {
    /// Handed to the application, not yet acknowledged by it.
    Handed,
    /// Acknowledged by the application (safe to `inbound_ack` on sight).
    Acked,
}

/// A bounded set of recently seen `bufferId`s and their state.
#[derive(Clone, Debug)]
pub(crate) struct DedupeWindow {
    states: BTreeMap<String, DeliveryState>,
    order: VecDeque<String>,
    capacity: usize,
}

impl DedupeWindow {
    pub(crate) fn new(capacity: usize) -> Self {
        DedupeWindow {
            states: BTreeMap::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    pub(crate) fn get(&self, id: &str) -> Option<DeliveryState> {
        self.states.get(id).copied()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.states.len()
    }

    /// Records that `id` was handed to the application.
    pub(crate) fn handed(&mut self, id: &str) {
        if self.states.contains_key(id) {
            return;
        }
        if self.states.len() >= self.capacity {
            self.evict_one();
        }
        self.states.insert(id.to_owned(), DeliveryState::Handed);
        self.order.push_back(id.to_owned());
    }

    /// Marks `id` acknowledged; returns its previous state.
    pub(crate) fn acked(&mut self, id: &str) -> Option<DeliveryState> {
        let slot = self.states.get_mut(id)?;
        let before = *slot;
        *slot = DeliveryState::Acked;
        Some(before)
    }

    fn evict_one(&mut self) {
        let victim = self
            .order
            .iter()
            .position(|id| self.states.get(id) == Some(&DeliveryState::Acked))
            .unwrap_or(0);
        if let Some(id) = self.order.remove(victim) {
            self.states.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handed_then_acked() {
        let mut d = DedupeWindow::new(4);
        assert_eq!(d.get("a"), None);
        d.handed("a");
        assert_eq!(d.get("a"), Some(DeliveryState::Handed));
        assert_eq!(d.acked("a"), Some(DeliveryState::Handed));
        assert_eq!(d.acked("a"), Some(DeliveryState::Acked));
        assert_eq!(d.acked("zzz"), None);
    }

    #[test]
    fn evicts_acked_before_handed() {
        let mut d = DedupeWindow::new(3);
        d.handed("a");
        d.handed("b");
        d.handed("c");
        d.acked("b");
        d.handed("d");
        assert_eq!(d.len(), 3);
        assert_eq!(d.get("b"), None);
        assert_eq!(d.get("a"), Some(DeliveryState::Handed));
        for i in 0..100 {
            d.handed(&format!("x{i}"));
        }
        assert_eq!(d.len(), 3);
    }
}
