//! Outbound actions (contract v1 ops) and their results.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Free-form `metadata` object carried by most actions.
pub type Metadata = Map<String, Value>;

/// `send`: post a message.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct SendAction {
    /// Target chat.
    pub chat_id: String,
    /// Message text.
    pub content: String,
    /// Message to reply to (always on the wire, `null` when absent).
    #[serde(default)]
    pub reply_to: Option<String>,
    /// Routing metadata (always on the wire).
    #[serde(default)]
    pub metadata: Metadata,
}

/// `edit`: change a sent message.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct EditAction {
    /// Chat of the message.
    pub chat_id: String,
    /// Message to edit.
    pub message_id: String,
    /// New text.
    pub content: String,
    /// Whether this is the final edit of a stream.
    #[serde(default)]
    pub finalize: bool,
    /// Routing metadata.
    #[serde(default)]
    pub metadata: Metadata,
}

/// `typing`: show (or, with empty `content`, clear) a typing indicator.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct TypingAction {
    /// Target chat.
    pub chat_id: String,
    /// Optional status text (`""` clears on Slack).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Routing metadata.
    #[serde(default)]
    pub metadata: Metadata,
}

/// `follow_up`: act on a capability the connector holds for a session.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct FollowUpAction {
    /// Session whose capability to use.
    pub session_key: String,
    /// Capability kind, e.g. `discord.interaction_token`.
    pub kind: String,
    /// Message text.
    pub content: String,
    /// Extras.
    #[serde(default)]
    pub metadata: Metadata,
}

/// `get_chat_info`: look up a chat's name and type.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct GetChatInfoAction {
    /// Chat to look up.
    pub chat_id: String,
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
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
    SendMedia(Metadata),
    /// `prompt`.
    Prompt(Metadata),
    /// `react`.
    React(Metadata),
    /// `thread_create`.
    ThreadCreate(Metadata),
    /// `thread_rename`.
    ThreadRename(Metadata),
}

impl Action {
    /// The wire `op` name.
    pub fn op(&self) -> &str {
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

    /// The target chat, for ops that have one.
    pub fn chat_id(&self) -> Option<&str> {
        match self {
            Action::Send(a) => Some(&a.chat_id),
            Action::Edit(a) => Some(&a.chat_id),
            Action::Typing(a) => Some(&a.chat_id),
            Action::GetChatInfo(a) => Some(&a.chat_id),
            Action::FollowUp(_) => None,
            Action::SendMedia(m)
            | Action::Prompt(m)
            | Action::React(m)
            | Action::ThreadCreate(m)
            | Action::ThreadRename(m) => m.get("chat_id").and_then(Value::as_str),
        }
    }

    /// The `metadata` object, for ops that carry one.
    pub fn metadata_mut(&mut self) -> Option<&mut Metadata> {
        match self {
            Action::Send(a) => Some(&mut a.metadata),
            Action::Edit(a) => Some(&mut a.metadata),
            Action::Typing(a) => Some(&mut a.metadata),
            Action::FollowUp(a) => Some(&mut a.metadata),
            Action::GetChatInfo(_) => None,
            Action::SendMedia(m)
            | Action::Prompt(m)
            | Action::React(m)
            | Action::ThreadCreate(m)
            | Action::ThreadRename(m) => match m.get_mut("metadata") {
                Some(Value::Object(meta)) => Some(meta),
                _ => None,
            },
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
}

/// `chat_info` of a `get_chat_info` result.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatInfo {
    /// Chat name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Chat type (`dm`, `group`, …).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub chat_type: Option<String>,
    /// Other keys, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `result` of an `outbound_result` frame, or a locally produced failure.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct ActionResult {
    /// Whether the action succeeded.
    #[serde(default)]
    pub success: bool,
    /// Id of the created/edited message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Id of a created thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
    /// Chat info for `get_chat_info`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_info: Option<ChatInfo>,
    /// Error text on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The action may or may not have taken effect (failure after the frame was written).
    #[serde(default, skip_serializing_if = "is_false")]
    pub ambiguous: bool,
    /// Unknown keys, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn is_false(b: &bool) -> bool {
    !*b
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
}
