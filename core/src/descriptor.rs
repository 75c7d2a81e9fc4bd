//! The capability descriptor a connector advertises for each platform.
//!
//! Decoding is forward compatible: unknown keys are ignored and every field
//! added after contract v1 is optional with the reference's default.

use serde::{Deserialize, Serialize};

/// The unit a platform measures message length in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LenUnit {
    /// Unicode scalar values (Python `len`).
    #[default]
    Chars,
    /// UTF-16 code units (astral characters count 2).
    Utf16,
}

impl LenUnit {
    /// Length of `text` in this unit.
    pub fn len_of(self, text: &str) -> usize {
        match self {
            LenUnit::Chars => text.chars().count(),
            LenUnit::Utf16 => text.encode_utf16().count(),
        }
    }
}

/// The default `max_message_length` when a connector sends a non-positive one.
pub const DEFAULT_MAX_MESSAGE_LENGTH: i64 = 4096;

/// What a connector's platform can do (PROTOCOL.md part 2 §9).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CapabilityDescriptor {
    /// Contract version (1).
    pub contract_version: i64,
    /// Platform name, e.g. `discord`.
    pub platform: String,
    /// Human-readable label.
    pub label: String,
    /// Longest message the platform accepts, in [`CapabilityDescriptor::len_unit`].
    pub max_message_length: i64,
    /// Whether draft (streaming) messages are supported.
    pub supports_draft_streaming: bool,
    /// Whether messages can be edited.
    pub supports_edit: bool,
    /// Whether threads are supported.
    pub supports_threads: bool,
    /// Markdown flavour (`plain`, `markdown_v2`, `discord`, `slack`, …).
    pub markdown_dialect: String,
    /// Unit of `max_message_length`.
    pub len_unit: LenUnit,
    /// Emoji shown for the platform.
    #[serde(default = "default_emoji")]
    pub emoji: String,
    /// Free-form hint about the platform.
    #[serde(default)]
    pub platform_hint: String,
    /// Whether content is PII-safe.
    #[serde(default)]
    pub pii_safe: bool,
    /// Media kinds the platform accepts.
    #[serde(default)]
    pub media_capabilities: Vec<String>,
    /// Whether inbound events may carry channel context.
    #[serde(default)]
    pub supports_context: bool,
    /// Whether in-channel continuation is supported.
    #[serde(default)]
    pub supports_inchannel_continuable: bool,
    /// Whether block formatting hints are honoured.
    #[serde(default)]
    pub supports_block_formatting: bool,
    /// Ops the connector implements; `None` or empty means the legacy set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported_ops: Option<Vec<String>>,
}

fn default_emoji() -> String {
    "\u{1F50C}".to_owned()
}

/// Ops every connector implements when `supported_ops` is absent.
pub const LEGACY_OPS: [&str; 4] = ["send", "edit", "typing", "follow_up"];

impl CapabilityDescriptor {
    /// Whether the connector advertises `op`. `get_chat_info` is always
    /// allowed; an absent or empty `supported_ops` means [`LEGACY_OPS`].
    pub fn supports_op(&self, op: &str) -> bool {
        if op == "get_chat_info" {
            return true;
        }
        match &self.supported_ops {
            Some(ops) if !ops.is_empty() => ops.iter().any(|o| o == op),
            _ => LEGACY_OPS.contains(&op),
        }
    }

    /// The effective maximum message length (non-positive means 4096).
    pub fn effective_max_message_length(&self) -> i64 {
        if self.max_message_length <= 0 {
            DEFAULT_MAX_MESSAGE_LENGTH
        } else {
            self.max_message_length
        }
    }

    /// Length of `text` in this platform's unit.
    pub fn message_len(&self, text: &str) -> usize {
        self.len_unit.len_of(text)
    }

    /// A minimal descriptor for `platform` (useful for tests and the dev connector).
    pub fn minimal(platform: &str) -> Self {
        CapabilityDescriptor {
            contract_version: 1,
            platform: platform.to_owned(),
            label: platform.to_owned(),
            max_message_length: 2000,
            supports_draft_streaming: false,
            supports_edit: true,
            supports_threads: false,
            markdown_dialect: "plain".to_owned(),
            len_unit: LenUnit::Chars,
            emoji: default_emoji(),
            platform_hint: String::new(),
            pii_safe: false,
            media_capabilities: Vec::new(),
            supports_context: false,
            supports_inchannel_continuable: false,
            supports_block_formatting: false,
            supported_ops: None,
        }
    }
}
