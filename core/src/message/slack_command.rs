//! Slack's `/hermes <command> …`: Slack gives an app one slash command, so
//! the gateway's commands arrive as words after it. The text of a Slack
//! inbound message is rewritten into the gateway command it names, as a
//! native Slack gateway does.

use std::collections::BTreeMap;

use super::types::MessageType;

/// The slash command Slack delivers the gateway's commands under.
pub const SLACK_PARENT_COMMAND: &str = "/hermes";

/// The gateway's command names (those a Hermes gateway registers as
/// Discord slash commands), the default set `/hermes <name>` maps to
/// `/<name>`.
pub const GATEWAY_COMMANDS: [&str; 28] = [
    "new",
    "reset",
    "model",
    "reasoning",
    "personality",
    "retry",
    "undo",
    "status",
    "sethome",
    "stop",
    "steer",
    "compress",
    "title",
    "resume",
    "usage",
    "help",
    "insights",
    "reload-mcp",
    "reload-skills",
    "voice",
    "update",
    "restart",
    "approve",
    "deny",
    "thread",
    "queue",
    "bg",
    "btw",
];

/// Aliases of the default set: `/hermes compact` is `/compress`.
pub const GATEWAY_COMMAND_ALIASES: [(&str, &str); 1] = [("compact", "compress")];

/// The default map from a word after `/hermes` to the command it stands
/// for: every [`GATEWAY_COMMANDS`] name to itself, and
/// [`GATEWAY_COMMAND_ALIASES`].
pub fn default_slack_commands() -> BTreeMap<String, String> {
    GATEWAY_COMMANDS
        .iter()
        .map(|n| (*n, *n))
        .chain(GATEWAY_COMMAND_ALIASES)
        .map(|(word, command)| (word.to_owned(), format!("/{command}")))
        .collect()
}

/// [`default_slack_commands`], built once per process and shared by every
/// connection that keeps the default set (a copy per connection would cost
/// every idle client about 2.5 KB).
pub(crate) fn shared_default_slack_commands() -> &'static BTreeMap<String, String> {
    static DEFAULT: std::sync::LazyLock<BTreeMap<String, String>> =
        std::sync::LazyLock::new(default_slack_commands);
    &DEFAULT
}

/// The rewritten text and type of a Slack message whose text starts with
/// `/hermes` (after leading whitespace), or `None` when it does not (the
/// message is then left as it is).
///
/// The words after `/hermes` are the payload. When its first word is in
/// `commands` (word → `/command`), the text becomes `/command rest`; else
/// the payload itself, or `/help` when there is none. The type is
/// [`MessageType::Command`] when the new text starts with `/`, else
/// [`MessageType::Text`].
///
/// ```
/// use relay_core::message::{MessageType, default_slack_commands, normalize_slack_command};
///
/// let commands = default_slack_commands();
/// assert_eq!(
///     normalize_slack_command(" /hermes compact  now ", &commands),
///     Some(("/compress now".to_owned(), MessageType::Command))
/// );
/// assert_eq!(
///     normalize_slack_command("/hermes", &commands),
///     Some(("/help".to_owned(), MessageType::Command))
/// );
/// assert_eq!(
///     normalize_slack_command("/hermes what now", &commands),
///     Some(("what now".to_owned(), MessageType::Text))
/// );
/// assert_eq!(normalize_slack_command("/hermesx", &commands), None);
/// ```
pub fn normalize_slack_command(
    text: &str,
    commands: &BTreeMap<String, String>,
) -> Option<(String, MessageType)> {
    let (first, rest) = split_first_word(text.trim());
    if first != SLACK_PARENT_COMMAND {
        return None;
    }
    let payload = rest.trim();
    let (word, after) = split_first_word(payload);
    let normalized = match commands.get(word) {
        Some(command) if !word.is_empty() => {
            let after = after.trim();
            if after.is_empty() {
                command.trim().to_owned()
            } else {
                format!("{command} {after}").trim().to_owned()
            }
        }
        _ if payload.is_empty() => "/help".to_owned(),
        _ => payload.to_owned(),
    };
    let kind = if normalized.starts_with('/') {
        MessageType::Command
    } else {
        MessageType::Text
    };
    Some((normalized, kind))
}

/// The first whitespace-separated word of `s` (leading whitespace skipped)
/// and what follows it.
fn split_first_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(i) => s.split_at(i),
        None => (s, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(text: &str) -> Option<(String, MessageType)> {
        normalize_slack_command(text, &default_slack_commands())
    }

    #[test]
    fn commands_aliases_and_fallbacks() {
        let cmd = |s: &str| Some((s.to_owned(), MessageType::Command));
        assert_eq!(norm("/hermes new"), cmd("/new"));
        assert_eq!(norm("/hermes model  gpt-x  "), cmd("/model gpt-x"));
        assert_eq!(norm("/hermes reload-mcp"), cmd("/reload-mcp"));
        assert_eq!(norm("\t/hermes\n compact"), cmd("/compress"));
        assert_eq!(norm("/hermes   "), cmd("/help"));
        assert_eq!(norm("/hermes /stop please"), cmd("/stop please"));
        assert_eq!(
            norm("/hermes tell me"),
            Some(("tell me".to_owned(), MessageType::Text))
        );
        assert_eq!(
            norm("/hermes NEW"),
            Some(("NEW".to_owned(), MessageType::Text)),
            "names are matched exactly"
        );
        assert_eq!(norm("hello /hermes new"), None);
        assert_eq!(norm("/hermes-x new"), None);
        assert_eq!(norm(""), None);
    }

    #[test]
    fn a_configured_set_replaces_the_default() {
        let mut commands = BTreeMap::new();
        commands.insert("go".to_owned(), "/start".to_owned());
        assert_eq!(
            normalize_slack_command("/hermes go fast", &commands),
            Some(("/start fast".to_owned(), MessageType::Command))
        );
        assert_eq!(
            normalize_slack_command("/hermes new", &commands),
            Some(("new".to_owned(), MessageType::Text))
        );
    }
}
