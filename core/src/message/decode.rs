//! Lenient decoding of an inbound message (see the [module docs](super)),
//! read in place into a new message or into one handed back for reuse.

use serde::de::{DeserializeSeed, MapAccess};
use serde::{Deserialize, Deserializer};

use super::types::{
    ChatType, CompactString, ContextItem, DEFAULT_PLATFORM, MediaItem, MessageEvent, MessageType,
    PromptResponse, ReplyTo, SessionSource,
};
use crate::lax::{
    self, DecodeError, FillObject, Finish, Lax, Shape, ShapeInto, TextSlot, WireObject, wire_object,
};

impl<'de> Deserialize<'de> for ChatType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Lax::deserialize(d)? {
            Lax::Null => ChatType::Dm,
            other => ChatType::from_wire(&other.into_text().unwrap_or_default()),
        })
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

impl MessageEvent {
    /// Decodes an event object from JSON text.
    pub fn from_json(bytes: &[u8]) -> Result<Self, DecodeError> {
        lax::parse_line::<EventWire>(bytes)?.finish().map(|e| *e)
    }
}

fn text(l: Lax<'_>) -> Option<String> {
    l.into_text()
}

/// [`text`] as a short text: inline when it fits.
fn short_text(l: Lax<'_>) -> Option<CompactString> {
    match l {
        Lax::Str(s) => Some(CompactString::new(&*s)),
        other => other.into_text().map(CompactString::from),
    }
}

/// `chat_type`: a known value needs no owned copy; `null` (or a value that
/// is no text) is a direct message.
impl TextSlot for ChatType {
    fn put_str(&mut self, s: &str) {
        *self = ChatType::from_wire(s);
    }
    fn put_other(&mut self, l: Lax<'_>) {
        *self = match l.into_text() {
            Some(t) => ChatType::from_wire(&t),
            None => ChatType::Dm,
        };
    }
}

/// `message_type`: anything but a known string is text.
impl TextSlot for MessageType {
    fn put_str(&mut self, s: &str) {
        *self = MessageType::from_wire(s);
    }
    fn put_other(&mut self, _: Lax<'_>) {
        *self = MessageType::Text;
    }
}

/// The source's `platform`: only a string is taken; anything else leaves
/// it empty, the default's mark until the end of the source.
struct PlatformSlot<'a>(&'a mut CompactString);

impl TextSlot for PlatformSlot<'_> {
    fn put_str(&mut self, s: &str) {
        self.0.put_str(s);
    }
    fn put_other(&mut self, _: Lax<'_>) {
        self.0.clear();
    }
}

/// What a key of a source names: one lookup per key, the keys of almost
/// every message first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SourceKey {
    Platform,
    ChatId,
    ChatType,
    /// An optional text: its index in [`source_text_slots`].
    Text(u8),
    /// A flag: its index for [`source_flag`].
    Flag(u8),
    ScopeId,
    GuildId,
    /// Kept in `extra`.
    Other,
}

#[inline(always)]
fn source_key(key: &str) -> SourceKey {
    use SourceKey::{ChatId, ChatType, Flag, GuildId, Other, Platform, ScopeId, Text};
    // By length first: each key is then compared with the few names of its
    // length only.
    match key.len() {
        6 if key == "is_bot" => Flag(1),
        7 => match key {
            "chat_id" => ChatId,
            "user_id" => Text(1),
            "profile" => Text(9),
            _ => Other,
        },
        8 => match key {
            "platform" => Platform,
            "scope_id" => ScopeId,
            "guild_id" => GuildId,
            _ => Other,
        },
        9 => match key {
            "chat_name" => Text(0),
            "chat_type" => ChatType,
            "user_name" => Text(2),
            "thread_id" => Text(3),
            _ => Other,
        },
        10 => match key {
            "chat_topic" => Text(4),
            "message_id" => Text(8),
            _ => Other,
        },
        11 => match key {
            "user_id_alt" => Text(5),
            "chat_id_alt" => Text(6),
            "user_handle" => Text(11),
            _ => Other,
        },
        14 if key == "parent_chat_id" => Text(7),
        15 if key == "message_is_edit" => Flag(2),
        17 if key == "user_display_name" => Text(10),
        19 => match key {
            "auto_thread_created" => Flag(0),
            "one_to_one_verified" => Flag(3),
            _ => Other,
        },
        21 if key == "prospective_thread_id" => Text(13),
        24 if key == "auto_thread_initial_name" => Text(12),
        _ => Other,
    }
}

/// The optional text of index `i` (see [`source_text_slots`]; an index
/// past the last is the last).
fn source_text(s: &mut SessionSource, i: u8) -> &mut Option<CompactString> {
    match i {
        0 => &mut s.chat_name,
        1 => &mut s.user_id,
        2 => &mut s.user_name,
        3 => &mut s.thread_id,
        4 => &mut s.chat_topic,
        5 => &mut s.user_id_alt,
        6 => &mut s.chat_id_alt,
        7 => &mut s.parent_chat_id,
        8 => &mut s.message_id,
        9 => &mut s.profile,
        10 => &mut s.user_display_name,
        11 => &mut s.user_handle,
        12 => &mut s.auto_thread_initial_name,
        _ => &mut s.prospective_thread_id,
    }
}

/// The flag of index `i` (read with Python truthiness; an index past the
/// last is the last).
fn source_flag(s: &mut SessionSource, i: u8) -> &mut bool {
    match i {
        0 => &mut s.auto_thread_created,
        1 => &mut s.is_bot,
        2 => &mut s.message_is_edit,
        _ => &mut s.one_to_one_verified,
    }
}

/// Which of a handed-back message's source texts are set (bit `i` for
/// `source_text_slots(..)[i]`): the decoder clears only those its message
/// does not carry.
pub(crate) type Held = u32;

/// The optional texts of a source read by [`source_text`], in the
/// order of its indexes (`scope_id` is read on its own, with its alias).
pub(crate) fn source_text_slots(s: &mut SessionSource) -> [&mut Option<CompactString>; 14] {
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

impl<'de> FillObject<'de> for SourceFill<'_> {
    fn reset(&mut self) {
        if !std::mem::take(&mut self.fresh) {
            blank_again(self.source);
            *self.seen = 0;
        }
        self.guild = Guild::Absent;
    }
    /// Inlined into the source's key loop, its one caller: a call fewer
    /// for each key.
    #[inline(always)]
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        let s = &mut *self.source;
        // Each text is marked read before it is read (a failed read fails
        // the whole line), so that the read is the last thing done here.
        match source_key(key) {
            SourceKey::Platform => {
                *self.seen |= SEEN_PLATFORM;
                lax::text_into(map, &mut PlatformSlot(&mut s.platform))
            }
            SourceKey::ChatId => {
                *self.seen |= SEEN_CHAT_ID;
                lax::text_into(map, &mut s.chat_id)
            }
            SourceKey::Text(i) => {
                *self.seen |= 1 << i;
                lax::text_into(map, source_text(s, i))
            }
            SourceKey::ChatType => lax::text_into(map, &mut s.chat_type),
            rare => self.rare_field(rare, key, map),
        }
    }
    fn done(&mut self) {
        let s = &mut *self.source;
        if s.platform.is_empty() {
            s.platform = CompactString::const_new(DEFAULT_PLATFORM);
        }
        if s.scope_id.is_none()
            && let Guild::Text(g) = std::mem::take(&mut self.guild)
        {
            s.scope_id = g;
        }
    }
}

impl SourceFill<'_> {
    /// The keys of a source that few messages carry (out of line: the
    /// per-key code of the usual ones stays small).
    #[inline(never)]
    fn rare_field<'de, A: MapAccess<'de>>(
        &mut self,
        which: SourceKey,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        let s = &mut *self.source;
        match which {
            SourceKey::Flag(i) => *source_flag(s, i) = lax::lax(map)?.truthy(),
            SourceKey::ScopeId => {
                let scope = short_text(lax::lax(map)?);
                // A repeated `scope_id` replaces the one the alias matched:
                // keep that value as the alias's own.
                if matches!(self.guild, Guild::SameAsScope) {
                    self.guild = Guild::Text(s.scope_id.take());
                }
                s.scope_id = scope;
            }
            SourceKey::GuildId => {
                self.guild = match lax::lax(map)? {
                    // The usual case, both keys carrying the same scope: no copy.
                    Lax::Str(g) if s.scope_id.as_deref() == Some(&*g) => Guild::SameAsScope,
                    other => Guild::Text(short_text(other)),
                }
            }
            // `Other`; the usual keys are read by `field`.
            _ => {
                let v = lax::value(map)?;
                s.extra.insert(key.to_owned(), v);
            }
        }
        Ok(())
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
    Text(Option<CompactString>),
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

wire_object! {
    impl<'de> for ReplyToWire |w, map| {
        "text" => w.0.text = text(lax::lax(map)?),
        "author" => w.0.author = text(lax::lax(map)?),
        "is_own" => w.0.is_own = lax::lax(map)?.truthy(),
    }
}

#[derive(Default)]
struct MediaWire(MediaItem);

wire_object! {
    impl<'de> for MediaWire |w, map| {
        "url" => w.0.url = text(lax::lax(map)?).unwrap_or_default(),
        "mime" => w.0.mime = text(lax::lax(map)?),
        "kind" => w.0.kind = text(lax::lax(map)?),
        "size" => {
            w.0.size = match lax::lax(map)? {
                Lax::UInt(u) => Some(u),
                Lax::Int(i) => u64::try_from(i).ok(),
                Lax::Float(f) if f.is_finite() && f >= 0.0 => Some(f as u64),
                _ => None,
            }
        },
        "filename" => w.0.filename = text(lax::lax(map)?),
        "caption" => w.0.caption = text(lax::lax(map)?),
    }
}

#[derive(Default)]
struct ContextSourceWire(Option<String>, Option<String>);

wire_object! {
    impl<'de> for ContextSourceWire |w, map| {
        "user_name" => w.0 = text(lax::lax(map)?),
        "user_id" => w.1 = text(lax::lax(map)?),
    }
}

#[derive(Default)]
struct ContextWire(ContextItem);

wire_object! {
    impl<'de> for ContextWire |w, map| {
        "text" => w.0.text = text(lax::lax(map)?).unwrap_or_default(),
        "source" => {
            if let Shape::Obj(ContextSourceWire(name, id)) =
                map.next_value::<Shape<ContextSourceWire>>()?
            {
                w.0.user_name = name;
                w.0.user_id = id;
            }
        },
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
            // Kept: the whole answer is the application's to read.
            _ => {
                let v = lax::value(map)?;
                p.extra.insert(key.to_owned(), v);
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
    /// The handed-back event's source texts that are set (see
    /// [`Held`]): only those can need clearing.
    held: Held,
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
    /// Read into `handed_back` (a message given back for reuse) when there
    /// is one, else into a new one.
    pub(crate) fn reusing(handed_back: Option<(Box<MessageEvent>, Held)>) -> Self {
        let (event, recycled, held) = match handed_back {
            Some((event, held)) => (event, true, held),
            // Allocated once, where the decoded event will stay: the
            // fields are read into it in place.
            None => (MessageEvent::boxed_blank(), false, 0),
        };
        EventWire {
            event,
            recycled,
            held,
            seen: 0,
            source_seen: 0,
            bad_source: None,
            source_read: false,
        }
    }
}

impl<'de> WireObject<'de> for EventWire {
    fn empty() -> Self {
        EventWire::reusing(None)
    }
    /// Inlined into the event's key loop, as [`SourceFill`]'s.
    #[inline(always)]
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        let e = &mut *self.event;
        match key {
            // Marked read first, as in `SourceFill::field`.
            "text" => {
                self.seen |= SEEN_TEXT;
                return lax::text_into(map, &mut e.text);
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
                self.seen |= SEEN_MESSAGE_ID;
                return lax::text_into(map, &mut e.message_id);
            }
            // In most frames (often empty): read here, not with the rare
            // fields.
            "media_urls" => lax::strings_into(map, &mut e.media_urls)?,
            "message_type" => return lax::text_into(map, &mut e.message_type),
            _ => rare_event_field(e, key, map)?,
        }
        Ok(())
    }
}

/// The fields of an event that most messages do not carry (out of line).
#[inline(never)]
fn rare_event_field<'de, A: MapAccess<'de>>(
    e: &mut MessageEvent,
    key: &str,
    map: &mut A,
) -> Result<(), A::Error> {
    match key {
        "reply_to_message_id" => e.reply_to_message_id = short_text(lax::lax(map)?),
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

impl<'de> Finish<'de> for EventWire {
    type Output = Box<MessageEvent>;
    const WHAT: &'static str = "event";

    /// The event, or the error for a `source` that is not an object.
    fn finish(self) -> Result<Box<MessageEvent>, DecodeError> {
        match self.bad_source {
            None => {
                let mut event = self.event;
                if self.recycled {
                    clear_unread(&mut event, self.seen, self.source_seen, self.held);
                }
                // No `source` key: the default source.
                if event.source.platform.is_empty() {
                    event.source.platform = CompactString::const_new(DEFAULT_PLATFORM);
                }
                Ok(event)
            }
            Some(kind) => Err(lax::not_an_object("inbound", "event.source", kind)),
        }
    }
}

/// The texts of a handed-back message that this one did not carry: what a
/// new message holds there (the source's default platform is filled in
/// after). Of the source's optional texts, only those set when the message
/// was handed back (`held`) can need it.
fn clear_unread(e: &mut MessageEvent, seen: u32, source_seen: u32, held: Held) {
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
    let unread = held & !source_seen;
    if unread != 0 {
        clear_source_texts(s, unread);
    }
}

/// Clears the source's optional texts of the bits of `unread`.
#[inline(never)]
fn clear_source_texts(s: &mut SessionSource, unread: u32) {
    for (i, slot) in source_text_slots(s).into_iter().enumerate() {
        if unread & (1 << i) != 0 {
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
        lax::deserialize_finished::<EventWire, D>(d).map(|e| *e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE_TEXT_KEYS: [&str; 14] = [
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

    #[test]
    fn each_source_text_key_names_the_slot_of_its_index() {
        let mut s = SessionSource::blank();
        for (i, k) in SOURCE_TEXT_KEYS.iter().enumerate() {
            assert_eq!(source_key(k), SourceKey::Text(i as u8), "{k}");
            *source_text(&mut s, i as u8) = Some((*k).into());
        }
        for (i, slot) in source_text_slots(&mut s).into_iter().enumerate() {
            assert_eq!(slot.as_deref(), Some(SOURCE_TEXT_KEYS[i]));
        }
        // Each slot is the field of its name.
        let mut json = serde_json::to_value(&s).unwrap();
        let obj = json.as_object_mut().unwrap();
        for k in SOURCE_TEXT_KEYS {
            assert_eq!(obj[k], k, "{k} is encoded from its slot");
        }
    }

    /// Every key of a source lands in its own field, whatever the order.
    #[test]
    fn every_source_key_lands_in_its_own_field() {
        let mut keys: Vec<&str> = SOURCE_TEXT_KEYS.to_vec();
        keys.extend(["platform", "chat_id", "scope_id"]);
        for rotate in [0, 5, 11] {
            keys.rotate_left(rotate);
            let fields: Vec<String> = keys.iter().map(|k| format!(r#""{k}":"{k}-v""#)).collect();
            let json = format!(r#"{{{},"chat_type":"group"}}"#, fields.join(","));
            let s: SessionSource = serde_json::from_str(&json).unwrap();
            let out = serde_json::to_value(&s).unwrap();
            for k in &keys {
                assert_eq!(out[*k], format!("{k}-v"), "{k} in {json}");
            }
            assert_eq!(s.chat_type, ChatType::Group);
            assert!(s.extra.is_empty(), "{:?}", s.extra);
        }
        let flags = [
            "auto_thread_created",
            "is_bot",
            "message_is_edit",
            "one_to_one_verified",
        ];
        for flag in flags {
            let s: SessionSource = serde_json::from_str(&format!(r#"{{"{flag}":1}}"#)).unwrap();
            let set = [
                s.auto_thread_created,
                s.is_bot,
                s.message_is_edit,
                s.one_to_one_verified,
            ];
            for (other, is_set) in flags.iter().zip(set) {
                assert_eq!(is_set, *other == flag, "{other} after {flag}");
            }
        }
    }

    /// Unknown keys are kept in order; a key given twice keeps its last
    /// value; `guild_id` stands in for a missing `scope_id`.
    #[test]
    fn source_unknown_keys_repeats_and_alias() {
        let s: SessionSource = serde_json::from_str(
            r#"{"zeta":1,"chat_id":"first","user_name":"a long first name",
                "alpha":[2],"chat_id":"second","user_name":"b","is_bot":true,
                "is_bot":0,"chat_Id":"x","guild_id":"g"}"#,
        )
        .unwrap();
        let extra: Vec<&str> = s.extra.keys().map(String::as_str).collect();
        assert_eq!(extra, ["zeta", "alpha", "chat_Id"]);
        assert_eq!(s.chat_id, "second");
        assert_eq!(s.user_name.as_deref(), Some("b"));
        assert!(!s.is_bot);
        assert_eq!(s.scope_id.as_deref(), Some("g"));
        assert_eq!(s.platform, DEFAULT_PLATFORM);
    }
}
