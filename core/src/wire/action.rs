//! Outbound actions (contract v1 ops): the typed ops and their encoding.
//!
//! Each op is a typed struct. On the wire an action is one object whose first
//! key is `op`, followed by the op's fields in the reference's order (see
//! [`Action`]'s `Serialize` impl). Decoding is lenient in the same places as
//! the reference connector contract: missing optional fields take defaults,
//! ids sent as numbers become strings, unknown keys are ignored.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

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

/// `draft`: one frame of a streamed message (`final: true` seals it).
///
/// Wire: `op, chat_id, draft_id, content, final, metadata`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct DraftAction {
    /// Target chat.
    pub chat_id: String,
    /// The stream this frame belongs to (an integer on the wire).
    pub draft_id: i64,
    /// The whole text so far.
    pub content: String,
    /// Whether this frame seals the stream.
    pub is_final: bool,
    /// Routing metadata.
    pub metadata: Metadata,
}

/// `task_card`: show or update a card of task progress.
///
/// Wire: `op, chat_id, card_id, chunks, metadata`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct TaskCardAction {
    /// Target chat.
    pub chat_id: String,
    /// The card (one per turn).
    pub card_id: String,
    /// The tasks, each an object passed through verbatim.
    pub chunks: Vec<Metadata>,
    /// Routing metadata.
    pub metadata: Metadata,
}

/// `task_card_stop`: end a card of task progress.
///
/// Wire: `op, chat_id, card_id, metadata`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct TaskCardStopAction {
    /// Target chat.
    pub chat_id: String,
    /// The card.
    pub card_id: String,
    /// Routing metadata.
    pub metadata: Metadata,
}

/// `delete`: delete a sent message.
///
/// Wire: `op, chat_id, message_id, metadata`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct DeleteAction {
    /// Chat of the message.
    pub chat_id: String,
    /// Message to delete.
    pub message_id: String,
    /// Routing metadata.
    pub metadata: Metadata,
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
    /// `draft`.
    Draft(DraftAction),
    /// `task_card`.
    TaskCard(TaskCardAction),
    /// `task_card_stop`.
    TaskCardStop(TaskCardStopAction),
    /// `delete`.
    Delete(DeleteAction),
}

/// Every op name [`Action`] models, in declaration order.
pub const ACTION_OPS: [&str; 14] = [
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
    "draft",
    "task_card",
    "task_card_stop",
    "delete",
];

/// The wire fields of `op`, `op` itself first, in the order they are
/// written (optional ones included); `None` for an op [`Action`] does not
/// model. What a front end checks a caller's action object against before
/// decoding it leniently.
pub fn action_fields(op: &str) -> Option<&'static [&'static str]> {
    Some(match op {
        "send" => &["op", "chat_id", "content", "reply_to", "metadata"],
        "edit" => &[
            "op",
            "chat_id",
            "message_id",
            "content",
            "finalize",
            "metadata",
        ],
        "typing" => &["op", "chat_id", "metadata", "content"],
        "follow_up" => &["op", "session_key", "kind", "content", "metadata"],
        "get_chat_info" => &["op", "chat_id"],
        "send_media" => &[
            "op",
            "chat_id",
            "media_kind",
            "source_url",
            "content",
            "reply_to",
            "metadata",
            "filename",
        ],
        "prompt" => &[
            "op",
            "chat_id",
            "content",
            "prompt_kind",
            "prompt_id",
            "options",
            "reply_to",
            "metadata",
            "timeout_s",
        ],
        "react" => &["op", "chat_id", "message_id", "emoji", "remove", "metadata"],
        "thread_create" => &["op", "chat_id", "thread_name", "metadata"],
        "thread_rename" => &[
            "op",
            "chat_id",
            "message_id",
            "thread_name",
            "metadata",
            "only_if_connector_created",
            "only_if_current_name",
        ],
        "draft" => &["op", "chat_id", "draft_id", "content", "final", "metadata"],
        "task_card" => &["op", "chat_id", "card_id", "chunks", "metadata"],
        "task_card_stop" => &["op", "chat_id", "card_id", "metadata"],
        "delete" => &["op", "chat_id", "message_id", "metadata"],
        _ => return None,
    })
}

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
            Action::Draft(_) => "draft",
            Action::TaskCard(_) => "task_card",
            Action::TaskCardStop(_) => "task_card_stop",
            Action::Delete(_) => "delete",
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
            Action::Draft(a) => Some(&a.chat_id),
            Action::TaskCard(a) => Some(&a.chat_id),
            Action::TaskCardStop(a) => Some(&a.chat_id),
            Action::Delete(a) => Some(&a.chat_id),
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
            Action::Draft(a) => Some(&mut a.metadata),
            Action::TaskCard(a) => Some(&mut a.metadata),
            Action::TaskCardStop(a) => Some(&mut a.metadata),
            Action::Delete(a) => Some(&mut a.metadata),
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
            Action::Draft(a) => Some(&a.metadata),
            Action::TaskCard(a) => Some(&a.metadata),
            Action::TaskCardStop(a) => Some(&a.metadata),
            Action::Delete(a) => Some(&a.metadata),
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
            Action::Draft(a) => {
                m.serialize_entry("chat_id", &a.chat_id)?;
                m.serialize_entry("draft_id", &a.draft_id)?;
                m.serialize_entry("content", &a.content)?;
                m.serialize_entry("final", &a.is_final)?;
                m.serialize_entry("metadata", &a.metadata)?;
            }
            Action::TaskCard(a) => {
                m.serialize_entry("chat_id", &a.chat_id)?;
                m.serialize_entry("card_id", &a.card_id)?;
                m.serialize_entry("chunks", &a.chunks)?;
                m.serialize_entry("metadata", &a.metadata)?;
            }
            Action::TaskCardStop(a) => {
                m.serialize_entry("chat_id", &a.chat_id)?;
                m.serialize_entry("card_id", &a.card_id)?;
                m.serialize_entry("metadata", &a.metadata)?;
            }
            Action::Delete(a) => {
                m.serialize_entry("chat_id", &a.chat_id)?;
                m.serialize_entry("message_id", &a.message_id)?;
                m.serialize_entry("metadata", &a.metadata)?;
            }
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn draft_card_and_delete_field_order() {
        let draft = Action::Draft(DraftAction {
            chat_id: "C1".into(),
            draft_id: 7,
            content: "Hel".into(),
            is_final: true,
            metadata: Metadata::new(),
        });
        assert_eq!(
            enc(&draft),
            r#"{"op":"draft","chat_id":"C1","draft_id":7,"content":"Hel","final":true,"metadata":{}}"#
        );
        let mut chunk = Metadata::new();
        chunk.insert("id".into(), "t1".into());
        chunk.insert("status".into(), "pending".into());
        let card = Action::TaskCard(TaskCardAction {
            chat_id: "c".into(),
            card_id: "k".into(),
            chunks: vec![chunk],
            metadata: Metadata::new(),
        });
        assert_eq!(
            enc(&card),
            r#"{"op":"task_card","chat_id":"c","card_id":"k","chunks":[{"id":"t1","status":"pending"}],"metadata":{}}"#
        );
        let stop = Action::TaskCardStop(TaskCardStopAction {
            chat_id: "c".into(),
            card_id: "k".into(),
            metadata: Metadata::new(),
        });
        assert_eq!(
            enc(&stop),
            r#"{"op":"task_card_stop","chat_id":"c","card_id":"k","metadata":{}}"#
        );
        let delete = Action::Delete(DeleteAction {
            chat_id: "c".into(),
            message_id: "m".into(),
            metadata: Metadata::new(),
        });
        assert_eq!(
            enc(&delete),
            r#"{"op":"delete","chat_id":"c","message_id":"m","metadata":{}}"#
        );
    }

    /// Every key an op writes is among its listed fields, in the listed
    /// order, and the list names nothing the op never writes.
    #[test]
    fn action_fields_match_the_encoding() {
        let full = serde_json::json!({
            "op": "", "chat_id": "c", "content": "x", "reply_to": "r", "metadata": {"k": 1},
            "message_id": "m", "finalize": true, "session_key": "s", "kind": "k",
            "media_kind": "image", "source_url": "u", "filename": "f", "prompt_kind": "p",
            "prompt_id": "p", "options": [], "timeout_s": 5, "emoji": "e", "remove": true,
            "thread_name": "t", "only_if_connector_created": true,
            "only_if_current_name": "o", "draft_id": 1, "final": true, "card_id": "k",
            "chunks": []
        });
        for op in ACTION_OPS {
            let mut v = full.clone();
            v["op"] = op.into();
            let action = Action::from_value(&v).unwrap_or_else(|e| panic!("{op}: {e}"));
            let written = serde_json::to_value(&action).unwrap_or_default();
            let keys: Vec<&str> = written
                .as_object()
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
            assert_eq!(action_fields(op), Some(keys.as_slice()), "{op}");
        }
        assert_eq!(action_fields("nope"), None);
    }
}
