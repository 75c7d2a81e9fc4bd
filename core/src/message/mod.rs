//! Inbound messages: what they carry ([`MessageEvent`]), who sent them and
//! where ([`SessionSource`]), and the session key derived from them.
//!
//! Decoding follows the reference's reading of the `inbound.event` object:
//! every field is optional, ids sent as numbers become strings, an unknown
//! `message_type` is `text`, an unknown `chat_type` is kept as
//! [`ChatType::Other`], a missing `source.platform` is `relay`, `media_urls:
//! null` is empty, and `scope_id` is preferred over its older alias
//! `guild_id`. Keys this version does not model are kept in `extra`.
//! [`normalize_slack_command`] rewrites Slack's `/hermes <command>` text.

mod decode;
mod encode;
mod session_key;
mod slack_command;
mod types;

pub(crate) use decode::{EventWire, Held, source_text_slots};
pub use session_key::{SessionKeyOptions, build_session_key, session_key_namespace};
pub(crate) use slack_command::shared_default_slack_commands;
pub use slack_command::{
    GATEWAY_COMMAND_ALIASES, GATEWAY_COMMANDS, SLACK_PARENT_COMMAND, default_slack_commands,
    normalize_slack_command,
};
pub use types::{
    ChatType, CompactString, ContextItem, DEFAULT_PLATFORM, MediaItem, MessageEvent, MessageType,
    PromptResponse, ReplyTo, SessionSource,
};
