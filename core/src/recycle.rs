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

use crate::message::{ChatType, MessageEvent, MessageType, SessionSource};

/// Handed-back messages are kept while they hold at most this many bytes
/// in all (about 110 chat messages of a few hundred bytes).
pub const MAX_HELD_BYTES: usize = 128 * 1024;
/// A text buffer larger than this is freed rather than kept.
pub const MAX_STRING_CAPACITY: usize = 1024;

/// Handed-back messages, ready to be decoded into (see the
/// [module docs](self)). A [`Connection`](crate::Connection) keeps one; a
/// driver that carries messages from the application's thread to the
/// connection's collects them in another and hands it over whole with
/// [`Connection::recycle_all`](crate::Connection::recycle_all).
#[derive(Debug, Default)]
pub struct EventPool {
    /// Each with the bytes it holds. The boxes themselves are kept: each is
    /// decoded into again as it is.
    events: Vec<(Box<MessageEvent>, usize)>,
    /// Their sum: at most [`MAX_HELD_BYTES`].
    held: usize,
}

impl EventPool {
    /// Keeps `event` when it fits under [`MAX_HELD_BYTES`] (its text
    /// buffers over [`MAX_STRING_CAPACITY`] freed first); frees it
    /// otherwise.
    pub fn recycle(&mut self, mut event: Box<MessageEvent>) {
        let bytes = prepare(&mut event);
        self.keep(event, bytes);
    }

    /// Moves every message of `other` here, as far as the bound allows (the
    /// rest is freed); `other` is left empty.
    pub fn append(&mut self, other: &mut EventPool) {
        for (event, bytes) in other.events.drain(..) {
            self.keep(event, bytes);
        }
        other.held = 0;
    }

    fn keep(&mut self, event: Box<MessageEvent>, bytes: usize) {
        if self.held + bytes <= MAX_HELD_BYTES {
            self.held += bytes;
            self.events.push((event, bytes));
        }
    }

    /// A kept message, blank but for the text buffers it holds, if any.
    pub fn take(&mut self) -> Option<Box<MessageEvent>> {
        let (event, bytes) = self.events.pop()?;
        self.held -= bytes;
        Some(event)
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
fn prepare(e: &mut MessageEvent) -> usize {
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
    held + prepare_source(source)
}

fn prepare_source(s: &mut SessionSource) -> usize {
    let SessionSource {
        platform,
        chat_id,
        chat_type,
        chat_name,
        user_id,
        user_name,
        thread_id,
        chat_topic,
        user_id_alt,
        chat_id_alt,
        scope_id,
        parent_chat_id,
        message_id,
        profile,
        user_display_name,
        user_handle,
        auto_thread_created,
        auto_thread_initial_name,
        prospective_thread_id,
        is_bot,
        message_is_edit,
        one_to_one_verified,
        extra,
    } = s;
    // The texts read in place (`source_text_slots`).
    let held = bound(platform)
        + bound(chat_id)
        + bound_some(chat_name)
        + bound_some(user_id)
        + bound_some(user_name)
        + bound_some(thread_id)
        + bound_some(chat_topic)
        + bound_some(user_id_alt)
        + bound_some(chat_id_alt)
        + bound_some(parent_chat_id)
        + bound_some(message_id)
        + bound_some(profile)
        + bound_some(user_display_name)
        + bound_some(user_handle)
        + bound_some(auto_thread_initial_name)
        + bound_some(prospective_thread_id);
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
    held
}

/// Frees `s`'s buffer over the bound; the bytes it keeps.
fn bound(s: &mut String) -> usize {
    if s.capacity() > MAX_STRING_CAPACITY {
        *s = String::new();
    }
    s.capacity()
}

/// [`bound`] for an optional text.
fn bound_some(slot: &mut Option<String>) -> usize {
    match slot {
        Some(s) if s.capacity() > MAX_STRING_CAPACITY => {
            *slot = None;
            0
        }
        Some(s) => s.capacity(),
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn big_message() -> Box<MessageEvent> {
        let big = "x".repeat(10 * MAX_STRING_CAPACITY);
        let mut e = MessageEvent {
            text: big.clone(),
            message_id: Some(big.clone()),
            ..MessageEvent::default()
        };
        e.source.platform = big.clone();
        e.source.chat_id = "c".into();
        e.source.user_name = Some(big.clone());
        e.source.chat_name = Some("small".into());
        Box::new(e)
    }

    #[test]
    fn a_handed_back_message_keeps_only_small_text_buffers() {
        let mut e = big_message();
        let held = prepare(&mut e);
        assert!(e.text.capacity() == 0 && e.message_id.is_none());
        assert!(e.source.platform.capacity() == 0 && e.source.user_name.is_none());
        assert_eq!(e.source.chat_name.as_deref(), Some("small"));
        let kept =
            e.source.chat_id.capacity() + e.source.chat_name.as_ref().map_or(0, String::capacity);
        assert_eq!(held, std::mem::size_of::<MessageEvent>() + kept);
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
