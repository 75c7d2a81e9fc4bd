//! Per-chat memory learned from inbound traffic: the chat's tenant scope, its
//! platform, its last author and its profile, re-attached to outbound
//! actions. Bounded:
//! when full, the least recently used tenth is forgotten at once (so the
//! steady state does no allocation on a hit).

use std::collections::BTreeMap;

/// What the gateway remembers about one chat.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ChatMemory {
    pub(crate) scope: Option<String>,
    pub(crate) platform: Option<String>,
    pub(crate) user_id: Option<String>,
    pub(crate) profile: Option<String>,
    last_used: u64,
}

/// What one inbound message tells about its chat (each `None` when the
/// message does not say, which keeps what was learned before).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Learned<'a> {
    pub(crate) scope: Option<&'a str>,
    pub(crate) platform: Option<&'a str>,
    pub(crate) user_id: Option<&'a str>,
    pub(crate) profile: Option<&'a str>,
}

/// A bounded chat → memory map with approximate LRU eviction.
#[derive(Clone, Debug)]
pub(crate) struct ScopeMemory {
    chats: BTreeMap<String, ChatMemory>,
    capacity: usize,
    clock: u64,
}

#[inline]
fn set_if_changed(slot: &mut Option<String>, value: Option<&str>) {
    if let Some(v) = value
        && !slot.as_deref().is_some_and(|old| same_text(old, v))
    {
        replace_text(slot, v);
    }
}

/// `a == b`, with the short texts ids mostly are compared here rather than
/// in a `memcmp` call (each message compares every field it carries).
#[inline]
fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let n = a.len();
    // Two loads that overlap when the length is not a multiple of the
    // word: together they cover every byte.
    let cover = |words: Option<[u64; 4]>| words.map(|[a0, a1, b0, b1]| a0 == b0 && a1 == b1);
    let same = match n {
        0 => Some(true),
        1..=3 => {
            Some(a.first() == b.first() && a.get(n / 2) == b.get(n / 2) && a.last() == b.last())
        }
        4..=7 => cover((|| {
            let w = |s: &[u8], at: usize| -> Option<u64> {
                Some(u64::from(u32::from_le_bytes(
                    *s.get(at..)?.first_chunk::<4>()?,
                )))
            };
            Some([w(a, 0)?, w(a, n - 4)?, w(b, 0)?, w(b, n - 4)?])
        })()),
        8..=16 => cover((|| {
            let w = |s: &[u8], at: usize| -> Option<u64> {
                Some(u64::from_le_bytes(*s.get(at..)?.first_chunk::<8>()?))
            };
            Some([w(a, 0)?, w(a, n - 8)?, w(b, 0)?, w(b, n - 8)?])
        })()),
        _ => None,
    };
    same.unwrap_or_else(|| a == b)
}

/// [`set_if_changed`] once the value differs (out of line: a chat's
/// values rarely change).
#[inline(never)]
fn replace_text(slot: &mut Option<String>, v: &str) {
    // Reuse the old value's buffer: ids of one chat are mostly the same
    // length, so this does not allocate either.
    match slot {
        Some(s) => {
            s.clear();
            s.push_str(v);
        }
        None => *slot = Some(v.to_owned()),
    }
}

impl ScopeMemory {
    pub(crate) fn new(capacity: usize) -> Self {
        ScopeMemory {
            chats: BTreeMap::new(),
            capacity,
            clock: 0,
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.chats.len()
    }

    /// Records what an inbound message tells about `chat_id`.
    #[inline]
    pub(crate) fn learn(&mut self, chat_id: &str, learned: Learned<'_>) {
        if chat_id.is_empty() || self.capacity == 0 {
            return;
        }
        self.clock += 1;
        let stamp = self.clock;
        let update = |m: &mut ChatMemory| {
            set_if_changed(&mut m.scope, learned.scope);
            set_if_changed(&mut m.platform, learned.platform);
            set_if_changed(&mut m.user_id, learned.user_id);
            set_if_changed(&mut m.profile, learned.profile);
            m.last_used = stamp;
        };
        // A known chat (the common case) costs one lookup.
        if let Some(m) = self.chats.get_mut(chat_id) {
            update(m);
            return;
        }
        if self.chats.len() >= self.capacity {
            self.evict();
        }
        update(self.chats.entry(chat_id.to_owned()).or_default());
    }

    pub(crate) fn get(&self, chat_id: &str) -> Option<&ChatMemory> {
        self.chats.get(chat_id)
    }

    /// Forgets the least recently used tenth (at least one entry).
    fn evict(&mut self) {
        let drop = (self.capacity / 10).max(1);
        let mut stamps: Vec<u64> = self.chats.values().map(|m| m.last_used).collect();
        stamps.sort_unstable();
        let cutoff = stamps.get(drop - 1).copied().unwrap_or(u64::MAX);
        self.chats.retain(|_, m| m.last_used > cutoff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_and_keeps_values_until_replaced() {
        let mut s = ScopeMemory::new(10);
        let l = |scope, platform, user_id| Learned {
            scope,
            platform,
            user_id,
            profile: None,
        };
        s.learn("c1", l(Some("g1"), Some("discord"), Some("u1")));
        s.learn("c1", l(None, None, None));
        let m = s.get("c1").unwrap();
        assert_eq!(m.scope.as_deref(), Some("g1"));
        assert_eq!(m.platform.as_deref(), Some("discord"));
        s.learn("c1", l(Some("g2"), None, None));
        assert_eq!(s.get("c1").unwrap().scope.as_deref(), Some("g2"));
        s.learn("", l(Some("x"), None, None));
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn same_text_is_equality() {
        // Every length up to past the word compares, each byte position
        // differing in turn, and texts of different lengths.
        for n in 0..40 {
            let a: String = (0..n).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
            assert!(same_text(&a, &a.clone()), "{a:?}");
            for at in 0..n {
                let mut b = a.clone().into_bytes();
                b[at] = b'#';
                let b = String::from_utf8(b).unwrap();
                assert!(!same_text(&a, &b), "{a:?} vs {b:?}");
                assert!(!same_text(&b, &a), "{b:?} vs {a:?}");
            }
            let longer = format!("{a}z");
            assert!(!same_text(&a, &longer));
            assert!(!same_text(&longer, &a));
        }
        assert!(same_text("é1234567", "é1234567"));
        assert!(!same_text("é1234567", "è1234567"));
    }

    #[test]
    fn a_changed_value_of_the_same_length_replaces_the_old() {
        let mut s = ScopeMemory::new(10);
        for (i, user) in ["u1", "u2", "55501234", "55501235", "95501234"]
            .iter()
            .enumerate()
        {
            s.learn(
                "c1",
                Learned {
                    user_id: Some(user),
                    ..Learned::default()
                },
            );
            assert_eq!(
                s.get("c1").unwrap().user_id.as_deref(),
                Some(*user),
                "step {i}"
            );
        }
    }

    #[test]
    fn bounded_with_lru_eviction() {
        let mut s = ScopeMemory::new(20);
        let g = Learned {
            scope: Some("g"),
            ..Learned::default()
        };
        for i in 0..20 {
            s.learn(&format!("c{i}"), g);
        }
        s.learn("c0", g); // c0 is now fresh
        s.learn("new", g);
        assert!(s.len() <= 20);
        assert!(s.get("c0").is_some());
        assert!(s.get("c1").is_none());
        assert!(s.get("new").is_some());
        for i in 0..1000 {
            s.learn(&format!("x{i}"), Learned::default());
        }
        assert!(s.len() <= 20);
    }
}
