//! The slash-command manifest a gateway declares in a platform's `hello`
//! (`command_manifest`, for Discord): read from configuration and checked
//! entry by entry.
//!
//! A manifest is a JSON (or YAML) object mapping a platform to its list of
//! commands, each `{"name", "description", "options"?}` with Discord's
//! option objects passed through verbatim:
//!
//! ```json
//! {"discord": [{"name": "new", "description": "Start a new conversation"},
//!              {"name": "model", "description": "Show or change the model",
//!               "options": [{"type": 3, "name": "name", "description": "Model name", "required": false}]}]}
//! ```
//!
//! Loaded from the environment or a config file, an entry that breaks a
//! rule below is dropped with a [`ConfigWarning`] naming it (the connector
//! does the same; one bad entry never costs the others); a manifest that
//! is not such an object, or a file that cannot be read or is larger than
//! [`MAX_MANIFEST_BYTES`], is a [`ConfigError`]. Built in code
//! ([`RelayConfigBuilder::command_manifest`](super::RelayConfigBuilder::command_manifest)),
//! a bad entry is a [`ConfigError`].
//!
//! The rules: a name matches `[a-z0-9_-]{1,32}` and is not used twice; a
//! description has 1 to 100 characters; `options`, when present, is an
//! array of at most 25 objects; at most 100 commands per platform.

use std::collections::BTreeMap;
use std::io::Read;

use serde_json::Value;

use super::error::{ConfigError, ConfigWarning};
use crate::wire::ManifestCommand;

/// The largest manifest file read (bytes).
pub const MAX_MANIFEST_BYTES: u64 = 256 * 1024;

/// Most commands kept per platform.
pub const MAX_MANIFEST_COMMANDS: usize = 100;

/// Most options per command.
pub const MAX_COMMAND_OPTIONS: usize = 25;

/// Longest command description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 100;

/// Why one command cannot be declared, or `None` when it can.
pub(crate) fn command_problem(c: &ManifestCommand) -> Option<String> {
    let name_ok = (1..=32).contains(&c.name.len())
        && c.name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !name_ok {
        return Some(format!(
            "the name {:?} does not match [a-z0-9_-]{{1,32}}",
            c.name
        ));
    }
    let chars = c.description.chars().count();
    if !(1..=MAX_DESCRIPTION_CHARS).contains(&chars) {
        return Some(format!(
            "the description of {:?} has {chars} characters (1 to {MAX_DESCRIPTION_CHARS})",
            c.name
        ));
    }
    match &c.options {
        None => None,
        Some(Value::Array(options))
            if options.len() <= MAX_COMMAND_OPTIONS && options.iter().all(Value::is_object) =>
        {
            None
        }
        Some(_) => Some(format!(
            "the options of {:?} are not an array of at most {MAX_COMMAND_OPTIONS} objects",
            c.name
        )),
    }
}

/// Checks a manifest built in code: the first bad command is an error.
pub(crate) fn check_manifest(
    platform: &str,
    commands: &[ManifestCommand],
    setting: &str,
) -> Result<(), ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        setting: setting.to_owned(),
        value: platform.to_owned(),
        reason,
    };
    if platform.trim().is_empty() {
        return Err(invalid("the platform name is empty".to_owned()));
    }
    if commands.len() > MAX_MANIFEST_COMMANDS {
        return Err(invalid(format!(
            "{} commands; at most {MAX_MANIFEST_COMMANDS}",
            commands.len()
        )));
    }
    for (i, c) in commands.iter().enumerate() {
        if let Some(problem) = command_problem(c) {
            return Err(invalid(problem));
        }
        if commands
            .get(..i)
            .unwrap_or_default()
            .iter()
            .any(|o| o.name == c.name)
        {
            return Err(invalid(format!("the name {:?} is used twice", c.name)));
        }
    }
    Ok(())
}

/// Reads a manifest object (`{platform: [command, ...]}`), dropping the
/// commands that break a rule with a warning each. `source` names where it
/// came from, for messages.
pub(crate) fn parse_manifest(
    value: &Value,
    source: &str,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<BTreeMap<String, Vec<ManifestCommand>>, ConfigError> {
    let shape = || {
        ConfigError::Invalid {
        setting: source.to_owned(),
        value: "<manifest>".to_owned(),
        reason: "expected an object mapping a platform to a list of {\"name\", \"description\", \"options\"?} commands".to_owned(),
    }
    };
    let Value::Object(platforms) = value else {
        return Err(shape());
    };
    let mut out = BTreeMap::new();
    for (platform, list) in platforms {
        let Value::Array(entries) = list else {
            return Err(shape());
        };
        let platform = platform.trim();
        if platform.is_empty() {
            return Err(shape());
        }
        let mut drop = |reason: String| {
            warnings.push(ConfigWarning::ManifestEntryDropped {
                platform: platform.to_owned(),
                reason,
            });
        };
        let mut kept: Vec<ManifestCommand> = Vec::new();
        for entry in entries {
            let Some(command) = command_of(entry) else {
                drop(
                    "an entry is not {\"name\": string, \"description\": string, \"options\"?}"
                        .to_owned(),
                );
                continue;
            };
            if let Some(problem) = command_problem(&command) {
                drop(problem);
            } else if kept.iter().any(|k| k.name == command.name) {
                drop(format!("the name {:?} is used twice", command.name));
            } else if kept.len() >= MAX_MANIFEST_COMMANDS {
                drop(format!(
                    "{:?} is beyond the {MAX_MANIFEST_COMMANDS} commands allowed",
                    command.name
                ));
            } else {
                kept.push(command);
            }
        }
        out.insert(platform.to_owned(), kept);
    }
    Ok(out)
}

/// One entry as a command, if it has the right shape.
fn command_of(entry: &Value) -> Option<ManifestCommand> {
    let Value::Object(m) = entry else {
        return None;
    };
    let text = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
    Some(ManifestCommand {
        name: text("name")?,
        description: text("description")?,
        options: m.get("options").filter(|v| !v.is_null()).cloned(),
    })
}

/// Reads the manifest file at `path`, bounded by [`MAX_MANIFEST_BYTES`].
pub(crate) fn read_manifest_file(path: &str, setting: &str) -> Result<Value, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        setting: setting.to_owned(),
        value: path.to_owned(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| invalid(format!("cannot be read: {e}")))?;
    let mut bytes = Vec::new();
    file.take(MAX_MANIFEST_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| invalid(format!("cannot be read: {e}")))?;
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(invalid(format!(
            "holds more than {MAX_MANIFEST_BYTES} bytes"
        )));
    }
    serde_json::from_slice(&bytes).map_err(|e| invalid(format!("is not JSON: {e}")))
}
