//! Every setting the configuration reads, and how each is named in errors:
//! its environment variable, its builder method, its `config.yaml` key.

use super::error::ConfigError;

/// Every setting the loader reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Var {
    Url,
    Id,
    Secret,
    DeliveryKey,
    Endpoint,
    RouteKeys,
    InstanceId,
    WakeUrl,
    Platforms,
    BotIds,
    IdpTokenUrl,
    IdpClientId,
    IdpClientSecret,
    IdpScope,
    EnrollToken,
    HandshakeTimeout,
    RequestTimeout,
    IdleAckTimeout,
    KeepaliveInterval,
    PongTimeout,
    StableAfter,
    BackoffInitial,
    BackoffMax,
    DormantRedial,
    TokenTtl,
    Revocation,
    MaxFrameBytes,
    WriteGuildId,
    IdleMode,
    AllowUnauthenticated,
    DisplayName,
    Policy,
    ShutdownDrain,
    RedialHoldMax,
    ReplayWindow,
    SlackCommands,
    CommandManifest,
}

impl Var {
    /// Every setting.
    pub(super) const ALL: [Var; 37] = [
        Var::Url,
        Var::Id,
        Var::Secret,
        Var::DeliveryKey,
        Var::Endpoint,
        Var::RouteKeys,
        Var::InstanceId,
        Var::WakeUrl,
        Var::Platforms,
        Var::BotIds,
        Var::IdpTokenUrl,
        Var::IdpClientId,
        Var::IdpClientSecret,
        Var::IdpScope,
        Var::EnrollToken,
        Var::HandshakeTimeout,
        Var::RequestTimeout,
        Var::IdleAckTimeout,
        Var::KeepaliveInterval,
        Var::PongTimeout,
        Var::StableAfter,
        Var::BackoffInitial,
        Var::BackoffMax,
        Var::DormantRedial,
        Var::TokenTtl,
        Var::Revocation,
        Var::MaxFrameBytes,
        Var::WriteGuildId,
        Var::IdleMode,
        Var::AllowUnauthenticated,
        Var::DisplayName,
        Var::Policy,
        Var::ShutdownDrain,
        Var::RedialHoldMax,
        Var::ReplayWindow,
        Var::SlackCommands,
        Var::CommandManifest,
    ];

    /// The environment variable.
    pub(super) fn env(self) -> &'static str {
        match self {
            Var::Url => "GATEWAY_RELAY_URL",
            Var::Id => "GATEWAY_RELAY_ID",
            Var::Secret => "GATEWAY_RELAY_SECRET",
            Var::DeliveryKey => "GATEWAY_RELAY_DELIVERY_KEY",
            Var::Endpoint => "GATEWAY_RELAY_ENDPOINT",
            Var::RouteKeys => "GATEWAY_RELAY_ROUTE_KEYS",
            Var::InstanceId => "GATEWAY_RELAY_INSTANCE_ID",
            Var::WakeUrl => "GATEWAY_RELAY_WAKE_URL",
            Var::Platforms => "GATEWAY_RELAY_PLATFORMS",
            Var::BotIds => "GATEWAY_RELAY_BOT_IDS",
            Var::IdpTokenUrl => "GATEWAY_RELAY_IDP_TOKEN_URL",
            Var::IdpClientId => "GATEWAY_RELAY_IDP_CLIENT_ID",
            Var::IdpClientSecret => "GATEWAY_RELAY_IDP_CLIENT_SECRET",
            Var::IdpScope => "GATEWAY_RELAY_IDP_SCOPE",
            Var::EnrollToken => "GATEWAY_RELAY_ENROLL_TOKEN",
            Var::HandshakeTimeout => "GATEWAY_RELAY_RS_HANDSHAKE_TIMEOUT_SECS",
            Var::RequestTimeout => "GATEWAY_RELAY_RS_REQUEST_TIMEOUT_SECS",
            Var::IdleAckTimeout => "GATEWAY_RELAY_RS_IDLE_ACK_TIMEOUT_SECS",
            Var::KeepaliveInterval => "GATEWAY_RELAY_RS_KEEPALIVE_INTERVAL_SECS",
            Var::PongTimeout => "GATEWAY_RELAY_RS_PONG_TIMEOUT_SECS",
            Var::StableAfter => "GATEWAY_RELAY_RS_STABLE_AFTER_SECS",
            Var::BackoffInitial => "GATEWAY_RELAY_RS_BACKOFF_INITIAL_SECS",
            Var::BackoffMax => "GATEWAY_RELAY_RS_BACKOFF_MAX_SECS",
            Var::DormantRedial => "GATEWAY_RELAY_RS_DORMANT_REDIAL_SECS",
            Var::TokenTtl => "GATEWAY_RELAY_RS_TOKEN_TTL_SECS",
            Var::Revocation => "GATEWAY_RELAY_RS_REVOCATION",
            Var::MaxFrameBytes => "GATEWAY_RELAY_RS_MAX_FRAME_BYTES",
            Var::WriteGuildId => "GATEWAY_RELAY_RS_WRITE_GUILD_ID",
            Var::IdleMode => "GATEWAY_RELAY_RS_IDLE_MODE",
            Var::AllowUnauthenticated => "GATEWAY_RELAY_RS_ALLOW_UNAUTHENTICATED",
            Var::DisplayName => "GATEWAY_RELAY_DISPLAY_NAME",
            Var::Policy => "GATEWAY_RELAY_RS_POLICY",
            Var::ShutdownDrain => "GATEWAY_RELAY_RS_SHUTDOWN_DRAIN_SECS",
            Var::RedialHoldMax => "GATEWAY_RELAY_RS_REDIAL_HOLD_MAX_SECS",
            Var::ReplayWindow => "GATEWAY_RELAY_RS_REPLAY_WINDOW",
            Var::SlackCommands => "GATEWAY_RELAY_RS_SLACK_COMMANDS",
            Var::CommandManifest => "GATEWAY_RELAY_RS_COMMAND_MANIFEST_FILE",
        }
    }

    /// The builder method or field that sets it.
    pub(super) fn builder(self) -> &'static str {
        match self {
            Var::Url => "RelayConfig::builder(relay_url)",
            Var::Id => "RelayConfigBuilder::gateway_id",
            Var::Secret => "RelayConfigBuilder::secret",
            Var::DeliveryKey => "RelayConfigBuilder::delivery_key",
            Var::Endpoint => "RelayConfigBuilder::endpoint",
            Var::RouteKeys => "RelayConfigBuilder::route_keys",
            Var::InstanceId => "RelayConfigBuilder::instance_id",
            Var::WakeUrl => "RelayConfigBuilder::wake_url",
            Var::Platforms | Var::BotIds => "RelayConfigBuilder::identities",
            Var::IdpTokenUrl => "IdpConfig::token_url",
            Var::IdpClientId => "IdpConfig::client_id",
            Var::IdpClientSecret => "IdpConfig::client_secret",
            Var::IdpScope => "IdpConfig::scope",
            Var::EnrollToken => "RelayConfigBuilder::enroll_token",
            Var::HandshakeTimeout => "Timeouts::handshake",
            Var::RequestTimeout => "Timeouts::request",
            Var::IdleAckTimeout => "Timeouts::idle_ack",
            Var::KeepaliveInterval => "Timeouts::keepalive_interval",
            Var::PongTimeout => "Timeouts::pong_timeout",
            Var::StableAfter => "Timeouts::stable_after",
            Var::BackoffInitial => "Timeouts::backoff_initial",
            Var::BackoffMax => "Timeouts::backoff_max",
            Var::DormantRedial => "Timeouts::dormant_redial",
            Var::TokenTtl => "Timeouts::token_ttl_secs",
            Var::Revocation => "RelayConfigBuilder::revocation_policy",
            Var::MaxFrameBytes => "Limits::max_frame_bytes",
            Var::WriteGuildId => "RelayConfigBuilder::write_guild_id",
            Var::IdleMode => "RelayConfigBuilder::idle_mode",
            Var::AllowUnauthenticated => "RelayConfigBuilder::allow_unauthenticated",
            Var::DisplayName => "RelayConfigBuilder::display_name",
            Var::Policy => "RelayConfigBuilder::relevance",
            Var::ShutdownDrain => "RelayConfigBuilder::shutdown_drain",
            Var::RedialHoldMax => "Timeouts::redial_hold_max",
            Var::ReplayWindow => "Limits::replay_window",
            Var::SlackCommands => "RelayConfigBuilder::slack_commands",
            Var::CommandManifest => "RelayConfigBuilder::command_manifest",
        }
    }

    /// The `config.yaml` twin under `gateway.`, if there is one.
    #[cfg_attr(not(feature = "yaml"), allow(dead_code))]
    pub(super) fn yaml_path(self) -> Option<&'static [&'static str]> {
        Some(match self {
            Var::Url => &["relay_url"],
            Var::Id => &["relay_id"],
            Var::Secret => &["relay_secret"],
            Var::Endpoint => &["relay_endpoint"],
            Var::RouteKeys => &["relay_route_keys"],
            Var::InstanceId => &["relay_instance_id"],
            Var::WakeUrl => &["relay_wake_url"],
            Var::IdpTokenUrl => &["idp", "token_url"],
            Var::IdpClientId => &["idp", "client_id"],
            Var::IdpClientSecret => &["idp", "client_secret"],
            Var::IdpScope => &["idp", "scope"],
            Var::ShutdownDrain => &["relay_shutdown_drain_secs"],
            Var::RedialHoldMax => &["relay_redial_hold_max_secs"],
            Var::ReplayWindow => &["relay_replay_window"],
            Var::SlackCommands => &["relay_slack_commands"],
            Var::CommandManifest => &["relay_command_manifest"],
            _ => return None,
        })
    }
}

/// How settings are named in errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Names {
    Env,
    #[cfg_attr(not(feature = "yaml"), allow(dead_code))]
    File,
    Builder,
}

impl Names {
    pub(super) fn name(self, key: Var) -> String {
        match self {
            Names::Env => key.env().to_owned(),
            Names::File => match key.yaml_path() {
                Some(path) => format!("gateway.{} in the config file", path.join(".")),
                None => key.env().to_owned(),
            },
            Names::Builder => key.builder().to_owned(),
        }
    }

    pub(super) fn invalid(self, key: Var, value: &str, reason: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            setting: self.name(key),
            value: value.to_owned(),
            reason: reason.into(),
        }
    }

    pub(super) fn missing(self, key: Var) -> ConfigError {
        let hint = match key {
            Var::Url => "set it to the connector's base URL, e.g. https://connector.example",
            Var::IdpClientId | Var::IdpClientSecret => {
                "the identity provider token URL is set with only one of its client id and client secret; set both for the OAuth2 client-credentials grant, or neither to read the token from the URL as an ambient endpoint (a plain GET)"
            }
            Var::Id | Var::Secret if self == Names::Builder => {
                "set the gateway id and secret the connector issued, or call RelayConfigBuilder::allow_unauthenticated to dial without credentials (a connector with authentication off)"
            }
            Var::Id | Var::Secret => {
                "set the gateway id and secret the connector issued, or set GATEWAY_RELAY_RS_ALLOW_UNAUTHENTICATED=1 to dial without credentials (a connector with authentication off)"
            }
            _ => "set it or remove the settings that depend on it",
        };
        ConfigError::Missing {
            setting: self.name(key),
            hint,
        }
    }
}
