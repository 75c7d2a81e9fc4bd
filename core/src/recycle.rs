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
//! Bounded: at most [`MAX_EVENTS`] messages are kept, and of each only the
//! text buffers of at most [`MAX_STRING_CAPACITY`] bytes (18 buffers a
//! message: under 80 KiB in all); anything beyond is freed at once.
//! [`Connection::release_idle_memory`] frees them all.
//!
//! [`Connection::release_idle_memory`]: crate::Connection::release_idle_memory

use serde_json::Map;

use crate::source::{ChatType, MessageEvent, MessageType, SessionSource};

/// At most this many handed-back messages are kept.
pub const MAX_EVENTS: usize = 4;
/// A text buffer larger than this is freed rather than kept.
pub const MAX_STRING_CAPACITY: usize = 1024;

/// Handed-back messages (see the [module docs](self)).
#[derive(Debug, Default)]
pub(crate) struct EventPool {
    // The boxes themselves are kept: an inbound event carries its message
    // in a box, which is reused as it is.
    #[allow(clippy::vec_box)]
    events: Vec<Box<MessageEvent>>,
}

impl EventPool {
    /// Keeps `event` when there is room, ready to be decoded into.
    pub(crate) fn recycle(&mut self, mut event: Box<MessageEvent>) {
        if self.events.len() < MAX_EVENTS {
            prepare(&mut event);
            self.events.push(event);
        }
    }

    /// A kept message to decode into, if any.
    pub(crate) fn take(&mut self) -> Option<Box<MessageEvent>> {
        self.events.pop()
    }

    /// Frees everything kept.
    pub(crate) fn clear(&mut self) {
        self.events = Vec::new();
    }
}

/// Makes a handed-back message ready to be decoded into: every field the
/// decoder does not read in place is blanked, and text buffers over the
/// bound are freed. The texts the decoder reads in place (see
/// [`crate::source`]) keep their old values until it overwrites or clears
/// them.
fn prepare(e: &mut MessageEvent) {
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
    bound(text);
    bound_some(message_id);
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
    prepare_source(source);
}

fn prepare_source(s: &mut SessionSource) {
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
    bound(platform);
    bound(chat_id);
    // The texts read in place (`source_text_slots`).
    bound_some(chat_name);
    bound_some(user_id);
    bound_some(user_name);
    bound_some(thread_id);
    bound_some(chat_topic);
    bound_some(user_id_alt);
    bound_some(chat_id_alt);
    bound_some(parent_chat_id);
    bound_some(message_id);
    bound_some(profile);
    bound_some(user_display_name);
    bound_some(user_handle);
    bound_some(auto_thread_initial_name);
    bound_some(prospective_thread_id);
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
}

fn bound(s: &mut String) {
    if s.capacity() > MAX_STRING_CAPACITY {
        *s = String::new();
    }
}

fn bound_some(slot: &mut Option<String>) {
    if slot
        .as_ref()
        .is_some_and(|s| s.capacity() > MAX_STRING_CAPACITY)
    {
        *slot = None;
    }
}
