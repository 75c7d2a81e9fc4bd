//! The capability descriptor a connector advertises for each platform.
//!
//! Decoding is forward compatible: unknown keys are ignored and every field
//! added after contract v1 is optional with the reference's default. The nine
//! contract-v1 fields are required; a missing one is
//! [`DecodeError::MissingField`] naming it. `max_message_length` is
//! normalized at decode time (non-positive or unusable → 4096), so the field
//! of a decoded descriptor is always positive.

use serde::{Deserialize, Deserializer, Serialize};

use crate::lax::{self, DecodeError, Finish, Lax, Many, wire_object};

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

    /// The wire name (`chars` / `utf16`).
    pub fn as_str(self) -> &'static str {
        match self {
            LenUnit::Chars => "chars",
            LenUnit::Utf16 => "utf16",
        }
    }

    /// Reads a wire name; anything but `utf16` measures in chars (as the
    /// reference falls back to `len` for unknown units).
    pub fn from_wire(s: &str) -> Self {
        if s == "utf16" {
            LenUnit::Utf16
        } else {
            LenUnit::Chars
        }
    }
}

/// The default `max_message_length` when a connector sends a non-positive one.
pub const DEFAULT_MAX_MESSAGE_LENGTH: i64 = 4096;

/// The default platform emoji (U+1F50C, electric plug).
pub const DEFAULT_EMOJI: &str = "\u{1F50C}";

/// What a connector's platform can do (docs/protocol.md, "Descriptors").
///
/// Encodes with the keys in declaration order (`supported_ops` only when set).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CapabilityDescriptor {
    /// Contract version (1).
    pub contract_version: i64,
    /// Platform name, e.g. `discord`.
    pub platform: String,
    /// Human-readable label.
    pub label: String,
    /// Longest message the platform accepts, in [`CapabilityDescriptor::len_unit`]
    /// (always positive once decoded).
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
    pub emoji: String,
    /// Free-form hint about the platform.
    pub platform_hint: String,
    /// Whether content is PII-safe.
    pub pii_safe: bool,
    /// Media kinds the platform accepts.
    pub media_capabilities: Vec<String>,
    /// Whether inbound events may carry channel context.
    pub supports_context: bool,
    /// Whether in-channel continuation is supported.
    pub supports_inchannel_continuable: bool,
    /// Whether block formatting hints are honoured.
    pub supports_block_formatting: bool,
    /// Ops the connector implements; `None` or empty means the legacy set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supported_ops: Option<Vec<String>>,
}

/// Ops every connector implements when `supported_ops` is absent.
pub const LEGACY_OPS: [&str; 4] = ["send", "edit", "typing", "follow_up"];

/// Whether `descriptor` advertises `op` (free-function form of
/// [`CapabilityDescriptor::supports_op`]).
pub fn supports_op(descriptor: &CapabilityDescriptor, op: &str) -> bool {
    descriptor.supports_op(op)
}

/// Length of `text` in `unit` (free-function form of [`LenUnit::len_of`]).
pub fn message_len(unit: LenUnit, text: &str) -> usize {
    unit.len_of(text)
}

/// The effective maximum for a raw `max_message_length` value: non-positive
/// means [`DEFAULT_MAX_MESSAGE_LENGTH`].
pub fn effective_max_message_length(raw: i64) -> i64 {
    if raw <= 0 {
        DEFAULT_MAX_MESSAGE_LENGTH
    } else {
        raw
    }
}

/// A minimal descriptor for `platform` (see [`CapabilityDescriptor::minimal`]).
pub fn minimal(platform: &str) -> CapabilityDescriptor {
    CapabilityDescriptor::minimal(platform)
}

impl CapabilityDescriptor {
    /// Whether the connector advertises `op`. `get_chat_info` is always
    /// allowed; an absent or empty `supported_ops` means [`LEGACY_OPS`].
    pub fn supports_op(&self, op: &str) -> bool {
        if op == "get_chat_info" {
            return true;
        }
        // `supports_edit: false` vetoes `edit` even where the op list allows it.
        if op == "edit" && !self.supports_edit {
            return false;
        }
        match &self.supported_ops {
            Some(ops) if !ops.is_empty() => ops.iter().any(|o| o == op),
            _ => LEGACY_OPS.contains(&op),
        }
    }

    /// The effective maximum message length (non-positive means 4096).
    pub fn effective_max_message_length(&self) -> i64 {
        effective_max_message_length(self.max_message_length)
    }

    /// Length of `text` in this platform's unit.
    pub fn message_len(&self, text: &str) -> usize {
        self.len_unit.len_of(text)
    }

    /// Whether the platform renders code blocks (`markdown_dialect` is not
    /// `""` or `plain`).
    pub fn supports_code_blocks(&self) -> bool {
        !matches!(self.markdown_dialect.as_str(), "" | "plain")
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
            emoji: DEFAULT_EMOJI.to_owned(),
            platform_hint: String::new(),
            pii_safe: false,
            media_capabilities: Vec::new(),
            supports_context: false,
            supports_inchannel_continuable: false,
            supports_block_formatting: false,
            supported_ops: None,
        }
    }

    /// Decodes a descriptor object from JSON text.
    pub fn from_json(bytes: &[u8]) -> Result<Self, DecodeError> {
        match lax::parse_line::<DescriptorWire<'_>>(bytes) {
            Ok(w) => w.finish(),
            Err(DecodeError::NotAnObject) => Err(DecodeError::InvalidField {
                frame: "descriptor",
                field: "descriptor",
                detail: "expected an object".into(),
            }),
            Err(e) => Err(e),
        }
    }
}

/// The descriptor as read off the wire, before validation.
#[derive(Default)]
pub(crate) struct DescriptorWire<'de> {
    contract_version: Option<Lax<'de>>,
    platform: Option<Lax<'de>>,
    label: Option<Lax<'de>>,
    max_message_length: Option<Lax<'de>>,
    supports_draft_streaming: Option<bool>,
    supports_edit: Option<bool>,
    supports_threads: Option<bool>,
    markdown_dialect: Option<Lax<'de>>,
    len_unit: Option<Lax<'de>>,
    emoji: Option<Lax<'de>>,
    platform_hint: Option<Lax<'de>>,
    pii_safe: bool,
    media_capabilities: Vec<String>,
    supports_context: bool,
    supports_inchannel_continuable: bool,
    supports_block_formatting: bool,
    supported_ops: Option<Vec<String>>,
}

wire_object! {
    impl<'de> for DescriptorWire<'de> |w, map| {
        "contract_version" => w.contract_version = Some(lax::lax(map)?),
        "platform" => w.platform = Some(lax::lax(map)?),
        "label" => w.label = Some(lax::lax(map)?),
        "max_message_length" => w.max_message_length = Some(lax::lax(map)?),
        "supports_draft_streaming" => {
            w.supports_draft_streaming = Some(lax::lax(map)?.truthy())
        },
        "supports_edit" => w.supports_edit = Some(lax::lax(map)?.truthy()),
        "supports_threads" => w.supports_threads = Some(lax::lax(map)?.truthy()),
        "markdown_dialect" => w.markdown_dialect = Some(lax::lax(map)?),
        "len_unit" => w.len_unit = Some(lax::lax(map)?),
        "emoji" => w.emoji = Some(lax::lax(map)?),
        "platform_hint" => w.platform_hint = Some(lax::lax(map)?),
        "pii_safe" => w.pii_safe = lax::lax(map)?.truthy(),
        "media_capabilities" => w.media_capabilities = lax::strings(map)?,
        "supports_context" => w.supports_context = lax::lax(map)?.truthy(),
        "supports_inchannel_continuable" => {
            w.supports_inchannel_continuable = lax::lax(map)?.truthy()
        },
        "supports_block_formatting" => w.supports_block_formatting = lax::lax(map)?.truthy(),
        "supported_ops" => {
            w.supported_ops = match map.next_value::<Many<Lax<'de>>>()? {
                Many::Items(v) => Some(v.into_iter().filter_map(Lax::into_str).collect()),
                _ => None,
            }
        },
    }
}

fn missing(field: &'static str) -> DecodeError {
    DecodeError::MissingField {
        frame: "descriptor",
        field,
    }
}

fn invalid(field: &'static str, detail: String) -> DecodeError {
    DecodeError::InvalidField {
        frame: "descriptor",
        field,
        detail,
    }
}

fn req_str(v: Option<Lax<'_>>, field: &'static str) -> Result<String, DecodeError> {
    match v {
        None => Err(missing(field)),
        Some(Lax::Str(s)) => Ok(s.into_owned()),
        Some(other) => Err(invalid(
            field,
            format!("expected a string, got {}", other.kind()),
        )),
    }
}

/// `max_message_length` as the reference reads it: integers (or integral
/// text) as given, anything unusable or non-positive as 4096.
fn max_len(v: Lax<'_>) -> i64 {
    let raw = match v {
        Lax::Int(i) => i,
        Lax::UInt(u) => i64::try_from(u).unwrap_or(i64::MAX),
        Lax::Float(f) if f.is_finite() => f as i64,
        Lax::Str(s) => s.trim().parse::<i64>().unwrap_or(0),
        _ => 0,
    };
    effective_max_message_length(raw)
}

impl<'de> Finish<'de> for DescriptorWire<'de> {
    type Output = CapabilityDescriptor;
    const WHAT: &'static str = "descriptor";

    /// Validates required fields and applies defaults.
    fn finish(self) -> Result<CapabilityDescriptor, DecodeError> {
        let contract_version = match self.contract_version {
            None => return Err(missing("contract_version")),
            Some(Lax::Int(i)) => i,
            Some(Lax::UInt(u)) => i64::try_from(u)
                .map_err(|_| invalid("contract_version", "integer out of range".into()))?,
            Some(other) => {
                return Err(invalid(
                    "contract_version",
                    format!("expected an integer, got {}", other.kind()),
                ));
            }
        };
        let platform = req_str(self.platform, "platform")?;
        let label = req_str(self.label, "label")?;
        let max_message_length = max_len(
            self.max_message_length
                .ok_or_else(|| missing("max_message_length"))?,
        );
        let supports_draft_streaming = self
            .supports_draft_streaming
            .ok_or_else(|| missing("supports_draft_streaming"))?;
        let supports_edit = self.supports_edit.ok_or_else(|| missing("supports_edit"))?;
        let supports_threads = self
            .supports_threads
            .ok_or_else(|| missing("supports_threads"))?;
        let markdown_dialect = req_str(self.markdown_dialect, "markdown_dialect")?;
        let len_unit = match self.len_unit {
            None => return Err(missing("len_unit")),
            Some(Lax::Str(s)) => LenUnit::from_wire(&s),
            Some(_) => LenUnit::Chars,
        };
        Ok(CapabilityDescriptor {
            contract_version,
            platform,
            label,
            max_message_length,
            supports_draft_streaming,
            supports_edit,
            supports_threads,
            markdown_dialect,
            len_unit,
            emoji: self
                .emoji
                .and_then(Lax::into_str)
                .unwrap_or_else(|| DEFAULT_EMOJI.to_owned()),
            platform_hint: self
                .platform_hint
                .and_then(Lax::into_str)
                .unwrap_or_default(),
            pii_safe: self.pii_safe,
            media_capabilities: self.media_capabilities,
            supports_context: self.supports_context,
            supports_inchannel_continuable: self.supports_inchannel_continuable,
            supports_block_formatting: self.supports_block_formatting,
            supported_ops: self.supported_ops,
        })
    }
}

impl<'de> Deserialize<'de> for CapabilityDescriptor {
    /// Forward-compatible decode (see the module docs).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        lax::deserialize_finished::<DescriptorWire<'de>, D>(d)
    }
}
