//! Inbound messages handed back for reuse.
//!
//! An application that is done with the [`MessageEvent`] of an
//! [`Event::Inbound`](crate::Event::Inbound) can give it back with
//! [`Connection::recycle`](crate::Connection::recycle). A later inbound
//! message is then decoded into its box, each text into the buffer that
//! held the same field, so a steady stream of messages decodes without
//! allocating. Giving nothing back is always correct: the decoder then
//! allocates, as it does for the first messages. What a message decodes to
//! does not depend on the storage it was decoded into.
//!
//! Bounded: messages are kept while they hold at most [`MAX_HELD_BYTES`]
//! in all (a message counts its box and its text buffers), and of each only
//! the text buffers of at most [`MAX_STRING_CAPACITY`] bytes; anything
//! beyond is freed at once. [`Connection::release_idle_memory`] frees them
//! all.
//!
//! [`Connection::release_idle_memory`]: crate::Connection::release_idle_memory

use serde_json::Map;

use crate::message::{
    ChatType, CompactString, Held, MessageEvent, MessageType, SessionSource, source_text_slots,
};

/// Handed-back messages are kept while they hold at most this many bytes
/// in all (about 110 chat messages of a few hundred bytes).
pub const MAX_HELD_BYTES: usize = 128 * 1024;
/// A text buffer larger than this is freed rather than kept.
pub const MAX_STRING_CAPACITY: usize = 1024;

/// A message kept for reuse.
#[derive(Debug)]
struct Kept {
    event: Box<MessageEvent>,
    /// The bytes it holds.
    bytes: usize,
    /// Its source's optional texts that are set (see [`Held`]).
    held: Held,
}

/// Handed-back messages, ready to be decoded into (see the
/// [module docs](self)). A [`Connection`](crate::Connection) keeps one; a
/// driver that carries messages from the application's thread to the
/// connection's collects them in another and hands it over whole with
/// [`Connection::recycle_all`](crate::Connection::recycle_all).
#[derive(Debug, Default)]
pub struct EventPool {
    /// Each with the bytes it holds. The boxes themselves are kept: each is
    /// decoded into again as it is.
    events: Vec<Kept>,
    /// Their sum: at most [`MAX_HELD_BYTES`].
    held: usize,
}

impl EventPool {
    /// Keeps `event` when it fits under [`MAX_HELD_BYTES`] (its text
    /// buffers over [`MAX_STRING_CAPACITY`] freed first); frees it
    /// otherwise.
    pub fn recycle(&mut self, mut event: Box<MessageEvent>) {
        let (bytes, held) = prepare(&mut event);
        self.keep(Kept { event, bytes, held });
    }

    /// Moves every message of `other` here, as far as the bound allows (the
    /// rest is freed); `other` is left empty.
    pub fn append(&mut self, other: &mut EventPool) {
        for kept in other.events.drain(..) {
            self.keep(kept);
        }
        other.held = 0;
    }

    fn keep(&mut self, kept: Kept) {
        if self.held + kept.bytes <= MAX_HELD_BYTES {
            self.held += kept.bytes;
            self.events.push(kept);
        }
    }

    /// A kept message, blank but for the text buffers it holds, if any.
    pub fn take(&mut self) -> Option<Box<MessageEvent>> {
        self.take_held().map(|(event, _)| event)
    }

    /// [`take`](Self::take), with which of its source texts are set.
    pub(crate) fn take_held(&mut self) -> Option<(Box<MessageEvent>, Held)> {
        let kept = self.events.pop()?;
        self.held -= kept.bytes;
        Some((kept.event, kept.held))
    }

    /// Whether no message is kept.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The bytes the kept messages hold (their boxes and text buffers).
    pub fn held(&self) -> usize {
        self.held
    }

    /// Frees everything kept.
    pub(crate) fn clear(&mut self) {
        *self = EventPool::default();
    }
}

/// Makes a message ready to be handed back, and returns the bytes it then
/// holds (its box and its text buffers): every field the decoder does not
/// read in place is blanked, and text buffers over [`MAX_STRING_CAPACITY`]
/// are freed; the texts it reads in place keep their old values until a
/// decode overwrites or clears them.
fn prepare(e: &mut MessageEvent) -> (usize, Held) {
    // Destructured whole: a field added to `MessageEvent` must be placed
    // here (read in place, or blanked).
    let MessageEvent {
        text,
        message_type,
        source,
        message_id,
        reply_to_message_id,
        media_urls,
        reply_to,
        media,
        context,
        context_error,
        prompt_response,
        extra,
    } = e;
    let held = std::mem::size_of::<MessageEvent>() + bound(text) + bound_some(message_id);
    *message_type = MessageType::default();
    // Most messages have none of these: only what is there is dropped.
    if reply_to_message_id.is_some() {
        *reply_to_message_id = None;
    }
    if media_urls.capacity() != 0 {
        *media_urls = Vec::new();
    }
    if reply_to.is_some() {
        *reply_to = None;
    }
    if media.capacity() != 0 {
        *media = Vec::new();
    }
    if context.capacity() != 0 {
        *context = Vec::new();
    }
    if context_error.is_some() {
        *context_error = None;
    }
    if prompt_response.is_some() {
        *prompt_response = None;
    }
    if !extra.is_empty() {
        *extra = Map::new();
    }
    let (source_bytes, source_held) = prepare_source(source);
    (held + source_bytes, source_held)
}

fn prepare_source(s: &mut SessionSource) -> (usize, Held) {
    // The optional texts read in place (`source_text_slots`), noting
    // which are set; those over the bound are freed after, out of line, so
    // that this pass makes no call (nothing to save around one).
    let mut held = 0;
    let mut set: Held = 0;
    let mut over: Held = 0;
    // Unrolled by hand: a loop over the slots costs more than its body.
    let mut note = |slot: &Option<CompactString>, bit: Held| {
        if let Some(text) = slot {
            // An inline text holds no heap bytes.
            let bytes = heap_bytes(text);
            if bytes > MAX_STRING_CAPACITY {
                over |= bit;
            } else {
                held += bytes;
                set |= bit;
            }
        }
    };
    let [s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13] = source_text_slots(s);
    note(s0, 1);
    note(s1, 1 << 1);
    note(s2, 1 << 2);
    note(s3, 1 << 3);
    note(s4, 1 << 4);
    note(s5, 1 << 5);
    note(s6, 1 << 6);
    note(s7, 1 << 7);
    note(s8, 1 << 8);
    note(s9, 1 << 9);
    note(s10, 1 << 10);
    note(s11, 1 << 11);
    note(s12, 1 << 12);
    note(s13, 1 << 13);
    if over != 0 {
        free_source_texts(s, over);
    }
    // Destructured whole, as above.
    let SessionSource {
        platform,
        chat_id,
        chat_type,
        chat_name: _,
        user_id: _,
        user_name: _,
        thread_id: _,
        chat_topic: _,
        user_id_alt: _,
        chat_id_alt: _,
        scope_id,
        parent_chat_id: _,
        message_id: _,
        profile: _,
        user_display_name: _,
        user_handle: _,
        auto_thread_created,
        auto_thread_initial_name: _,
        prospective_thread_id: _,
        is_bot,
        message_is_edit,
        one_to_one_verified,
        extra,
    } = s;
    // The two plain texts read in place.
    held += bound_short(platform) + bound_short(chat_id);
    // Read with its `guild_id` alias, which compares with it: blanked.
    if scope_id.is_some() {
        *scope_id = None;
    }
    if *chat_type != ChatType::Dm {
        *chat_type = ChatType::Dm;
    }
    *auto_thread_created = false;
    *is_bot = false;
    *message_is_edit = false;
    *one_to_one_verified = false;
    if !extra.is_empty() {
        *extra = Map::new();
    }
    (held, set)
}

/// Frees the source's optional texts of the bits of `over` (rare).
#[cold]
#[inline(never)]
fn free_source_texts(s: &mut SessionSource, over: Held) {
    for (i, slot) in source_text_slots(s).into_iter().enumerate() {
        if over & (1 << i) != 0 {
            *slot = None;
        }
    }
}

/// Frees `s`'s buffer over the bound; the bytes it keeps.
fn bound(s: &mut String) -> usize {
    if s.capacity() > MAX_STRING_CAPACITY {
        free_string(s);
    }
    s.capacity()
}

/// The heap bytes of a short text: none when it is kept inline.
fn heap_bytes(s: &CompactString) -> usize {
    if s.is_heap_allocated() {
        s.capacity()
    } else {
        0
    }
}

/// [`bound`] for a short text.
fn bound_short(s: &mut CompactString) -> usize {
    if heap_bytes(s) > MAX_STRING_CAPACITY {
        free_short(s);
    }
    heap_bytes(s)
}

/// [`bound`] for an optional short text.
fn bound_some(slot: &mut Option<CompactString>) -> usize {
    match slot {
        Some(s) if heap_bytes(s) > MAX_STRING_CAPACITY => {
            free_text(slot);
            0
        }
        Some(s) => heap_bytes(s),
        None => 0,
    }
}

/// A buffer over the bound (rare: out of line, so the usual pass makes no
/// call).
#[cold]
#[inline(never)]
fn free_string(s: &mut String) {
    *s = String::new();
}

/// [`free_string`] for a short text.
#[cold]
#[inline(never)]
fn free_short(s: &mut CompactString) {
    *s = CompactString::default();
}

/// [`free_string`] for an optional text.
#[cold]
#[inline(never)]
fn free_text(slot: &mut Option<CompactString>) {
    *slot = None;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn big_message() -> Box<MessageEvent> {
        let big = "x".repeat(10 * MAX_STRING_CAPACITY);
        let mut e = MessageEvent {
            text: big.clone(),
            message_id: Some(big.as_str().into()),
            ..MessageEvent::default()
        };
        e.source.platform = big.as_str().into();
        e.source.chat_id = "c".into();
        e.source.user_name = Some(big.as_str().into());
        e.source.chat_name = Some("small".into());
        Box::new(e)
    }

    #[test]
    fn a_handed_back_message_keeps_only_small_text_buffers() {
        let mut e = big_message();
        let (held, _) = prepare(&mut e);
        assert!(e.text.capacity() == 0 && e.message_id.is_none());
        assert!(!e.source.platform.is_heap_allocated() && e.source.user_name.is_none());
        assert_eq!(e.source.chat_name.as_deref(), Some("small"));
        // The short texts kept are inline: only the box counts.
        assert_eq!(held, std::mem::size_of::<MessageEvent>());
    }

    #[test]
    fn a_kept_message_notes_which_source_texts_it_holds() {
        let mut e = big_message();
        e.source.prospective_thread_id = Some("p".into());
        let (_, held) = prepare(&mut e);
        // user_name (2) was freed, chat_name (0) and the last (13) kept.
        assert_eq!(held, 1 | 1 << 13);
        let mut pool = EventPool::default();
        pool.recycle(e);
        let (e, held) = pool.take_held().unwrap();
        assert_eq!(held, 1 | 1 << 13);
        assert_eq!(e.source.prospective_thread_id.as_deref(), Some("p"));
    }

    #[test]
    fn the_pool_holds_at_most_its_bound() {
        let mut pool = EventPool::default();
        for _ in 0..1_000 {
            pool.recycle(big_message());
            assert!(pool.held() <= MAX_HELD_BYTES);
        }
        let mut n = 0;
        while pool.take().is_some() {
            n += 1;
        }
        assert_eq!(pool.held(), 0);
        assert!(n >= MAX_HELD_BYTES / (std::mem::size_of::<MessageEvent>() + 64));
        pool.recycle(big_message());
        pool.clear();
        assert!(pool.take().is_none());
    }

    #[test]
    fn a_pool_appended_to_another_keeps_the_bound_and_is_left_empty() {
        let small = || {
            Box::new(MessageEvent {
                text: "hi".into(),
                ..MessageEvent::default()
            })
        };
        let mut into = EventPool::default();
        let mut from = EventPool::default();
        while into.held() + 2 * std::mem::size_of::<MessageEvent>() < MAX_HELD_BYTES {
            into.recycle(small());
            from.recycle(small());
        }
        let before = into.held();
        into.append(&mut from);
        assert!(into.held() > before && into.held() <= MAX_HELD_BYTES);
        assert!(from.is_empty() && from.held() == 0);
        // The appended messages keep their text buffers.
        assert_eq!(into.take().map(|e| e.text.capacity() >= 2), Some(true));
    }
}
