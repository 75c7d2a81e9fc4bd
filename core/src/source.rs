//! Who sent an inbound message and where: `SessionSource`, `MessageEvent`, and
//! the session key derived from them.
//!
//! Decoding follows the reference's reading of the `inbound.event` object:
//! every field is optional, ids sent as numbers become strings, an unknown
//! `message_type` is `text`, an unknown `chat_type` is kept as
//! [`ChatType::Other`], a missing `source.platform` is `relay`, `media_urls:
//! null` is empty, and `scope_id` is preferred over its older alias
//! `guild_id`. Keys this version does not model are kept in `extra`.

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::lax::DecodeError;
use crate::lax::{self, FillObject, Lax, Shape, ShapeInto, WireObject};
use crate::recycle::EventPool;

/// The kind of chat a message came from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum ChatType {
    /// A direct message.
    #[default]
    Dm,
    /// A group chat.
    Group,
    /// A channel.
    Channel,
    /// A thread.
    Thread,
    /// Any other value, kept verbatim.
    Other(String),
}

impl ChatType {
    /// The wire string.
    pub fn as_str(&self) -> &str {
        match self {
            ChatType::Dm => "dm",
            ChatType::Group => "group",
            ChatType::Channel => "channel",
            ChatType::Thread => "thread",
            ChatType::Other(s) => s,
        }
    }

    /// Reads a wire string (unknown values are kept as [`ChatType::Other`]).
    pub fn from_wire(s: &str) -> Self {
        match s {
            "dm" => ChatType::Dm,
            "group" => ChatType::Group,
            "channel" => ChatType::Channel,
            "thread" => ChatType::Thread,
            other => ChatType::Other(other.to_owned()),
        }
    }
}

impl Serialize for ChatType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ChatType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Lax::deserialize(d)? {
            Lax::Null => ChatType::Dm,
            other => ChatType::from_wire(&other.into_text().unwrap_or_default()),
        })
    }
}

/// The kind of an inbound message; unknown values become [`MessageType::Text`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageType {
    /// Plain text.
    #[default]
    Text,
    /// A location.
    Location,
    /// A photo.
    Photo,
    /// A video.
    Video,
    /// Audio.
    Audio,
    /// A voice note.
    Voice,
    /// A document.
    Document,
    /// A sticker.
    Sticker,
    /// A command.
    Command,
}

impl MessageType {
    /// Reads a wire string; unknown values (including `image`) are `Text`.
    pub fn from_wire(s: &str) -> Self {
        match s {
            "location" => MessageType::Location,
            "photo" => MessageType::Photo,
            "video" => MessageType::Video,
            "audio" => MessageType::Audio,
            "voice" => MessageType::Voice,
            "document" => MessageType::Document,
            "sticker" => MessageType::Sticker,
            "command" => MessageType::Command,
            _ => MessageType::Text,
        }
    }
}

impl<'de> Deserialize<'de> for MessageType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Lax::deserialize(d)? {
            Lax::Str(s) => MessageType::from_wire(&s),
            _ => MessageType::Text,
        })
    }
}

/// Where an inbound message came from (PROTOCOL.md part 2 §10.1).
///
/// Encodes like the reference's `to_dict`: `platform, chat_id, chat_name,
/// chat_type, user_id, user_name, thread_id, chat_topic` always (nulls
/// allowed), the other fields only when set, and the scope under both
/// `scope_id` and `guild_id` (old and new gateways read one or the other).
#[derive(Clone, Debug, PartialEq)]
pub struct SessionSource {
    /// Platform name (`relay` when absent).
    pub platform: String,
    /// Chat id (`""` when absent).
    pub chat_id: String,
    /// Chat kind.
    pub chat_type: ChatType,
    /// Chat display name.
    pub chat_name: Option<String>,
    /// Author id.
    pub user_id: Option<String>,
    /// Author user name.
    pub user_name: Option<String>,
    /// Thread id.
    pub thread_id: Option<String>,
    /// Chat topic.
    pub chat_topic: Option<String>,
    /// Alternative author id (Signal UUID, …).
    pub user_id_alt: Option<String>,
    /// Alternative chat id.
    pub chat_id_alt: Option<String>,
    /// Tenant scope (guild/workspace); read from `scope_id`, else `guild_id`.
    pub scope_id: Option<String>,
    /// Parent chat id (for threads).
    pub parent_chat_id: Option<String>,
    /// Platform message id.
    pub message_id: Option<String>,
    /// Profile name for multiplexed gateways.
    pub profile: Option<String>,
    /// Author display name (preferred over `user_name` for display).
    pub user_display_name: Option<String>,
    /// Author handle.
    pub user_handle: Option<String>,
    /// The connector created the thread this message is in.
    pub auto_thread_created: bool,
    /// The name the connector gave that thread.
    pub auto_thread_initial_name: Option<String>,
    /// The thread a channel message's reply will be auto-threaded into.
    pub prospective_thread_id: Option<String>,
    /// The author is a bot or webhook.
    pub is_bot: bool,
    /// The message is an edit of an earlier one.
    pub message_is_edit: bool,
    /// The platform verified a one-to-one conversation.
    pub one_to_one_verified: bool,
    /// Keys this version does not model, in order.
    pub extra: Map<String, Value>,
}

impl Default for SessionSource {
    fn default() -> Self {
        SessionSource {
            platform: DEFAULT_PLATFORM.to_owned(),
            ..SessionSource::blank()
        }
    }
}

impl SessionSource {
    /// The default with an empty platform (no allocation): the decoder's
    /// starting point, which fills in the default platform at the end.
    pub(crate) fn blank() -> Self {
        SessionSource {
            platform: String::new(),
            chat_id: String::new(),
            chat_type: ChatType::Dm,
            chat_name: None,
            user_id: None,
            user_name: None,
            thread_id: None,
            chat_topic: None,
            user_id_alt: None,
            chat_id_alt: None,
            scope_id: None,
            parent_chat_id: None,
            message_id: None,
            profile: None,
            user_display_name: None,
            user_handle: None,
            auto_thread_created: false,
            auto_thread_initial_name: None,
            prospective_thread_id: None,
            is_bot: false,
            message_is_edit: false,
            one_to_one_verified: false,
            extra: Map::new(),
        }
    }
}

/// The platform of a source that names none.
pub const DEFAULT_PLATFORM: &str = "relay";

impl SessionSource {
    /// The name to show for the author: display name, else user name, else
    /// handle (the reference's preference order).
    pub fn display_name(&self) -> Option<&str> {
        self.user_display_name
            .as_deref()
            .filter(|s| !s.is_empty())
            .or(self.user_name.as_deref().filter(|s| !s.is_empty()))
            .or(self.user_handle.as_deref().filter(|s| !s.is_empty()))
    }

    /// Whether this is a direct message.
    pub fn is_dm(&self) -> bool {
        self.chat_type == ChatType::Dm
    }
}

/// `reply_to` of an inbound event: the message being replied to.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ReplyTo {
    /// Its text.
    pub text: Option<String>,
    /// Its author's name.
    pub author: Option<String>,
    /// Whether the bot wrote it.
    pub is_own: bool,
}

/// One entry of an inbound event's `media` list (parallel to `media_urls`).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct MediaItem {
    /// Where to fetch it.
    pub url: String,
    /// MIME type.
    pub mime: Option<String>,
    /// `image`, `voice`, …
    pub kind: Option<String>,
    /// Size in bytes.
    pub size: Option<u64>,
    /// File name.
    pub filename: Option<String>,
    /// Caption.
    pub caption: Option<String>,
}

/// One entry of an inbound event's read-only channel `context`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ContextItem {
    /// Message text.
    pub text: String,
    /// Author name (`source.user_name`).
    pub user_name: Option<String>,
    /// Author id (`source.user_id`).
    pub user_id: Option<String>,
}

/// A button press answering an earlier `prompt`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct PromptResponse {
    /// The prompt's id.
    pub prompt_id: String,
    /// The chosen option's id.
    pub option_id: String,
    /// The chosen option's label.
    pub label: Option<String>,
    /// The message that carried the prompt.
    pub prompt_message_id: Option<String>,
}

/// An inbound message as the connector sends it (PROTOCOL.md part 2 §10.1).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct MessageEvent {
    /// Message text.
    pub text: String,
    /// Message kind.
    pub message_type: MessageType,
    /// Where it came from.
    pub source: SessionSource,
    /// Platform message id.
    pub message_id: Option<String>,
    /// Id of the message this replies to.
    pub reply_to_message_id: Option<String>,
    /// Attached media URLs.
    pub media_urls: Vec<String>,
    /// The message replied to.
    pub reply_to: Option<ReplyTo>,
    /// Attachment details, parallel to `media_urls`.
    pub media: Vec<MediaItem>,
    /// Recent channel messages, oldest first (reference only).
    pub context: Vec<ContextItem>,
    /// Why context could not be fetched.
    pub context_error: Option<String>,
    /// A structured answer to a prompt.
    pub prompt_response: Option<PromptResponse>,
    /// Keys this version does not model, in order.
    pub extra: Map<String, Value>,
}

impl MessageEvent {
    /// The decoder's starting point: empty, with a blank source (no
    /// allocation).
    fn blank() -> Self {
        MessageEvent {
            text: String::new(),
            message_type: MessageType::default(),
            source: SessionSource::blank(),
            message_id: None,
            reply_to_message_id: None,
            media_urls: Vec::new(),
            reply_to: None,
            media: Vec::new(),
            context: Vec::new(),
            context_error: None,
            prompt_response: None,
            extra: Map::new(),
        }
    }

    /// MIME types parallel to `media_urls`, looked up by URL in `media`
    /// (`""` when unknown; empty when there are no URLs).
    pub fn media_types(&self) -> Vec<String> {
        self.media_urls
            .iter()
            .map(|u| {
                self.media
                    .iter()
                    .find(|m| !m.url.is_empty() && &m.url == u)
                    .and_then(|m| m.mime.clone())
                    .unwrap_or_default()
            })
            .collect()
    }

    /// Decodes an event object from JSON text.
    pub fn from_json(bytes: &[u8]) -> Result<Self, DecodeError> {
        lax::parse_line::<EventWire>(bytes)?.finish().map(|e| *e)
    }
}

// ---------------------------------------------------------------------------
// Decoding

fn text(l: Lax<'_>) -> Option<String> {
    l.into_text()
}

/// [`text`] into `slot`, written into the buffer it holds when that is
/// large enough (a handed-back message's: see [`crate::recycle`]).
#[inline(always)]
fn set_text(slot: &mut Option<String>, l: Lax<'_>) {
    if let (Some(buf), Lax::Str(s)) = (slot.as_mut(), &l)
        && buf.capacity() >= s.len()
    {
        buf.clear();
        buf.push_str(s);
        return;
    }
    *slot = l.into_text();
}

/// [`set_text`] for a text that is empty when absent.
#[inline(always)]
fn set_string(slot: &mut String, l: Lax<'_>) {
    match l {
        Lax::Str(s) if slot.capacity() >= s.len() => {
            slot.clear();
            slot.push_str(&s);
        }
        other => *slot = other.into_text().unwrap_or_default(),
    }
}

/// The optional text of a source that `key` names, with its index in
/// [`source_text_slots`]. One lookup and one shared read for all of them
/// keeps the decoder's code small: a per-field copy of the read would not
/// fit the instruction cache.
fn source_text_slot<'a>(
    s: &'a mut SessionSource,
    key: &str,
) -> Option<(&'a mut Option<String>, u32)> {
    Some(match key {
        "chat_name" => (&mut s.chat_name, 0),
        "user_id" => (&mut s.user_id, 1),
        "user_name" => (&mut s.user_name, 2),
        "thread_id" => (&mut s.thread_id, 3),
        "chat_topic" => (&mut s.chat_topic, 4),
        "user_id_alt" => (&mut s.user_id_alt, 5),
        "chat_id_alt" => (&mut s.chat_id_alt, 6),
        "parent_chat_id" => (&mut s.parent_chat_id, 7),
        "message_id" => (&mut s.message_id, 8),
        "profile" => (&mut s.profile, 9),
        "user_display_name" => (&mut s.user_display_name, 10),
        "user_handle" => (&mut s.user_handle, 11),
        "auto_thread_initial_name" => (&mut s.auto_thread_initial_name, 12),
        "prospective_thread_id" => (&mut s.prospective_thread_id, 13),
        _ => return None,
    })
}

/// The optional texts of a source read by [`source_text_slot`], in the
/// order of its indexes (`scope_id` is read on its own, with its alias).
fn source_text_slots(s: &mut SessionSource) -> [&mut Option<String>; 14] {
    [
        &mut s.chat_name,
        &mut s.user_id,
        &mut s.user_name,
        &mut s.thread_id,
        &mut s.chat_topic,
        &mut s.user_id_alt,
        &mut s.chat_id_alt,
        &mut s.parent_chat_id,
        &mut s.message_id,
        &mut s.profile,
        &mut s.user_display_name,
        &mut s.user_handle,
        &mut s.auto_thread_initial_name,
        &mut s.prospective_thread_id,
    ]
}

/// Bits of [`SourceFill::seen`] past those of [`source_text_slots`].
const SEEN_PLATFORM: u32 = 1 << 14;
const SEEN_CHAT_ID: u32 = 1 << 15;

/// The flag of a source that `key` names (read with Python truthiness).
fn source_flag_slot<'a>(s: &'a mut SessionSource, key: &str) -> Option<&'a mut bool> {
    Some(match key {
        "auto_thread_created" => &mut s.auto_thread_created,
        "is_bot" => &mut s.is_bot,
        "message_is_edit" => &mut s.message_is_edit,
        "one_to_one_verified" => &mut s.one_to_one_verified,
        _ => return None,
    })
}

impl<'de> FillObject<'de> for SourceFill<'_> {
    fn reset(&mut self) {
        if !std::mem::take(&mut self.fresh) {
            blank_again(self.source);
            *self.seen = 0;
        }
        self.guild = Guild::Absent;
    }
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        let s = &mut *self.source;
        if let Some((slot, i)) = source_text_slot(s, key) {
            set_text(slot, lax::lax(map)?);
            *self.seen |= 1 << i;
            return Ok(());
        }
        if let Some(flag) = source_flag_slot(s, key) {
            *flag = lax::lax(map)?.truthy();
            return Ok(());
        }
        match key {
            "platform" => {
                // Empty (the default's mark) until `done`.
                match lax::lax(map)? {
                    p @ Lax::Str(_) => set_string(&mut s.platform, p),
                    _ => s.platform.clear(),
                }
                *self.seen |= SEEN_PLATFORM;
            }
            "chat_id" => {
                set_string(&mut s.chat_id, lax::lax(map)?);
                *self.seen |= SEEN_CHAT_ID;
            }
            "chat_type" => {
                s.chat_type = match lax::lax(map)? {
                    Lax::Null => ChatType::Dm,
                    // Known values need no owned copy.
                    Lax::Str(t) => ChatType::from_wire(&t),
                    other => match other.into_text() {
                        Some(t) => ChatType::from_wire(&t),
                        None => ChatType::Dm,
                    },
                }
            }
            "scope_id" => {
                let scope = text(lax::lax(map)?);
                // A repeated `scope_id` replaces the one the alias matched:
                // keep that value as the alias's own.
                if matches!(self.guild, Guild::SameAsScope) {
                    self.guild = Guild::Text(s.scope_id.take());
                }
                s.scope_id = scope;
            }
            "guild_id" => {
                self.guild = match lax::lax(map)? {
                    // The usual case, both keys carrying the same scope: no copy.
                    Lax::Str(g) if s.scope_id.as_deref() == Some(&*g) => Guild::SameAsScope,
                    other => Guild::Text(text(other)),
                }
            }
            _ => {
                let v = lax::value(map)?;
                s.extra.insert(key.to_owned(), v);
            }
        }
        Ok(())
    }
    fn done(&mut self) {
        let s = &mut *self.source;
        if s.platform.is_empty() {
            s.platform = DEFAULT_PLATFORM.to_owned();
        }
        if s.scope_id.is_none()
            && let Guild::Text(g) = std::mem::take(&mut self.guild)
        {
            s.scope_id = g;
        }
    }
}

/// A source given a second time starts from a blank (rare: out of line).
#[cold]
#[inline(never)]
fn blank_again(source: &mut SessionSource) {
    *source = SessionSource::blank();
}

/// The `guild_id` alias as read so far.
#[derive(Default)]
enum Guild {
    /// Absent.
    #[default]
    Absent,
    /// Equal to the `scope_id` read before it (and still current).
    SameAsScope,
    /// Its own value (`None`: not a string or number).
    Text(Option<String>),
}

/// A source read in place, plus the `guild_id` alias, merged at the end.
struct SourceFill<'a> {
    source: &'a mut SessionSource,
    guild: Guild,
    /// `source` is still the blank it was made as, or a handed-back one
    /// (see [`clear_unread`]): no reset needed.
    fresh: bool,
    /// The texts read: bit `i` for `source_text_slots(..)[i]`, then
    /// [`SEEN_PLATFORM`] and [`SEEN_CHAT_ID`].
    seen: &'a mut u32,
}

impl<'a> SourceFill<'a> {
    /// Fills `source`, which needs no reset when `fresh`, noting in `seen`
    /// the texts read.
    fn new(source: &'a mut SessionSource, fresh: bool, seen: &'a mut u32) -> Self {
        SourceFill {
            source,
            guild: Guild::Absent,
            fresh,
            seen,
        }
    }
}

#[derive(Default)]
struct ReplyToWire(ReplyTo);

impl<'de> WireObject<'de> for ReplyToWire {
    fn empty() -> Self {
        Self::default()
    }
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "text" => self.0.text = text(lax::lax(map)?),
            "author" => self.0.author = text(lax::lax(map)?),
            "is_own" => self.0.is_own = lax::lax(map)?.truthy(),
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct MediaWire(MediaItem);

impl<'de> WireObject<'de> for MediaWire {
    fn empty() -> Self {
        Self::default()
    }
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        let m = &mut self.0;
        match key {
            "url" => m.url = text(lax::lax(map)?).unwrap_or_default(),
            "mime" => m.mime = text(lax::lax(map)?),
            "kind" => m.kind = text(lax::lax(map)?),
            "size" => {
                m.size = match lax::lax(map)? {
                    Lax::UInt(u) => Some(u),
                    Lax::Int(i) => u64::try_from(i).ok(),
                    Lax::Float(f) if f.is_finite() && f >= 0.0 => Some(f as u64),
                    _ => None,
                }
            }
            "filename" => m.filename = text(lax::lax(map)?),
            "caption" => m.caption = text(lax::lax(map)?),
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct ContextSourceWire(Option<String>, Option<String>);

impl<'de> WireObject<'de> for ContextSourceWire {
    fn empty() -> Self {
        Self::default()
    }
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "user_name" => self.0 = text(lax::lax(map)?),
            "user_id" => self.1 = text(lax::lax(map)?),
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct ContextWire(ContextItem);

impl<'de> WireObject<'de> for ContextWire {
    fn empty() -> Self {
        Self::default()
    }
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "text" => self.0.text = text(lax::lax(map)?).unwrap_or_default(),
            "source" => {
                if let Shape::Obj(ContextSourceWire(name, id)) =
                    map.next_value::<Shape<ContextSourceWire>>()?
                {
                    self.0.user_name = name;
                    self.0.user_id = id;
                }
            }
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct PromptResponseWire(PromptResponse);

impl<'de> WireObject<'de> for PromptResponseWire {
    fn empty() -> Self {
        Self::default()
    }
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        let p = &mut self.0;
        match key {
            "prompt_id" => p.prompt_id = text(lax::lax(map)?).unwrap_or_default(),
            "option_id" => p.option_id = text(lax::lax(map)?).unwrap_or_default(),
            "label" => p.label = text(lax::lax(map)?),
            "prompt_message_id" => p.prompt_message_id = text(lax::lax(map)?),
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// An event as read off the wire; `source` problems are reported at the end.
pub(crate) struct EventWire {
    event: Box<MessageEvent>,
    /// `event` was handed back (see [`crate::recycle`]): the texts it
    /// still holds and this message does not carry are cleared at the end.
    recycled: bool,
    /// The texts read: [`SEEN_TEXT`], [`SEEN_MESSAGE_ID`].
    seen: u32,
    /// The source's texts read (see [`SourceFill::seen`]).
    source_seen: u32,
    bad_source: Option<&'static str>,
    /// A `source` key was read (a later one starts from a blank source).
    source_read: bool,
}

const SEEN_TEXT: u32 = 1;
const SEEN_MESSAGE_ID: u32 = 2;

impl EventWire {
    /// Read into a handed-back message of `pool` when it has one, else into
    /// a new one.
    pub(crate) fn from_pool(pool: Option<&mut EventPool>) -> Self {
        let (event, recycled) = match pool.and_then(EventPool::take) {
            Some(event) => (event, true),
            // Allocated once, where the decoded event will stay: the
            // fields are read into it in place.
            None => (Box::new(MessageEvent::blank()), false),
        };
        EventWire {
            event,
            recycled,
            seen: 0,
            source_seen: 0,
            bad_source: None,
            source_read: false,
        }
    }
}

impl<'de> WireObject<'de> for EventWire {
    fn empty() -> Self {
        EventWire::from_pool(None)
    }
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        let e = &mut *self.event;
        match key {
            "text" => {
                set_string(&mut e.text, lax::lax(map)?);
                self.seen |= SEEN_TEXT;
            }
            "source" => {
                self.bad_source = None;
                let fresh = !std::mem::replace(&mut self.source_read, true);
                let mut fill = SourceFill::new(&mut e.source, fresh, &mut self.source_seen);
                if let Shape::Other(kind) = map.next_value_seed(ShapeInto(&mut fill))? {
                    self.bad_source = Some(kind);
                }
            }
            "message_id" => {
                set_text(&mut e.message_id, lax::lax(map)?);
                self.seen |= SEEN_MESSAGE_ID;
            }
            // In most frames (often empty): read here, not with the rare
            // fields.
            "media_urls" => e.media_urls = lax::strings(map)?,
            "message_type" => {
                e.message_type = match lax::lax(map)? {
                    Lax::Str(s) => MessageType::from_wire(&s),
                    _ => MessageType::Text,
                }
            }
            _ => rare_event_field(e, key, map)?,
        }
        Ok(())
    }
}

/// The fields of an event that most messages do not carry, out of line so
/// that the common ones stay together in the instruction cache.
#[inline(never)]
fn rare_event_field<'de, A: MapAccess<'de>>(
    e: &mut MessageEvent,
    key: &str,
    map: &mut A,
) -> Result<(), A::Error> {
    match key {
        "reply_to_message_id" => e.reply_to_message_id = text(lax::lax(map)?),
        "reply_to" => e.reply_to = map.next_value::<Shape<ReplyToWire>>()?.obj().map(|r| r.0),
        "media" => {
            e.media = lax::objects::<_, MediaWire>(map)?
                .into_iter()
                .map(|m| m.0)
                .collect()
        }
        "context" => {
            e.context = lax::objects::<_, ContextWire>(map)?
                .into_iter()
                .map(|c| c.0)
                .collect()
        }
        "context_error" => e.context_error = text(lax::lax(map)?),
        "prompt_response" => {
            e.prompt_response = map
                .next_value::<Shape<PromptResponseWire>>()?
                .obj()
                .map(|p| p.0)
        }
        _ => {
            let v = lax::value(map)?;
            e.extra.insert(key.to_owned(), v);
        }
    }
    Ok(())
}

impl EventWire {
    /// The event, or the error for a `source` that is not an object.
    pub(crate) fn finish(self) -> Result<Box<MessageEvent>, DecodeError> {
        match self.bad_source {
            None => {
                let mut event = self.event;
                if self.recycled {
                    clear_unread(&mut event, self.seen, self.source_seen);
                }
                // No `source` key: the default source.
                if event.source.platform.is_empty() {
                    event.source.platform = DEFAULT_PLATFORM.to_owned();
                }
                Ok(event)
            }
            Some(kind) => Err(lax::not_an_object("inbound", "event.source", kind)),
        }
    }
}

/// The texts of a handed-back message that this one did not carry: what a
/// new message holds there (the source's default platform is filled in
/// after).
#[inline(never)]
fn clear_unread(e: &mut MessageEvent, seen: u32, source_seen: u32) {
    if seen & SEEN_TEXT == 0 {
        e.text.clear();
    }
    if seen & SEEN_MESSAGE_ID == 0 {
        e.message_id = None;
    }
    let s = &mut e.source;
    if source_seen & SEEN_PLATFORM == 0 {
        s.platform.clear();
    }
    if source_seen & SEEN_CHAT_ID == 0 {
        s.chat_id.clear();
    }
    for (i, slot) in source_text_slots(s).into_iter().enumerate() {
        if source_seen & (1 << i) == 0 {
            *slot = None;
        }
    }
}

impl<'de> Deserialize<'de> for SessionSource {
    /// Lenient decode (see the module docs).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut source = SessionSource::blank();
        let mut seen = 0;
        match ShapeInto(&mut SourceFill::new(&mut source, true, &mut seen)).deserialize(d)? {
            Shape::Obj(()) | Shape::Null => Ok(source),
            Shape::Other(_) => Err(serde::de::Error::custom("source is not an object")),
        }
    }
}

impl<'de> Deserialize<'de> for MessageEvent {
    /// Lenient decode (see the module docs).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Shape::<EventWire>::deserialize(d)? {
            Shape::Obj(e) => e.finish().map(|e| *e).map_err(serde::de::Error::custom),
            _ => Err(serde::de::Error::custom("event is not an object")),
        }
    }
}

// ---------------------------------------------------------------------------
// Encoding

impl Serialize for SessionSource {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("platform", &self.platform)?;
        m.serialize_entry("chat_id", &self.chat_id)?;
        m.serialize_entry("chat_name", &self.chat_name)?;
        m.serialize_entry("chat_type", &self.chat_type)?;
        m.serialize_entry("user_id", &self.user_id)?;
        m.serialize_entry("user_name", &self.user_name)?;
        m.serialize_entry("thread_id", &self.thread_id)?;
        m.serialize_entry("chat_topic", &self.chat_topic)?;
        let opt = |m: &mut S::SerializeMap, k: &str, v: &Option<String>| match v {
            Some(v) => m.serialize_entry(k, v),
            None => Ok(()),
        };
        let flag = |m: &mut S::SerializeMap, k: &str, v: bool| {
            if v {
                m.serialize_entry(k, &true)
            } else {
                Ok(())
            }
        };
        opt(&mut m, "user_id_alt", &self.user_id_alt)?;
        opt(&mut m, "chat_id_alt", &self.chat_id_alt)?;
        opt(&mut m, "scope_id", &self.scope_id)?;
        opt(&mut m, "guild_id", &self.scope_id)?;
        opt(&mut m, "parent_chat_id", &self.parent_chat_id)?;
        opt(&mut m, "message_id", &self.message_id)?;
        opt(&mut m, "profile", &self.profile)?;
        flag(&mut m, "auto_thread_created", self.auto_thread_created)?;
        opt(
            &mut m,
            "auto_thread_initial_name",
            &self.auto_thread_initial_name,
        )?;
        opt(&mut m, "prospective_thread_id", &self.prospective_thread_id)?;
        opt(&mut m, "user_display_name", &self.user_display_name)?;
        opt(&mut m, "user_handle", &self.user_handle)?;
        flag(&mut m, "is_bot", self.is_bot)?;
        flag(&mut m, "message_is_edit", self.message_is_edit)?;
        flag(&mut m, "one_to_one_verified", self.one_to_one_verified)?;
        for (k, v) in &self.extra {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

struct Ser<'a, T>(&'a T);

impl Serialize for Ser<'_, ReplyTo> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some(t) = &self.0.text {
            m.serialize_entry("text", t)?;
        }
        if let Some(a) = &self.0.author {
            m.serialize_entry("author", a)?;
        }
        m.serialize_entry("is_own", &self.0.is_own)?;
        m.end()
    }
}

impl Serialize for Ser<'_, MediaItem> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let i = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("url", &i.url)?;
        if let Some(v) = &i.mime {
            m.serialize_entry("mime", v)?;
        }
        if let Some(v) = &i.kind {
            m.serialize_entry("kind", v)?;
        }
        if let Some(v) = &i.size {
            m.serialize_entry("size", v)?;
        }
        if let Some(v) = &i.filename {
            m.serialize_entry("filename", v)?;
        }
        if let Some(v) = &i.caption {
            m.serialize_entry("caption", v)?;
        }
        m.end()
    }
}

struct CtxSource<'a>(&'a ContextItem);

impl Serialize for CtxSource<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some(v) = &self.0.user_name {
            m.serialize_entry("user_name", v)?;
        }
        if let Some(v) = &self.0.user_id {
            m.serialize_entry("user_id", v)?;
        }
        m.end()
    }
}

impl Serialize for Ser<'_, ContextItem> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("text", &self.0.text)?;
        m.serialize_entry("source", &CtxSource(self.0))?;
        m.end()
    }
}

impl Serialize for Ser<'_, PromptResponse> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("prompt_id", &p.prompt_id)?;
        m.serialize_entry("option_id", &p.option_id)?;
        if let Some(v) = &p.label {
            m.serialize_entry("label", v)?;
        }
        if let Some(v) = &p.prompt_message_id {
            m.serialize_entry("prompt_message_id", v)?;
        }
        m.end()
    }
}

struct SerList<'a, T>(&'a [T]);

impl<'a, T> Serialize for SerList<'a, T>
where
    Ser<'a, T>: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(Ser))
    }
}

impl Serialize for MessageEvent {
    /// Keys: `text, message_type, source`, the optional ids, `media_urls`,
    /// then the later keys only when set, then `extra`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("text", &self.text)?;
        m.serialize_entry("message_type", &self.message_type)?;
        m.serialize_entry("source", &self.source)?;
        if let Some(v) = &self.message_id {
            m.serialize_entry("message_id", v)?;
        }
        if let Some(v) = &self.reply_to_message_id {
            m.serialize_entry("reply_to_message_id", v)?;
        }
        m.serialize_entry("media_urls", &self.media_urls)?;
        if let Some(r) = &self.reply_to {
            m.serialize_entry("reply_to", &Ser(r))?;
        }
        if !self.media.is_empty() {
            m.serialize_entry("media", &SerList(&self.media))?;
        }
        if !self.context.is_empty() {
            m.serialize_entry("context", &SerList(&self.context))?;
        }
        if let Some(v) = &self.context_error {
            m.serialize_entry("context_error", v)?;
        }
        if let Some(p) = &self.prompt_response {
            m.serialize_entry("prompt_response", &Ser(p))?;
        }
        for (k, v) in &self.extra {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

// ---------------------------------------------------------------------------
// Session keys

/// Flags that shape a session key (PROTOCOL.md part 2 §10.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionKeyOptions {
    /// One session per participant in group chats (default true).
    pub group_sessions_per_user: bool,
    /// One session per participant in threads (default false).
    pub thread_sessions_per_user: bool,
    /// Profile name for multiplexed gateways (`None`, `""` or `default` →
    /// `main`; a profile literally named `main` → `main~`).
    pub profile: Option<String>,
}

impl Default for SessionKeyOptions {
    fn default() -> Self {
        SessionKeyOptions {
            group_sessions_per_user: true,
            thread_sessions_per_user: false,
            profile: None,
        }
    }
}

/// The `agent:<ns>` prefix for a profile.
pub fn session_key_namespace(profile: Option<&str>) -> String {
    match profile {
        None | Some("") | Some("default") => "agent:main".to_owned(),
        Some("main") => "agent:main~".to_owned(),
        Some(p) => format!("agent:{p}"),
    }
}

/// WhatsApp JID/LID canonicalization. The reference folds aliases of one
/// account to one identifier; its table is not part of the wire contract, so
/// this version keeps identifiers as they are.
fn canonical_whatsapp_identifier(id: &str) -> &str {
    id
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

/// Builds the session key for `source` (PROTOCOL.md part 2 §10.2).
///
/// Layout `<ns>:<platform>:<chat_type>[:<slack scope>][:<chat_id>]` then, for
/// DMs, the participant (only when there is no chat id) and the thread; for
/// other chats the thread and then the participant (when isolated). A
/// non-DM message with a `prospective_thread_id` and no `thread_id` is keyed
/// under that thread with the `thread` chat type, so it and its in-thread
/// follow-ups share one session. Empty values count as absent.
pub fn build_session_key(source: &SessionSource, options: &SessionKeyOptions) -> String {
    let is_dm = source.is_dm();
    let whatsapp = source.platform == "whatsapp";
    let chat_id = if is_dm && whatsapp {
        canonical_whatsapp_identifier(&source.chat_id)
    } else {
        source.chat_id.as_str()
    };
    let real_thread = non_empty(&source.thread_id);
    let thread_id = match real_thread {
        Some(t) => Some(t),
        None if !is_dm => non_empty(&source.prospective_thread_id),
        None => None,
    };
    let chat_type_slot = if thread_id.is_some() && real_thread.is_none() {
        "thread"
    } else {
        source.chat_type.as_str()
    };
    let isolate_user = if is_dm {
        chat_id.is_empty()
    } else {
        // Threads are shared unless thread_sessions_per_user.
        options.group_sessions_per_user && (thread_id.is_none() || options.thread_sessions_per_user)
    };
    let participant = non_empty(&source.user_id_alt)
        .or(non_empty(&source.user_id))
        .map(|p| {
            if whatsapp {
                canonical_whatsapp_identifier(p)
            } else {
                p
            }
        });

    let ns = session_key_namespace(options.profile.as_deref());
    let mut parts: Vec<&str> = Vec::with_capacity(7);
    parts.push(&ns);
    parts.push(&source.platform);
    parts.push(chat_type_slot);
    if let Some(scope) = non_empty(&source.scope_id).filter(|_| source.platform == "slack") {
        parts.push(scope);
    }
    if !chat_id.is_empty() {
        parts.push(chat_id);
    }
    let user_part = participant.filter(|_| isolate_user);
    if is_dm {
        parts.extend(user_part);
        parts.extend(thread_id);
    } else {
        parts.extend(thread_id);
        parts.extend(user_part);
    }
    parts.join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(platform: &str, chat_type: ChatType, chat_id: &str) -> SessionSource {
        SessionSource {
            platform: platform.into(),
            chat_type,
            chat_id: chat_id.into(),
            ..Default::default()
        }
    }

    fn key(s: &SessionSource) -> String {
        build_session_key(s, &SessionKeyOptions::default())
    }

    #[test]
    fn each_source_text_key_names_the_slot_of_its_index() {
        let keys = [
            "chat_name",
            "user_id",
            "user_name",
            "thread_id",
            "chat_topic",
            "user_id_alt",
            "chat_id_alt",
            "parent_chat_id",
            "message_id",
            "profile",
            "user_display_name",
            "user_handle",
            "auto_thread_initial_name",
            "prospective_thread_id",
        ];
        let mut s = SessionSource::blank();
        for (i, k) in keys.iter().enumerate() {
            let (slot, bit) = source_text_slot(&mut s, k).expect("a text key");
            assert_eq!(bit as usize, i, "{k}");
            *slot = Some((*k).to_owned());
        }
        assert!(source_text_slot(&mut s, "scope_id").is_none());
        for (i, slot) in source_text_slots(&mut s).into_iter().enumerate() {
            assert_eq!(slot.as_deref(), Some(keys[i]));
        }
        // Each slot is the field of its name.
        let mut json = serde_json::to_value(&s).unwrap();
        let obj = json.as_object_mut().unwrap();
        for k in keys {
            assert_eq!(obj[k], k, "{k} is encoded from its slot");
        }
    }

    #[test]
    fn protocol_examples() {
        let mut dm = src("discord", ChatType::Dm, "D1");
        assert_eq!(key(&dm), "agent:main:discord:dm:D1");
        dm.thread_id = Some("T9".into());
        assert_eq!(key(&dm), "agent:main:discord:dm:D1:T9");

        let mut tg = src("telegram", ChatType::Dm, "");
        tg.user_id = Some("42".into());
        assert_eq!(key(&tg), "agent:main:telegram:dm:42");
        tg.user_id = None;
        assert_eq!(key(&tg), "agent:main:telegram:dm");

        let mut g = src("discord", ChatType::Group, "chanA");
        g.user_id = Some("userX".into());
        assert_eq!(key(&g), "agent:main:discord:group:chanA:userX");

        let mut ch = src("discord", ChatType::Channel, "C1");
        ch.thread_id = Some("T1".into());
        ch.user_id = Some("U1".into());
        assert_eq!(key(&ch), "agent:main:discord:channel:C1:T1");
        let per_thread_user = SessionKeyOptions {
            thread_sessions_per_user: true,
            ..Default::default()
        };
        assert_eq!(
            build_session_key(&ch, &per_thread_user),
            "agent:main:discord:channel:C1:T1:U1"
        );

        let shared = SessionKeyOptions {
            group_sessions_per_user: false,
            ..Default::default()
        };
        assert_eq!(
            build_session_key(&g, &shared),
            "agent:main:discord:group:chanA"
        );

        let coder = SessionKeyOptions {
            profile: Some("coder".into()),
            ..Default::default()
        };
        assert_eq!(
            build_session_key(&g, &coder),
            "agent:coder:discord:group:chanA:userX"
        );
    }

    #[test]
    fn namespaces() {
        let g = src("discord", ChatType::Group, "c");
        for (p, ns) in [
            (None, "agent:main"),
            (Some(""), "agent:main"),
            (Some("default"), "agent:main"),
            (Some("main"), "agent:main~"),
            (Some("ops"), "agent:ops"),
        ] {
            let o = SessionKeyOptions {
                profile: p.map(str::to_owned),
                ..Default::default()
            };
            assert_eq!(
                build_session_key(&g, &o),
                format!("{ns}:discord:group:c"),
                "{p:?}"
            );
        }
    }

    #[test]
    fn dm_fallbacks() {
        let mut dm = src("signal", ChatType::Dm, "");
        dm.user_id = Some("u".into());
        dm.user_id_alt = Some("alt".into());
        assert_eq!(key(&dm), "agent:main:signal:dm:alt");
        dm.thread_id = Some("t".into());
        assert_eq!(key(&dm), "agent:main:signal:dm:alt:t");
        dm.user_id = None;
        dm.user_id_alt = None;
        assert_eq!(key(&dm), "agent:main:signal:dm:t");
        // a DM with a chat id never gets the participant
        let mut dm2 = src("signal", ChatType::Dm, "c");
        dm2.user_id = Some("u".into());
        assert_eq!(key(&dm2), "agent:main:signal:dm:c");
        // prospective threads do not apply to DMs
        dm2.prospective_thread_id = Some("p".into());
        assert_eq!(key(&dm2), "agent:main:signal:dm:c");
    }

    #[test]
    fn later_rules_slack_scope_and_prospective_thread() {
        let mut s = src("slack", ChatType::Group, "C1");
        s.scope_id = Some("T0".into());
        s.user_id = Some("U".into());
        assert_eq!(key(&s), "agent:main:slack:group:T0:C1:U");
        let mut d = src("discord", ChatType::Group, "C1");
        d.scope_id = Some("G".into());
        assert_eq!(key(&d), "agent:main:discord:group:C1");
        d.prospective_thread_id = Some("P".into());
        d.user_id = Some("U".into());
        assert_eq!(key(&d), "agent:main:discord:thread:C1:P");
        d.thread_id = Some("T".into());
        assert_eq!(key(&d), "agent:main:discord:group:C1:T");
    }

    #[test]
    fn other_chat_type_kept() {
        let mut s = src("matrix", ChatType::from_wire("room"), "r");
        s.user_id = Some("u".into());
        assert_eq!(key(&s), "agent:main:matrix:room:r:u");
    }

    #[test]
    fn display_name_preference() {
        let mut s = SessionSource::default();
        assert_eq!(s.display_name(), None);
        s.user_handle = Some("h".into());
        assert_eq!(s.display_name(), Some("h"));
        s.user_name = Some("n".into());
        assert_eq!(s.display_name(), Some("n"));
        s.user_display_name = Some("D".into());
        assert_eq!(s.display_name(), Some("D"));
    }
}
