//! Why a configuration was refused, and what it warns about.

/// Why a configuration was refused.
///
/// `setting` names where the value came from: the environment variable
/// (`GATEWAY_RELAY_URL`), the config-file key (`gateway.relay_url in the
/// config file`) or the builder method (`RelayConfigBuilder::wake_url`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required setting is absent.
    #[error("{setting} is not set: {hint}")]
    Missing {
        /// The missing setting.
        setting: String,
        /// What to set it to.
        hint: &'static str,
    },
    /// A setting has a value that cannot be used.
    #[error("{setting} has an invalid value {value:?}: {reason}")]
    Invalid {
        /// The setting.
        setting: String,
        /// The value as given (never a secret).
        value: String,
        /// What is wrong and what is expected instead.
        reason: String,
    },
    /// An environment variable's value is not valid UTF-8 (it is never
    /// replaced or guessed at).
    #[error("{setting} is not valid UTF-8; set it to a UTF-8 value")]
    NotUnicode {
        /// The environment variable.
        setting: String,
    },
    /// The config file could not be parsed.
    #[error("the config file is not valid YAML: {detail}")]
    File {
        /// What the YAML parser reported.
        detail: String,
    },
}

/// A configuration problem that does not stop the gateway, for the caller to
/// log.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigWarning {
    /// `GATEWAY_RELAY_BOT_IDS` is not a JSON object: every bot id is empty.
    #[error(
        "GATEWAY_RELAY_BOT_IDS is not a JSON object of {{\"<platform>\": {{\"botId\": \"...\"}}}} ({detail}); every bot id is empty"
    )]
    MalformedBotIds {
        /// What was wrong with it.
        detail: String,
    },
    /// One platform's entry in `GATEWAY_RELAY_BOT_IDS` has no usable
    /// `botId`: that platform's bot id is empty.
    #[error(
        "GATEWAY_RELAY_BOT_IDS entry for {platform:?} is not {{\"botId\": \"<string>\"}}; its bot id is empty"
    )]
    MalformedBotIdEntry {
        /// The platform concerned.
        platform: String,
    },
    /// `GATEWAY_RELAY_DISPLAY_NAME` is longer than 64 characters: the first
    /// 64 are used.
    #[error("GATEWAY_RELAY_DISPLAY_NAME has {chars} characters; the first 64 are declared")]
    DisplayNameTruncated {
        /// Its length, in characters.
        chars: usize,
    },
    /// A command of the configured `command_manifest` breaks a rule: it is
    /// dropped, the others are kept.
    #[error("command_manifest for {platform:?}: {reason}; that command is left out")]
    ManifestEntryDropped {
        /// The platform whose manifest held it.
        platform: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A `command_manifest` is configured for a platform the gateway does
    /// not front: no hello carries it.
    #[error(
        "command_manifest is set for {platform:?}, which is not a fronted platform (GATEWAY_RELAY_PLATFORMS); it is never sent"
    )]
    ManifestPlatformNotFronted {
        /// The platform.
        platform: String,
    },
    /// `GATEWAY_RELAY_BOT_IDS` is set but `GATEWAY_RELAY_PLATFORMS` is not.
    #[error(
        "GATEWAY_RELAY_BOT_IDS is set but GATEWAY_RELAY_PLATFORMS is not, so it is ignored; list the platforms to front"
    )]
    BotIdsWithoutPlatforms,
}
