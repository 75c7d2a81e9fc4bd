//! The inbound message types: [`MessageEvent`] and what it carries.

/// The string type of a message's identifier-like texts (ids, names,
/// platform): up to 24 bytes are kept inline, with no heap allocation, and
/// it reads as a `&str` (`&*text`, `.as_str()`); build one with `.into()`.
pub use compact_str::CompactString;
use serde::Serialize;
use serde_json::{Map, Value};

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

/// Where an inbound message came from (docs/protocol.md, "Connector → gateway").
///
/// Encodes like the reference's `to_dict`: `platform, chat_id, chat_name,
/// chat_type, user_id, user_name, thread_id, chat_topic` always (nulls
/// allowed), the other fields only when set, and the scope under both
/// `scope_id` and `guild_id` (old and new gateways read one or the other).
#[derive(Clone, Debug, PartialEq)]
pub struct SessionSource {
    /// Platform name (`relay` when absent).
    pub platform: CompactString,
    /// Chat id (`""` when absent).
    pub chat_id: CompactString,
    /// Chat kind.
    pub chat_type: ChatType,
    /// Chat display name.
    pub chat_name: Option<CompactString>,
    /// Author id.
    pub user_id: Option<CompactString>,
    /// Author user name.
    pub user_name: Option<CompactString>,
    /// Thread id.
    pub thread_id: Option<CompactString>,
    /// Chat topic.
    pub chat_topic: Option<CompactString>,
    /// Alternative author id (Signal UUID, …).
    pub user_id_alt: Option<CompactString>,
    /// Alternative chat id.
    pub chat_id_alt: Option<CompactString>,
    /// Tenant scope (guild/workspace); read from `scope_id`, else `guild_id`.
    pub scope_id: Option<CompactString>,
    /// Parent chat id (for threads).
    pub parent_chat_id: Option<CompactString>,
    /// Platform message id.
    pub message_id: Option<CompactString>,
    /// Profile name for multiplexed gateways.
    pub profile: Option<CompactString>,
    /// Author display name (preferred over `user_name` for display).
    pub user_display_name: Option<CompactString>,
    /// Author handle.
    pub user_handle: Option<CompactString>,
    /// The connector created the thread this message is in.
    pub auto_thread_created: bool,
    /// The name the connector gave that thread.
    pub auto_thread_initial_name: Option<CompactString>,
    /// The thread a channel message's reply will be auto-threaded into.
    pub prospective_thread_id: Option<CompactString>,
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
            platform: CompactString::const_new(DEFAULT_PLATFORM),
            ..SessionSource::blank()
        }
    }
}

impl SessionSource {
    /// The default with an empty platform (no allocation): the decoder's
    /// starting point, which fills in the default platform at the end.
    #[inline(always)]
    pub(crate) fn blank() -> Self {
        SessionSource {
            platform: CompactString::const_new(""),
            chat_id: CompactString::const_new(""),
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
    /// Keys this version does not model, in order (the application gets
    /// the whole object, as the reference hands it over).
    pub extra: Map<String, Value>,
}

/// An inbound message as the connector sends it (docs/protocol.md, "Connector → gateway").
#[derive(Clone, Debug, PartialEq, Default)]
pub struct MessageEvent {
    /// Message text.
    pub text: String,
    /// Message kind.
    pub message_type: MessageType,
    /// Where it came from.
    pub source: SessionSource,
    /// Platform message id.
    pub message_id: Option<CompactString>,
    /// Id of the message this replies to.
    pub reply_to_message_id: Option<CompactString>,
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
    #[inline(always)]
    pub(crate) fn blank() -> Self {
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

    /// [`blank`](Self::blank) in a new box, written straight into the
    /// allocation: the large struct is not built on the stack and copied.
    /// Out of line, so that a decoder reading into a handed-back message
    /// stays small.
    #[inline(never)]
    pub(crate) fn boxed_blank() -> Box<Self> {
        Box::write(Box::new_uninit(), MessageEvent::blank())
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
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn boxed_blank_is_blank() {
        assert_eq!(*MessageEvent::boxed_blank(), MessageEvent::blank());
    }
}
