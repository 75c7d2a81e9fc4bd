//! Realistic descriptors for the platforms the reference gateway knows.
//!
//! The values are facts about each platform as the reference describes them
//! (its platform registry's labels, emoji and message limits; Telegram's
//! UTF-16 length counting; each platform's markdown flavour), so a gateway
//! talking to the dev connector splits and formats replies as it would in
//! production. A descriptor set with [`Connector::set_descriptor`] (or the
//! configuration) always wins.
//!
//! [`Connector::set_descriptor`]: crate::Connector::set_descriptor

use relay_core::descriptor::{CapabilityDescriptor, LenUnit};

/// The platforms [`platform_descriptor`] knows, in a stable order.
pub const KNOWN_PLATFORMS: [&str; 6] = [
    "discord", "telegram", "slack", "whatsapp", "signal", "matrix",
];

/// The ops the dev connector implements for every platform.
const OPS: [&str; 5] = ["send", "edit", "typing", "follow_up", "get_chat_info"];

/// One row of facts.
struct Facts {
    label: &'static str,
    emoji: &'static str,
    max: i64,
    dialect: &'static str,
    unit: LenUnit,
    edit: bool,
    threads: bool,
}

fn facts(platform: &str) -> Option<Facts> {
    let f = |label, emoji, max, dialect, unit, edit, threads| Facts {
        label,
        emoji,
        max,
        dialect,
        unit,
        edit,
        threads,
    };
    Some(match platform {
        "discord" => f(
            "Discord",
            "\u{1F3AE}",
            2000,
            "discord",
            LenUnit::Chars,
            true,
            true,
        ),
        "telegram" => f(
            "Telegram",
            "\u{2708}\u{FE0F}",
            4096,
            "markdown_v2",
            LenUnit::Utf16,
            true,
            true,
        ),
        "slack" => f(
            "Slack",
            "\u{1F4BC}",
            39000,
            "slack",
            LenUnit::Chars,
            true,
            true,
        ),
        "whatsapp" => f(
            "WhatsApp",
            "\u{1F4AC}",
            4096,
            "plain",
            LenUnit::Chars,
            false,
            false,
        ),
        "signal" => f(
            "Signal",
            "\u{1F4E1}",
            8000,
            "plain",
            LenUnit::Chars,
            false,
            false,
        ),
        "matrix" => f(
            "Matrix",
            "\u{1F4AC}",
            16000,
            "markdown",
            LenUnit::Chars,
            true,
            true,
        ),
        _ => return None,
    })
}

/// The default descriptor of a known platform (see [`KNOWN_PLATFORMS`]), or
/// `None`. It advertises `send`, `edit` (where the platform edits),
/// `typing`, `follow_up` and `get_chat_info`.
pub fn platform_descriptor(platform: &str) -> Option<CapabilityDescriptor> {
    let f = facts(platform)?;
    let mut d = CapabilityDescriptor::minimal(platform);
    d.label = f.label.to_owned();
    d.emoji = f.emoji.to_owned();
    d.max_message_length = f.max;
    d.markdown_dialect = f.dialect.to_owned();
    d.len_unit = f.unit;
    d.supports_edit = f.edit;
    d.supports_threads = f.threads;
    d.supported_ops = Some(
        OPS.iter()
            .filter(|op| f.edit || **op != "edit")
            .map(|op| (*op).to_owned())
            .collect(),
    );
    Some(d)
}
