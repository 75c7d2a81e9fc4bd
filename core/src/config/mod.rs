//! Gateway configuration: identities, credentials, URLs and timeouts.
//!
//! A [`RelayConfig`] is built in code with [`RelayConfig::builder`], or read
//! from the environment with [`RelayConfig::from_env`] (and the testable
//! [`RelayConfig::from_env_map`] / [`RelayConfig::from_vars`]), or, with the
//! `yaml` cargo feature, from the `gateway.*` keys of a `config.yaml`
//! (environment values win over the file).
//!
//! # Environment variables
//!
//! The reference's variables (docs/protocol.md, "Roles and transport" and "HTTP calls to the connector"):
//!
//! | variable | meaning |
//! | --- | --- |
//! | `GATEWAY_RELAY_URL` | base connector URL (required); trimmed, one trailing `/` removed |
//! | `GATEWAY_RELAY_ID` | gateway id |
//! | `GATEWAY_RELAY_SECRET` | per-gateway secret |
//! | `GATEWAY_RELAY_DELIVERY_KEY` | delivery key |
//! | `GATEWAY_RELAY_ENDPOINT` | legacy inbound endpoint, trailing `/` removed |
//! | `GATEWAY_RELAY_ROUTE_KEYS` | comma list, items trimmed, empty items dropped |
//! | `GATEWAY_RELAY_INSTANCE_ID` | instance id, trimmed |
//! | `GATEWAY_RELAY_WAKE_URL` | wake URL, trailing `/` removed |
//! | `GATEWAY_RELAY_PLATFORMS` | comma list of fronted platforms, in hello order |
//! | `GATEWAY_RELAY_BOT_IDS` | JSON map `{"<platform>": {"botId": "..."}}`; malformed gives empty bot ids and a [`ConfigWarning`] |
//! | `GATEWAY_RELAY_IDP_TOKEN_URL`, `_IDP_CLIENT_ID`, `_IDP_CLIENT_SECRET`, `_IDP_SCOPE` | OAuth2 client-credentials identity provider |
//! | `GATEWAY_RELAY_IDP_TOKEN_URL` alone | an ambient token endpoint: a plain `GET` answers the identity token |
//! | `GATEWAY_RELAY_ENROLL_TOKEN` | enrollment token for `POST /relay/enroll` |
//! | `GATEWAY_RELAY_DISPLAY_NAME` | the name provisioning declares (`displayName`); trimmed, cut to 64 characters (with a [`ConfigWarning`]) |
//!
//! relay-rs knobs (all optional; durations are decimal seconds such as `30`
//! or `0.5`, millisecond precision):
//!
//! | variable | field | default |
//! | --- | --- | --- |
//! | `GATEWAY_RELAY_RS_HANDSHAKE_TIMEOUT_SECS` | [`Timeouts::handshake`] | 30 |
//! | `GATEWAY_RELAY_RS_REQUEST_TIMEOUT_SECS` | [`Timeouts::request`] | 30 |
//! | `GATEWAY_RELAY_RS_IDLE_ACK_TIMEOUT_SECS` | [`Timeouts::idle_ack`] | 10 |
//! | `GATEWAY_RELAY_RS_KEEPALIVE_INTERVAL_SECS` | [`Timeouts::keepalive_interval`] | 30 |
//! | `GATEWAY_RELAY_RS_PONG_TIMEOUT_SECS` | [`Timeouts::pong_timeout`] | 60 |
//! | `GATEWAY_RELAY_RS_STABLE_AFTER_SECS` | [`Timeouts::stable_after`] | 60 |
//! | `GATEWAY_RELAY_RS_BACKOFF_INITIAL_SECS` | [`Timeouts::backoff_initial`] | 1 |
//! | `GATEWAY_RELAY_RS_BACKOFF_MAX_SECS` | [`Timeouts::backoff_max`] | 30 |
//! | `GATEWAY_RELAY_RS_DORMANT_REDIAL_SECS` | [`Timeouts::dormant_redial`] (`0` = off; set means [`IdleMode::Dormant`] unless the mode is set) | 1 when dormant |
//! | `GATEWAY_RELAY_RS_IDLE_MODE` | [`RelayConfig::idle_mode`]: `keep`, `close` or `dormant` | `dormant` without a wake URL, `close` with one |
//! | `GATEWAY_RELAY_RS_TOKEN_TTL_SECS` | [`Timeouts::token_ttl_secs`] (whole seconds, at least 1) | 300 |
//! | `GATEWAY_RELAY_RS_REVOCATION` | [`RelayConfig::revocation_policy`]: `confirm-once` or `immediate` | `confirm-once` |
//! | `GATEWAY_RELAY_RS_MAX_FRAME_BYTES` | [`Limits::max_frame_bytes`] | 1048576 |
//! | `GATEWAY_RELAY_RS_WRITE_GUILD_ID` | [`RelayConfig::write_guild_id`]: `true`/`false` | `true` |
//! | `GATEWAY_RELAY_RS_POLICY` | [`RelayConfig::relevance`]: JSON `{"<platform>": {"require_mention": bool, "free_response_channels": [..], "allow_bots": "mentions"}}` (unknown keys refused) | none |
//! | `GATEWAY_RELAY_RS_ALLOW_UNAUTHENTICATED` | [`RelayConfig::allow_unauthenticated`]: `1`/`true`/`yes` to dial without credentials | off |
//! | `GATEWAY_RELAY_RS_SHUTDOWN_DRAIN_SECS` | [`Timeouts::shutdown_drain`] (`0` = close at once) | 5 |
//! | `GATEWAY_RELAY_RS_REDIAL_HOLD_MAX_SECS` | [`Timeouts::redial_hold_max`] | 60 |
//! | `GATEWAY_RELAY_RS_REPLAY_WINDOW` | [`Limits::replay_window`] (`0` = off) | 512 |
//! | `GATEWAY_RELAY_RS_SLACK_COMMANDS` | [`RelayConfig::slack_commands`]: comma list of `word` (→ `/word`) or `word=command` (→ `/command`), replacing the default set | the gateway's commands, `compact=compress` |
//! | `GATEWAY_RELAY_RS_COMMAND_MANIFEST_FILE` | [`RelayConfig::command_manifests`]: a JSON file `{"<platform>": [{"name", "description", "options"?}]}` (see [`manifest`]) | none |
//!
//! A variable set to an empty or all-whitespace value counts as unset. A
//! value that is not valid UTF-8 is refused ([`ConfigError::NotUnicode`]),
//! never silently altered.
//!
//! # Credentials
//!
//! `GATEWAY_RELAY_ID` and `GATEWAY_RELAY_SECRET` are required: a missing or
//! empty one is a [`ConfigError::Missing`] naming it. A gateway that must dial
//! a connector with authentication turned off (a development connector) says
//! so explicitly, with `GATEWAY_RELAY_RS_ALLOW_UNAUTHENTICATED=1` or
//! [`RelayConfigBuilder::allow_unauthenticated`]; credentials that are set are
//! still used.
//!
//! # The relay URL
//!
//! `GATEWAY_RELAY_URL` is parsed once, at configuration time, with the `url`
//! crate (WHATWG rules: IDNA for non-ASCII hosts, ports in `0..=65535`) into a
//! [`DialTarget`], the scheme, ASCII host, port and path the drivers dial as
//! is. A port that does not parse, a host that cannot be converted, user
//! info or a fragment is a [`ConfigError::Invalid`] naming the variable. The
//! HTTP URLs (provision, policy, enroll) derive from the same parse.

mod builder;
mod check;
mod env;
mod error;
pub mod manifest;
mod relay_url;
mod relevance;
mod settings;
mod types;
#[cfg(feature = "yaml")]
mod yaml;

pub use builder::RelayConfigBuilder;
pub use error::{ConfigError, ConfigWarning};
pub use relay_url::{
    DialScheme, DialTarget, UrlError, dial_url, enroll_url, http_base_url, media_url, policy_url,
    provision_url,
};
pub use relevance::RelevanceSettings;
pub(crate) use relevance::{scopes, truthy};
pub use types::{
    DEFAULT_DORMANT_REDIAL, DEFAULT_REDIAL_HOLD_MAX, DEFAULT_SHUTDOWN_DRAIN, IdleMode, IdpConfig,
    Limits, PlatformIdentity, RelayConfig, RevocationPolicy, Timeouts,
};
