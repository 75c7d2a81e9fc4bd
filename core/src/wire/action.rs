//! Outbound actions (contract v1 ops) and their results.
//!
//! Each op is a typed struct. On the wire an action is one object whose first
//! key is `op`, followed by the op's fields in the reference's order (see
//! [`Action`]'s `Serialize` impl). Decoding is lenient in the same places as
//! the reference connector contract: missing optional fields take defaults,
//! ids sent as numbers become strings, unknown keys are ignored.

use serde::de::MapAccess;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::lax::DecodeError;
use crate::lax::{self, Lax, Shape, WireObject};

/// Free-form `metadata` object carried by most actions (insertion order kept).
pub type Metadata = Map<String, Value>;

/// `send`: post a message.
///
/// Wire: `op, chat_id, content, reply_to (null when absent), metadata`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SendAction {
    /// Target chat.
    pub chat_id: String,
    /// Message text.
    pub content: String,
    /// Message to reply to (always on the wire, `null` when absent).
    pub reply_to: Option<String>,
    /// Routing metadata (always on the wire).
    pub metadata: Metadata,
}

/// `edit`: change a sent message.
///
/// Wire: `op, chat_id, message_id, content, finalize, metadata`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct EditAction {
    /// Chat of the message.
    pub chat_id: String,
    /// Message to edit.
    pub message_id: String,
    /// New text.
    pub content: String,
    /// Whether this is the final edit of a stream.
    pub finalize: bool,
    /// Routing metadata.
    pub metadata: Metadata,
}

/// `typing`: show (or, with empty `content`, clear) a typing indicator.
///
/// Wire: `op, chat_id, metadata`, then `content` only when set.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct TypingAction {
    /// Target chat.
    pub chat_id: String,
    /// Optional status text (`""` clears the status on Slack; absent means
    /// the connector's default heartbeat).
    pub content: Option<String>,
    /// Routing metadata.
    pub metadata: Metadata,
}

/// `follow_up`: act on a capability the connector holds for a session.
///
/// Wire: `op, session_key, kind, content, metadata`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct FollowUpAction {
    /// Session whose capability to use.
    pub session_key: String,
    /// Capability kind, e.g. `discord.interaction_token`.
    pub kind: String,
    /// Message text.
    pub content: String,
    /// Extras.
    pub metadata: Metadata,
}

/// `get_chat_info`: look up a chat's name and type.
///
/// Wire: `op, chat_id`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct GetChatInfoAction {
    /// Chat to look up.
    pub chat_id: String,
}

/// `send_media`: post an attachment by URL.
///
/// Wire: `op, chat_id, media_kind, source_url, content, reply_to (null when
/// absent), metadata`, then `filename` only when set.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SendMediaAction {
    /// Target chat.
    pub chat_id: String,
    /// `image`, `voice`, `video`, `document`, …
    pub media_kind: String,
    /// Where the connector fetches the media (a public URL or its own
    /// `/relay/media/<id>` re-host).
    pub source_url: String,
    /// Caption (`""` when none).
    pub content: String,
    /// Message to reply to.
    pub reply_to: Option<String>,
    /// Routing metadata.
    pub metadata: Metadata,
    /// File name shown to the recipient.
    pub filename: Option<String>,
}

/// One button of a [`PromptAction`].
///
/// Wire: `id, label`, then `style` only when set.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct PromptOption {
    /// Option id returned in `prompt_response.option_id`.
    pub id: String,
    /// Button label.
    pub label: String,
    /// Visual style (`primary`, `danger`, …).
    pub style: Option<String>,
}

/// `prompt`: an interactive question with buttons.
///
/// Wire: `op, chat_id, content, prompt_kind, prompt_id, options, reply_to
/// (null when absent), metadata`, then `timeout_s` only when set.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct PromptAction {
    /// Target chat.
    pub chat_id: String,
    /// Question text.
    pub content: String,
    /// `approval`, `clarify`, …
    pub prompt_kind: String,
    /// Id echoed back in the inbound `prompt_response`.
    pub prompt_id: String,
    /// The buttons.
    pub options: Vec<PromptOption>,
    /// Message to reply to.
    pub reply_to: Option<String>,
    /// Routing metadata.
    pub metadata: Metadata,
    /// Advisory expiry in seconds.
    pub timeout_s: Option<i64>,
}

/// `react`: add or remove a reaction.
///
/// Wire: `op, chat_id, message_id, emoji, remove, metadata`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ReactAction {
    /// Chat of the message.
    pub chat_id: String,
    /// Message to react to.
    pub message_id: String,
    /// The emoji.
    pub emoji: String,
    /// Remove instead of add.
    pub remove: bool,
    /// Routing metadata.
    pub metadata: Metadata,
}

/// `thread_create`: open a thread (or forum topic) under a chat.
///
/// Wire: `op, chat_id, thread_name, metadata`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ThreadCreateAction {
    /// Parent chat.
    pub chat_id: String,
    /// Thread name.
    pub thread_name: String,
    /// Routing metadata.
    pub metadata: Metadata,
}

/// `thread_rename`: rename a thread.
///
/// Wire: `op, chat_id, message_id, thread_name, metadata`, then
/// `only_if_connector_created: true` when set, then `only_if_current_name`
/// when set.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ThreadRenameAction {
    /// Containing chat (the thread id itself when unknown).
    pub chat_id: String,
    /// The thread to rename.
    pub message_id: String,
    /// New name.
    pub thread_name: String,
    /// Routing metadata.
    pub metadata: Metadata,
    /// Rename only if the connector created the thread and its name is still
    /// the one the connector gave it.
    pub only_if_connector_created: bool,
    /// Rename only if the current name is exactly this (older guard).
    pub only_if_current_name: Option<String>,
}

/// An op this version does not model, sent verbatim (`op` plus fields).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct CustomAction {
    /// The op name.
    pub op: String,
    /// The other fields, in order.
    pub fields: Map<String, Value>,
}

/// One outbound action (the `action` object of an `outbound` frame).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Action {
    /// `send`.
    Send(SendAction),
    /// `edit`.
    Edit(EditAction),
    /// `typing`.
    Typing(TypingAction),
    /// `follow_up`.
    FollowUp(FollowUpAction),
    /// `get_chat_info`.
    GetChatInfo(GetChatInfoAction),
    /// `send_media`.
    SendMedia(SendMediaAction),
    /// `prompt`.
    Prompt(PromptAction),
    /// `react`.
    React(ReactAction),
    /// `thread_create`.
    ThreadCreate(ThreadCreateAction),
    /// `thread_rename`.
    ThreadRename(ThreadRenameAction),
}

/// Every op name [`Action`] models, in declaration order.
pub const ACTION_OPS: [&str; 10] = [
    "send",
    "edit",
    "typing",
    "follow_up",
    "get_chat_info",
    "send_media",
    "prompt",
    "react",
    "thread_create",
    "thread_rename",
];

impl Action {
    /// The wire `op` name.
    pub fn op(&self) -> &'static str {
        match self {
            Action::Send(_) => "send",
            Action::Edit(_) => "edit",
            Action::Typing(_) => "typing",
            Action::FollowUp(_) => "follow_up",
            Action::GetChatInfo(_) => "get_chat_info",
            Action::SendMedia(_) => "send_media",
            Action::Prompt(_) => "prompt",
            Action::React(_) => "react",
            Action::ThreadCreate(_) => "thread_create",
            Action::ThreadRename(_) => "thread_rename",
        }
    }

    /// The target chat, for ops that have one (all but `follow_up`).
    pub fn chat_id(&self) -> Option<&str> {
        match self {
            Action::Send(a) => Some(&a.chat_id),
            Action::Edit(a) => Some(&a.chat_id),
            Action::Typing(a) => Some(&a.chat_id),
            Action::GetChatInfo(a) => Some(&a.chat_id),
            Action::SendMedia(a) => Some(&a.chat_id),
            Action::Prompt(a) => Some(&a.chat_id),
            Action::React(a) => Some(&a.chat_id),
            Action::ThreadCreate(a) => Some(&a.chat_id),
            Action::ThreadRename(a) => Some(&a.chat_id),
            Action::FollowUp(_) => None,
        }
    }

    /// The `metadata` object, for ops that carry one (all but `get_chat_info`).
    pub fn metadata_mut(&mut self) -> Option<&mut Metadata> {
        match self {
            Action::Send(a) => Some(&mut a.metadata),
            Action::Edit(a) => Some(&mut a.metadata),
            Action::Typing(a) => Some(&mut a.metadata),
            Action::FollowUp(a) => Some(&mut a.metadata),
            Action::SendMedia(a) => Some(&mut a.metadata),
            Action::Prompt(a) => Some(&mut a.metadata),
            Action::React(a) => Some(&mut a.metadata),
            Action::ThreadCreate(a) => Some(&mut a.metadata),
            Action::ThreadRename(a) => Some(&mut a.metadata),
            Action::GetChatInfo(_) => None,
        }
    }

    /// The `metadata` object, for ops that carry one.
    pub fn metadata(&self) -> Option<&Metadata> {
        match self {
            Action::Send(a) => Some(&a.metadata),
            Action::Edit(a) => Some(&a.metadata),
            Action::Typing(a) => Some(&a.metadata),
            Action::FollowUp(a) => Some(&a.metadata),
            Action::SendMedia(a) => Some(&a.metadata),
            Action::Prompt(a) => Some(&a.metadata),
            Action::React(a) => Some(&a.metadata),
            Action::ThreadCreate(a) => Some(&a.metadata),
            Action::ThreadRename(a) => Some(&a.metadata),
            Action::GetChatInfo(_) => None,
        }
    }

    /// A plain `send` of `content` to `chat_id`.
    pub fn send(chat_id: impl Into<String>, content: impl Into<String>) -> Self {
        Action::Send(SendAction {
            chat_id: chat_id.into(),
            content: content.into(),
            reply_to: None,
            metadata: Metadata::new(),
        })
    }

    /// Decodes an action from a JSON value (as found under `action`).
    pub fn from_value(v: &Value) -> Result<Self, DecodeError> {
        match Shape::<ActionWire<'_>>::deserialize(v) {
            Ok(Shape::Obj(w)) => w.finish(),
            Ok(Shape::Null) | Ok(Shape::Other(_)) => Err(invalid("action", "expected an object")),
            Err(e) => Err(invalid("action", e.to_string())),
        }
    }
}

// ---------------------------------------------------------------------------
// Encoding

impl Serialize for PromptOption {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", &self.id)?;
        m.serialize_entry("label", &self.label)?;
        if let Some(style) = &self.style {
            m.serialize_entry("style", style)?;
        }
        m.end()
    }
}

impl Serialize for Action {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("op", self.op())?;
        match self {
            Action::Send(a) => {
                m.serialize_entry("chat_id", &a.chat_id)?;
                m.serialize_entry("content", &a.content)?;
                m.serialize_entry("reply_to", &a.reply_to)?;
                m.serialize_entry("metadata", &a.metadata)?;
            }
            Action::Edit(a) => {
                m.serialize_entry("chat_id", &a.chat_id)?;
                m.serialize_entry("message_id", &a.message_id)?;
                m.serialize_entry("content", &a.content)?;
                m.serialize_entry("finalize", &a.finalize)?;
                m.serialize_entry("metadata", &a.metadata)?;
            }
            Action::Typing(a) => {
                m.serialize_entry("chat_id", &a.chat_id)?;
                m.serialize_entry("metadata", &a.metadata)?;
                if let Some(c) = &a.content {
                    m.serialize_entry("content", c)?;
                }
            }
            Action::FollowUp(a) => {
                m.serialize_entry("session_key", &a.session_key)?;
                m.serialize_entry("kind", &a.kind)?;
                m.serialize_entry("content", &a.content)?;
                m.serialize_entry("metadata", &a.metadata)?;
            }
            Action::GetChatInfo(a) => {
                m.serialize_entry("chat_id", &a.chat_id)?;
            }
            Action::SendMedia(a) => {
                m.serialize_entry("chat_id", &a.chat_id)?;
                m.serialize_entry("media_kind", &a.media_kind)?;
                m.serialize_entry("source_url", &a.source_url)?;
                m.serialize_entry("content", &a.content)?;
                m.serialize_entry("reply_to", &a.reply_to)?;
                m.serialize_entry("metadata", &a.metadata)?;
                if let Some(f) = &a.filename {
                    m.serialize_entry("filename", f)?;
                }
            }
            Action::Prompt(a) => {
                m.serialize_entry("chat_id", &a.chat_id)?;
                m.serialize_entry("content", &a.content)?;
                m.serialize_entry("prompt_kind", &a.prompt_kind)?;
                m.serialize_entry("prompt_id", &a.prompt_id)?;
                m.serialize_entry("options", &a.options)?;
                m.serialize_entry("reply_to", &a.reply_to)?;
                m.serialize_entry("metadata", &a.metadata)?;
                if let Some(t) = a.timeout_s {
                    m.serialize_entry("timeout_s", &t)?;
                }
            }
            Action::React(a) => {
                m.serialize_entry("chat_id", &a.chat_id)?;
                m.serialize_entry("message_id", &a.message_id)?;
                m.serialize_entry("emoji", &a.emoji)?;
                m.serialize_entry("remove", &a.remove)?;
                m.serialize_entry("metadata", &a.metadata)?;
            }
            Action::ThreadCreate(a) => {
                m.serialize_entry("chat_id", &a.chat_id)?;
                m.serialize_entry("thread_name", &a.thread_name)?;
                m.serialize_entry("metadata", &a.metadata)?;
            }
            Action::ThreadRename(a) => {
                m.serialize_entry("chat_id", &a.chat_id)?;
                m.serialize_entry("message_id", &a.message_id)?;
                m.serialize_entry("thread_name", &a.thread_name)?;
                m.serialize_entry("metadata", &a.metadata)?;
                if a.only_if_connector_created {
                    m.serialize_entry("only_if_connector_created", &true)?;
                }
                if let Some(n) = &a.only_if_current_name {
                    m.serialize_entry("only_if_current_name", n)?;
                }
            }
        }
        m.end()
    }
}

// ---------------------------------------------------------------------------
// Decoding

fn invalid(field: &'static str, detail: impl Into<String>) -> DecodeError {
    DecodeError::InvalidField {
        frame: "outbound",
        field,
        detail: detail.into(),
    }
}

/// Every key any op may carry, read leniently; [`ActionWire::finish`] picks
/// what the op needs.
#[derive(Default)]
pub(crate) struct ActionWire<'de> {
    op: Option<Lax<'de>>,
    chat_id: Option<Lax<'de>>,
    content: Option<Lax<'de>>,
    reply_to: Option<Lax<'de>>,
    metadata: Option<Value>,
    message_id: Option<Lax<'de>>,
    finalize: bool,
    session_key: Option<Lax<'de>>,
    kind: Option<Lax<'de>>,
    media_kind: Option<Lax<'de>>,
    source_url: Option<Lax<'de>>,
    filename: Option<Lax<'de>>,
    prompt_kind: Option<Lax<'de>>,
    prompt_id: Option<Lax<'de>>,
    options: Vec<PromptOption>,
    timeout_s: Option<Lax<'de>>,
    emoji: Option<Lax<'de>>,
    remove: bool,
    thread_name: Option<Lax<'de>>,
    only_if_connector_created: bool,
    only_if_current_name: Option<Lax<'de>>,
}

#[derive(Default)]
struct OptionWire<'de> {
    id: Option<Lax<'de>>,
    label: Option<Lax<'de>>,
    style: Option<Lax<'de>>,
}

impl<'de> WireObject<'de> for OptionWire<'de> {
    fn empty() -> Self {
        Self::default()
    }
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "id" => self.id = Some(lax::lax(map)?),
            "label" => self.label = Some(lax::lax(map)?),
            "style" => self.style = Some(lax::lax(map)?),
            _ => {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

impl<'de> WireObject<'de> for ActionWire<'de> {
    fn empty() -> Self {
        Self::default()
    }
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "op" => self.op = Some(lax::lax(map)?),
            "chat_id" => self.chat_id = Some(lax::lax(map)?),
            "content" => self.content = Some(lax::lax(map)?),
            "reply_to" => self.reply_to = Some(lax::lax(map)?),
            "metadata" => self.metadata = Some(lax::value(map)?),
            "message_id" => self.message_id = Some(lax::lax(map)?),
            "finalize" => self.finalize = lax::lax(map)?.truthy(),
            "session_key" => self.session_key = Some(lax::lax(map)?),
            "kind" => self.kind = Some(lax::lax(map)?),
            "media_kind" => self.media_kind = Some(lax::lax(map)?),
            "source_url" => self.source_url = Some(lax::lax(map)?),
            "filename" => self.filename = Some(lax::lax(map)?),
            "prompt_kind" => self.prompt_kind = Some(lax::lax(map)?),
            "prompt_id" => self.prompt_id = Some(lax::lax(map)?),
            "options" => {
                self.options = lax::objects::<_, OptionWire<'de>>(map)?
                    .into_iter()
                    .map(|o| PromptOption {
                        id: o.id.and_then(Lax::into_text).unwrap_or_default(),
                        label: o.label.and_then(Lax::into_text).unwrap_or_default(),
                        style: o.style.and_then(Lax::into_text),
                    })
                    .collect();
            }
            "timeout_s" => self.timeout_s = Some(lax::lax(map)?),
            "emoji" => self.emoji = Some(lax::lax(map)?),
            "remove" => self.remove = lax::lax(map)?.truthy(),
            "thread_name" => self.thread_name = Some(lax::lax(map)?),
            "only_if_connector_created" => self.only_if_connector_created = lax::lax(map)?.truthy(),
            "only_if_current_name" => self.only_if_current_name = Some(lax::lax(map)?),
            _ => {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

fn text(v: Option<Lax<'_>>) -> String {
    v.and_then(Lax::into_text).unwrap_or_default()
}

fn opt_text(v: Option<Lax<'_>>) -> Option<String> {
    v.and_then(Lax::into_text)
}

impl<'de> ActionWire<'de> {
    fn required(v: Option<Lax<'de>>, field: &'static str) -> Result<String, DecodeError> {
        match v {
            None | Some(Lax::Null) => Err(DecodeError::MissingField {
                frame: "outbound",
                field,
            }),
            Some(l) => {
                let kind = l.kind();
                l.into_text()
                    .ok_or_else(|| invalid(field, format!("expected a string, got {kind}")))
            }
        }
    }

    fn metadata(v: Option<Value>) -> Metadata {
        match v {
            Some(Value::Object(m)) => m,
            _ => Metadata::new(),
        }
    }

    /// Builds the typed action for `op`.
    pub(crate) fn finish(mut self) -> Result<Action, DecodeError> {
        let op = match self.op.take() {
            Some(Lax::Str(s)) => s,
            None | Some(Lax::Null) => {
                return Err(DecodeError::MissingField {
                    frame: "outbound",
                    field: "action.op",
                });
            }
            Some(other) => {
                return Err(invalid(
                    "action.op",
                    format!("expected a string, got {}", other.kind()),
                ));
            }
        };
        let w = self;
        Ok(match op.as_ref() {
            "send" => Action::Send(SendAction {
                chat_id: Self::required(w.chat_id, "action.chat_id")?,
                content: text(w.content),
                reply_to: opt_text(w.reply_to),
                metadata: Self::metadata(w.metadata),
            }),
            "edit" => Action::Edit(EditAction {
                chat_id: Self::required(w.chat_id, "action.chat_id")?,
                message_id: Self::required(w.message_id, "action.message_id")?,
                content: text(w.content),
                finalize: w.finalize,
                metadata: Self::metadata(w.metadata),
            }),
            "typing" => Action::Typing(TypingAction {
                chat_id: Self::required(w.chat_id, "action.chat_id")?,
                content: opt_text(w.content),
                metadata: Self::metadata(w.metadata),
            }),
            "follow_up" => Action::FollowUp(FollowUpAction {
                session_key: Self::required(w.session_key, "action.session_key")?,
                kind: text(w.kind),
                content: text(w.content),
                metadata: Self::metadata(w.metadata),
            }),
            "get_chat_info" => Action::GetChatInfo(GetChatInfoAction {
                chat_id: Self::required(w.chat_id, "action.chat_id")?,
            }),
            "send_media" => Action::SendMedia(SendMediaAction {
                chat_id: Self::required(w.chat_id, "action.chat_id")?,
                media_kind: text(w.media_kind),
                source_url: Self::required(w.source_url, "action.source_url")?,
                content: text(w.content),
                reply_to: opt_text(w.reply_to),
                metadata: Self::metadata(w.metadata),
                filename: opt_text(w.filename),
            }),
            "prompt" => Action::Prompt(PromptAction {
                chat_id: Self::required(w.chat_id, "action.chat_id")?,
                content: text(w.content),
                prompt_kind: text(w.prompt_kind),
                prompt_id: Self::required(w.prompt_id, "action.prompt_id")?,
                options: w.options,
                reply_to: opt_text(w.reply_to),
                metadata: Self::metadata(w.metadata),
                timeout_s: match w.timeout_s {
                    Some(Lax::Int(i)) => Some(i),
                    Some(Lax::UInt(u)) => Some(i64::try_from(u).unwrap_or(i64::MAX)),
                    Some(Lax::Float(f)) if f.is_finite() => Some(f as i64),
                    _ => None,
                },
            }),
            "react" => Action::React(ReactAction {
                chat_id: Self::required(w.chat_id, "action.chat_id")?,
                message_id: Self::required(w.message_id, "action.message_id")?,
                emoji: text(w.emoji),
                remove: w.remove,
                metadata: Self::metadata(w.metadata),
            }),
            "thread_create" => Action::ThreadCreate(ThreadCreateAction {
                chat_id: Self::required(w.chat_id, "action.chat_id")?,
                thread_name: text(w.thread_name),
                metadata: Self::metadata(w.metadata),
            }),
            "thread_rename" => Action::ThreadRename(ThreadRenameAction {
                chat_id: Self::required(w.chat_id, "action.chat_id")?,
                message_id: Self::required(w.message_id, "action.message_id")?,
                thread_name: text(w.thread_name),
                metadata: Self::metadata(w.metadata),
                only_if_connector_created: w.only_if_connector_created,
                only_if_current_name: opt_text(w.only_if_current_name),
            }),
            other => return Err(invalid("action.op", format!("unknown op {other:?}"))),
        })
    }
}

impl<'de> Deserialize<'de> for Action {
    /// Lenient decode of an `action` object (see [`Action::from_value`]).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Shape::<ActionWire<'de>>::deserialize(d)? {
            Shape::Obj(w) => w.finish().map_err(serde::de::Error::custom),
            _ => Err(serde::de::Error::custom("action is not an object")),
        }
    }
}

// ---------------------------------------------------------------------------
// Results

/// `chat_info` of a `get_chat_info` result.
///
/// Wire: `name`, `type` (each only when set), then the other keys.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ChatInfo {
    /// Chat name.
    pub name: Option<String>,
    /// Chat type (`dm`, `group`, …).
    pub chat_type: Option<String>,
    /// Other keys, kept in order.
    pub extra: Map<String, Value>,
}

impl ChatInfo {
    fn from_map(mut m: Map<String, Value>) -> Self {
        let mut take = |k: &str| match m.get(k).and_then(lax::value_text) {
            Some(t) => {
                m.shift_remove(k);
                Some(t)
            }
            None => None,
        };
        let name = take("name");
        let chat_type = take("type");
        ChatInfo {
            name,
            chat_type,
            extra: m,
        }
    }
}

impl Serialize for ChatInfo {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some(n) = &self.name {
            m.serialize_entry("name", n)?;
        }
        if let Some(t) = &self.chat_type {
            m.serialize_entry("type", t)?;
        }
        for (k, v) in &self.extra {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// The `result` of an `outbound_result` frame, or a locally produced failure.
///
/// Wire: `success`, then `message_id`, `thread_id`, `chat_info`, `error`
/// (each only when set), `ambiguous` (only when true), then the other keys.
/// Decoding reads `success` and `ambiguous` by truthiness and accepts numeric
/// ids; a known key with an unusable type is kept in `extra`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ActionResult {
    /// Whether the action succeeded.
    pub success: bool,
    /// Id of the created/edited message.
    pub message_id: Option<String>,
    /// Id of a created thread.
    pub thread_id: Option<String>,
    /// Chat info for `get_chat_info`.
    pub chat_info: Option<ChatInfo>,
    /// Error text on failure.
    pub error: Option<String>,
    /// The action may or may not have taken effect (failure after the frame was written).
    pub ambiguous: bool,
    /// Unknown keys, kept in order.
    pub extra: Map<String, Value>,
}

impl ActionResult {
    /// A successful result with an optional message id.
    pub fn ok(message_id: Option<String>) -> Self {
        ActionResult {
            success: true,
            message_id,
            ..Default::default()
        }
    }

    /// A failed result.
    pub fn failure(error: impl Into<String>, ambiguous: bool) -> Self {
        ActionResult {
            success: false,
            error: Some(error.into()),
            ambiguous,
            ..Default::default()
        }
    }

    /// The chat info a `get_chat_info` caller reads: `chat_info` if present,
    /// else the result's own `name` / `type` keys (as the reference does).
    pub fn chat_info_or_self(&self) -> ChatInfo {
        match &self.chat_info {
            Some(ci) => ci.clone(),
            None => ChatInfo::from_map(self.extra.clone()),
        }
    }
}

impl<'de> WireObject<'de> for ActionResult {
    fn empty() -> Self {
        Self::default()
    }
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "success" => self.success = lax::lax(map)?.truthy(),
            "ambiguous" => self.ambiguous = lax::lax(map)?.truthy(),
            "message_id" | "thread_id" | "error" => {
                let v = lax::value(map)?;
                let slot = match key {
                    "message_id" => &mut self.message_id,
                    "thread_id" => &mut self.thread_id,
                    _ => &mut self.error,
                };
                *slot = None;
                self.extra.shift_remove(key);
                // Moves the string out of the value (no second copy).
                match v {
                    Value::String(t) => *slot = Some(t),
                    Value::Number(n) => *slot = Some(n.to_string()),
                    Value::Null => {}
                    other => {
                        self.extra.insert(key.to_owned(), other);
                    }
                }
            }
            "chat_info" => {
                self.chat_info = None;
                self.extra.shift_remove(key);
                match lax::value(map)? {
                    Value::Object(m) => self.chat_info = Some(ChatInfo::from_map(m)),
                    Value::Null => {}
                    other => {
                        self.extra.insert(key.to_owned(), other);
                    }
                }
            }
            _ => {
                let v = lax::value(map)?;
                self.extra.insert(key.to_owned(), v);
            }
        }
        Ok(())
    }
}

impl Serialize for ActionResult {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("success", &self.success)?;
        if let Some(v) = &self.message_id {
            m.serialize_entry("message_id", v)?;
        }
        if let Some(v) = &self.thread_id {
            m.serialize_entry("thread_id", v)?;
        }
        if let Some(v) = &self.chat_info {
            m.serialize_entry("chat_info", v)?;
        }
        if let Some(v) = &self.error {
            m.serialize_entry("error", v)?;
        }
        if self.ambiguous {
            m.serialize_entry("ambiguous", &true)?;
        }
        for (k, v) in &self.extra {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for ActionResult {
    /// Lenient decode of a result object (a non-object is an error here;
    /// inside a frame it becomes `result: None`).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Shape::<ActionResult>::deserialize(d)? {
            Shape::Obj(r) => Ok(r),
            _ => Err(serde::de::Error::custom("result is not an object")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn enc(a: &Action) -> String {
        serde_json::to_string(a).unwrap_or_default()
    }

    #[test]
    fn send_field_order_and_nulls() {
        assert_eq!(
            enc(&Action::send("c1", "hi")),
            r#"{"op":"send","chat_id":"c1","content":"hi","reply_to":null,"metadata":{}}"#
        );
    }

    #[test]
    fn typing_content_after_metadata_and_optional() {
        let mut t = TypingAction {
            chat_id: "c".into(),
            ..Default::default()
        };
        assert_eq!(
            enc(&Action::Typing(t.clone())),
            r#"{"op":"typing","chat_id":"c","metadata":{}}"#
        );
        t.content = Some(String::new());
        assert_eq!(
            enc(&Action::Typing(t)),
            r#"{"op":"typing","chat_id":"c","metadata":{},"content":""}"#
        );
    }

    #[test]
    fn later_ops_field_order() {
        let media = Action::SendMedia(SendMediaAction {
            chat_id: "c".into(),
            media_kind: "image".into(),
            source_url: "https://x/y.png".into(),
            content: String::new(),
            reply_to: None,
            metadata: Metadata::new(),
            filename: Some("y.png".into()),
        });
        assert_eq!(
            enc(&media),
            r#"{"op":"send_media","chat_id":"c","media_kind":"image","source_url":"https://x/y.png","content":"","reply_to":null,"metadata":{},"filename":"y.png"}"#
        );
        let prompt = Action::Prompt(PromptAction {
            chat_id: "c".into(),
            content: "Run?".into(),
            prompt_kind: "approval".into(),
            prompt_id: "ab.12".into(),
            options: vec![
                PromptOption {
                    id: "once".into(),
                    label: "Allow".into(),
                    style: Some("primary".into()),
                },
                PromptOption {
                    id: "deny".into(),
                    label: "Deny".into(),
                    style: None,
                },
            ],
            reply_to: None,
            metadata: Metadata::new(),
            timeout_s: Some(60),
        });
        assert_eq!(
            enc(&prompt),
            r#"{"op":"prompt","chat_id":"c","content":"Run?","prompt_kind":"approval","prompt_id":"ab.12","options":[{"id":"once","label":"Allow","style":"primary"},{"id":"deny","label":"Deny"}],"reply_to":null,"metadata":{},"timeout_s":60}"#
        );
        let react = Action::React(ReactAction {
            chat_id: "c".into(),
            message_id: "m".into(),
            emoji: "\u{1F440}".into(),
            remove: true,
            metadata: Metadata::new(),
        });
        assert_eq!(
            enc(&react),
            "{\"op\":\"react\",\"chat_id\":\"c\",\"message_id\":\"m\",\"emoji\":\"\u{1F440}\",\"remove\":true,\"metadata\":{}}"
        );
        let rename = Action::ThreadRename(ThreadRenameAction {
            chat_id: "c".into(),
            message_id: "t".into(),
            thread_name: "n".into(),
            metadata: Metadata::new(),
            only_if_connector_created: false,
            only_if_current_name: Some("old".into()),
        });
        assert_eq!(
            enc(&rename),
            r#"{"op":"thread_rename","chat_id":"c","message_id":"t","thread_name":"n","metadata":{},"only_if_current_name":"old"}"#
        );
    }

    #[test]
    fn decode_lenient_action() {
        let a = Action::from_value(&json!({"op":"send","chat_id":42,"content":"x","extra":1}));
        assert_eq!(
            a,
            Ok(Action::Send(SendAction {
                chat_id: "42".into(),
                content: "x".into(),
                reply_to: None,
                metadata: Metadata::new(),
            }))
        );
        assert_eq!(
            Action::from_value(&json!({"op":"send"})),
            Err(DecodeError::MissingField {
                frame: "outbound",
                field: "action.chat_id"
            })
        );
        assert!(matches!(
            Action::from_value(&json!({"op":"draft","chat_id":"c"})),
            Err(DecodeError::InvalidField {
                field: "action.op",
                ..
            })
        ));
        assert!(matches!(
            Action::from_value(&json!({"op":"send","chat_id":[1]})),
            Err(DecodeError::InvalidField {
                field: "action.chat_id",
                ..
            })
        ));
        assert_eq!(
            Action::from_value(&json!({"chat_id":"c"})),
            Err(DecodeError::MissingField {
                frame: "outbound",
                field: "action.op"
            })
        );
    }

    #[test]
    fn metadata_accessors_cover_every_op() {
        for op in ACTION_OPS {
            let v = json!({"op": op, "chat_id": "c", "session_key": "s", "message_id": "m",
                           "source_url": "u", "prompt_id": "p", "metadata": {"k": 1}});
            let mut a = Action::from_value(&v).unwrap_or_else(|e| panic!("{op}: {e}"));
            assert_eq!(a.op(), op);
            if op == "get_chat_info" {
                assert!(a.metadata_mut().is_none());
            } else {
                assert_eq!(a.metadata_mut().and_then(|m| m.get("k")), Some(&json!(1)));
            }
            assert_eq!(a.chat_id().is_some(), op != "follow_up");
        }
    }

    #[test]
    fn result_leniency() {
        let r: ActionResult = serde_json::from_value(json!({
            "success": 1, "message_id": 123, "error": null, "thread_id": {"x": 1},
            "auto_thread_name": "t", "ambiguous": "yes"
        }))
        .unwrap_or_default();
        assert!(r.success);
        assert!(r.ambiguous);
        assert_eq!(r.message_id.as_deref(), Some("123"));
        assert_eq!(r.error, None);
        assert_eq!(r.thread_id, None);
        assert_eq!(r.extra.get("thread_id"), Some(&json!({"x": 1})));
        assert_eq!(r.extra.get("auto_thread_name"), Some(&json!("t")));
        let ci: ActionResult =
            serde_json::from_value(json!({"success": true, "name": "General", "type": "group"}))
                .unwrap_or_default();
        assert_eq!(ci.chat_info_or_self().name.as_deref(), Some("General"));
        assert_eq!(ci.chat_info_or_self().chat_type.as_deref(), Some("group"));
    }
}
