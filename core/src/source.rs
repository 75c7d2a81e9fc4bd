//! Who sent an inbound message and where: `SessionSource`, `MessageEvent`, and
//! the session key derived from them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The kind of chat a message came from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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
    #[serde(untagged)]
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
}

/// The kind of an inbound message; unknown values become [`MessageType::Text`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
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

/// Where an inbound message came from (PROTOCOL.md part 2 §10.1).
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct SessionSource {
    /// Platform name (`relay` when unknown).
    #[serde(default = "default_platform")]
    pub platform: String,
    /// Chat id.
    #[serde(default)]
    pub chat_id: String,
    /// Chat kind.
    #[serde(default)]
    pub chat_type: ChatType,
    /// Chat display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_name: Option<String>,
    /// Author id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Author name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// Thread id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
    /// Chat topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_topic: Option<String>,
    /// Alternative author id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id_alt: Option<String>,
    /// Alternative chat id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_id_alt: Option<String>,
    /// Tenant scope (guild/workspace); read from `scope_id`, else `guild_id`.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "guild_id")]
    pub scope_id: Option<String>,
    /// Parent chat id (for threads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_chat_id: Option<String>,
    /// Platform message id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Profile name for multiplexed gateways.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

fn default_platform() -> String {
    "relay".to_owned()
}

/// An inbound message as the connector sends it (PROTOCOL.md part 2 §10.1).
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct MessageEvent {
    /// Message text.
    #[serde(default)]
    pub text: String,
    /// Message kind.
    #[serde(default)]
    pub message_type: MessageType,
    /// Where it came from.
    #[serde(default)]
    pub source: SessionSource,
    /// Platform message id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Id of the message this replies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to_message_id: Option<String>,
    /// Attached media URLs.
    #[serde(default)]
    pub media_urls: Vec<String>,
    /// Later optional keys (`reply_to`, `media`, `context`, …) kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Flags that shape a session key (PROTOCOL.md part 2 §10.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionKeyOptions {
    /// One session per participant in group chats (default true).
    pub group_sessions_per_user: bool,
    /// One session per participant in threads (default false).
    pub thread_sessions_per_user: bool,
    /// Profile name for multiplexed gateways (`None` → `main`).
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
