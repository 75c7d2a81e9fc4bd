//! The configuration's types: [`RelayConfig`] and what it holds.

use core::fmt;
use core::time::Duration;
use std::collections::BTreeMap;

use super::relevance::RelevanceSettings;

use crate::message::default_slack_commands;
use crate::redact::{REDACTED, redacted};
use crate::wire::DEFAULT_MAX_FRAME_BYTES;
use crate::wire::ManifestCommand;

/// One platform identity the gateway fronts (one `hello` each).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlatformIdentity {
    /// Platform name, e.g. `discord`.
    pub platform: String,
    /// Bot id on that platform (may be empty).
    pub bot_id: String,
}

impl PlatformIdentity {
    /// An identity.
    pub fn new(platform: impl Into<String>, bot_id: impl Into<String>) -> Self {
        PlatformIdentity {
            platform: platform.into(),
            bot_id: bot_id.into(),
        }
    }
}

/// What a 4401 after a handshake means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RevocationPolicy {
    /// Re-dial once at once with a fresh token; revoke if that is refused too.
    #[default]
    ConfirmOnce,
    /// Revoke on the first 4401 after a handshake.
    Immediate,
}

/// What the gateway does once the connector acknowledged `going_idle`.
///
/// The reference offers two of these (`go_idle()` keeps the socket,
/// `go_dormant()` closes it and re-dials on a fixed cadence); relay-rs adds a
/// third that waits for [`wake`](crate::Connection::wake).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IdleMode {
    /// Keep the socket open (keepalive included) while the connector buffers;
    /// the buffer drains on the next handshake: after `wake()` (close 1000
    /// and re-dial at once) or after the connector drops the socket (the
    /// ordinary reconnect rules).
    Keep,
    /// Close with 1000 and re-dial only on `wake()` (for a gateway whose wake
    /// URL the connector pokes).
    Close,
    /// Close with 1000 and re-dial by itself every
    /// [`Timeouts::dormant_redial`] (default [`DEFAULT_DORMANT_REDIAL`], no
    /// jitter), so a machine resumed from suspension reconnects on its own.
    Dormant,
}

impl IdleMode {
    /// The name used by `GATEWAY_RELAY_RS_IDLE_MODE` and the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            IdleMode::Keep => "keep",
            IdleMode::Close => "close",
            IdleMode::Dormant => "dormant",
        }
    }

    /// Parses `keep`, `close` or `dormant` (ASCII case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "keep" => Some(IdleMode::Keep),
            "close" => Some(IdleMode::Close),
            "dormant" => Some(IdleMode::Dormant),
            _ => None,
        }
    }
}

/// The dormant re-dial cadence when none is configured (the reference's 1 s).
pub const DEFAULT_DORMANT_REDIAL: Duration = Duration::from_secs(1);

/// [`Timeouts::shutdown_drain`] when none is configured (the reference's
/// grace, before its own teardown reserve).
pub const DEFAULT_SHUTDOWN_DRAIN: Duration = Duration::from_secs(5);

/// [`Timeouts::redial_hold_max`] when none is configured (the reference's
/// cap).
pub const DEFAULT_REDIAL_HOLD_MAX: Duration = Duration::from_secs(60);

/// Timers of the connection (docs/protocol.md).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Wait for the first descriptor after the socket opens (30 s).
    pub handshake: Duration,
    /// Wait for an `outbound_result` (30 s).
    pub request: Duration,
    /// Wait for `going_idle_ack` (10 s).
    pub idle_ack: Duration,
    /// Ping interval (30 s).
    pub keepalive_interval: Duration,
    /// No pong within this after a ping is an abnormal close (60 s).
    pub pong_timeout: Duration,
    /// A connection serving this long resets the backoff ladder (60 s).
    pub stable_after: Duration,
    /// First backoff step (1 s).
    pub backoff_initial: Duration,
    /// Backoff cap (30 s).
    pub backoff_max: Duration,
    /// Re-dial cadence of [`IdleMode::Dormant`] (`None`: the default,
    /// [`DEFAULT_DORMANT_REDIAL`]). Setting it also selects `Dormant` when
    /// [`RelayConfig::idle_mode`] is unset.
    pub dormant_redial: Option<Duration>,
    /// Upgrade token lifetime in seconds (300).
    pub token_ttl_secs: u64,
    /// How long a shutdown waits for the results of requests already
    /// written before it closes (5 s; zero closes at once). A shutdown with
    /// nothing in flight closes at once.
    pub shutdown_drain: Duration,
    /// The longest a re-dial waits while held
    /// ([`Connection::hold_redial`](crate::Connection::hold_redial)), from
    /// when it became due (60 s).
    pub redial_hold_max: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            handshake: Duration::from_secs(30),
            request: Duration::from_secs(30),
            idle_ack: Duration::from_secs(10),
            keepalive_interval: Duration::from_secs(30),
            pong_timeout: Duration::from_secs(60),
            stable_after: Duration::from_secs(60),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
            dormant_redial: None,
            token_ttl_secs: 300,
            shutdown_drain: DEFAULT_SHUTDOWN_DRAIN,
            redial_hold_max: DEFAULT_REDIAL_HOLD_MAX,
        }
    }
}

/// Bounds on memory the connection keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest accepted NDJSON line (1 MiB).
    pub max_frame_bytes: usize,
    /// How many *acknowledged* `bufferId`s are remembered, so a redelivery
    /// of an item whose ack was lost is re-acked rather than handed over
    /// again (4096; the oldest ack is forgotten first). Deliveries the
    /// application still holds are never forgotten: see
    /// [`Limits::max_unacked_deliveries`].
    pub dedupe_window: usize,
    /// Most buffered deliveries handed to the application and not yet acked
    /// (with acks waiting for a socket) at once (131,072). A new buffered
    /// delivery beyond it is neither handed over nor acked: the connection
    /// is closed with 1013 (try again later) and the connector redelivers it
    /// after the reconnect. So, at any bound, nothing is handed over twice
    /// and nothing is lost.
    pub max_unacked_deliveries: usize,
    /// How many chats' scope/platform are remembered (10,000).
    pub scope_memory: usize,
    /// Most requests in flight at once (refused beyond).
    pub max_pending_requests: usize,
    /// How many identities (platform, chat id, message id) of inbound
    /// messages handed to the application are remembered, so that the
    /// connector replaying one of them is not handed over again (512, the
    /// oldest forgotten first; 0 turns it off).
    pub replay_window: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            dedupe_window: 4096,
            max_unacked_deliveries: 131_072,
            scope_memory: 10_000,
            max_pending_requests: 65_536,
            replay_window: 512,
        }
    }
}

/// Everything a gateway needs to run a relay link.
///
/// Its `Debug` output redacts the secret, the delivery key, the enrollment
/// token and the identity provider's client secret.
#[derive(Clone, PartialEq, Eq)]
pub struct RelayConfig {
    /// Base relay URL as configured (`GATEWAY_RELAY_URL`).
    pub relay_url: String,
    /// Fronted identities in hello order; empty means one `relay` hello.
    pub identities: Vec<PlatformIdentity>,
    /// Gateway id (`GATEWAY_RELAY_ID`).
    pub gateway_id: Option<String>,
    /// Per-gateway secret (`GATEWAY_RELAY_SECRET`).
    pub secret: Option<String>,
    /// Delivery key (`GATEWAY_RELAY_DELIVERY_KEY`).
    pub delivery_key: Option<String>,
    /// Legacy inbound endpoint (`GATEWAY_RELAY_ENDPOINT`).
    pub endpoint: Option<String>,
    /// Route keys (`GATEWAY_RELAY_ROUTE_KEYS`).
    pub route_keys: Vec<String>,
    /// Instance id (`GATEWAY_RELAY_INSTANCE_ID`).
    pub instance_id: Option<String>,
    /// Wake URL (`GATEWAY_RELAY_WAKE_URL`).
    pub wake_url: Option<String>,
    /// Timers.
    pub timeouts: Timeouts,
    /// Memory bounds.
    pub limits: Limits,
    /// What a 4401 after a handshake means.
    pub revocation_policy: RevocationPolicy,
    /// Also write the learned scope as `metadata.guild_id` (for old connectors).
    pub write_guild_id: bool,
    /// What `go_idle` does after the ack (`None`: see
    /// [`RelayConfig::effective_idle_mode`]).
    pub idle_mode: Option<IdleMode>,
    /// OAuth2 client-credentials identity provider for provision / enroll
    /// (`GATEWAY_RELAY_IDP_*`); `None` means the caller supplies the
    /// identity token some other way. Boxed: a connection keeps its
    /// configuration and never reads this, so it costs a word there.
    pub idp: Option<Box<IdpConfig>>,
    /// Enrollment token (`GATEWAY_RELAY_ENROLL_TOKEN`).
    pub enroll_token: Option<String>,
    /// The name provisioning declares for this gateway (`displayName`;
    /// `GATEWAY_RELAY_DISPLAY_NAME`, trimmed, at most 64 characters).
    pub display_name: Option<String>,
    /// Relevance settings per platform (`GATEWAY_RELAY_RS_POLICY`), declared
    /// to the connector as relevance policies (see
    /// [`relevance_policies`](crate::calls::relevance_policies)).
    pub relevance: BTreeMap<String, RelevanceSettings>,
    /// The slash-command manifest sent in each platform's `hello`
    /// (`command_manifest`, after `botId`), by platform; see
    /// [`config::manifest`](super::manifest) for its rules. Empty: no hello
    /// carries one.
    pub command_manifests: BTreeMap<String, Vec<ManifestCommand>>,
    /// The words after Slack's `/hermes` and the commands they stand for
    /// (`None`: [`default_slack_commands`]);
    /// see [`normalize_slack_command`](crate::message::normalize_slack_command).
    pub slack_commands: Option<BTreeMap<String, String>>,
    /// Dial without credentials when the gateway id or secret is unset
    /// (`GATEWAY_RELAY_RS_ALLOW_UNAUTHENTICATED`,
    /// [`RelayConfigBuilder::allow_unauthenticated`](super::RelayConfigBuilder::allow_unauthenticated)). Without it, loading or
    /// building a config that lacks either is an error.
    pub allow_unauthenticated: bool,
}

impl fmt::Debug for RelayConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RelayConfig")
            .field("relay_url", &self.relay_url)
            .field("identities", &self.identities)
            .field("gateway_id", &self.gateway_id)
            .field("secret", &redacted(&self.secret))
            .field("delivery_key", &redacted(&self.delivery_key))
            .field("endpoint", &self.endpoint)
            .field("route_keys", &self.route_keys)
            .field("instance_id", &self.instance_id)
            .field("wake_url", &self.wake_url)
            .field("timeouts", &self.timeouts)
            .field("limits", &self.limits)
            .field("revocation_policy", &self.revocation_policy)
            .field("write_guild_id", &self.write_guild_id)
            .field("idle_mode", &self.idle_mode)
            .field("idp", &self.idp)
            .field("enroll_token", &redacted(&self.enroll_token))
            .field("display_name", &self.display_name)
            .field("relevance", &self.relevance)
            .field("command_manifests", &self.command_manifests)
            .field("slack_commands", &self.slack_commands)
            .field("allow_unauthenticated", &self.allow_unauthenticated)
            .finish()
    }
}

/// Where the identity token (the bearer of provision and enroll) comes
/// from (docs/protocol.md, "HTTP calls to the connector"). Its `Debug` output redacts the client
/// secret.
///
/// With a client id and a client secret, the token URL is an OAuth2
/// `client_credentials` grant (a form `POST`). With neither (both empty:
/// [`IdpConfig::ambient`]), it is an ambient token endpoint, such as a
/// metadata server: a plain `GET` whose body is the token, raw or as
/// `{"access_token": ...}`. Exactly one of the two is a configuration error.
#[derive(Clone, PartialEq, Eq)]
pub struct IdpConfig {
    /// Token endpoint (`GATEWAY_RELAY_IDP_TOKEN_URL`).
    pub token_url: String,
    /// Client id (`GATEWAY_RELAY_IDP_CLIENT_ID`); empty for an ambient
    /// endpoint.
    pub client_id: String,
    /// Client secret (`GATEWAY_RELAY_IDP_CLIENT_SECRET`); empty for an
    /// ambient endpoint.
    pub client_secret: String,
    /// Optional scope (`GATEWAY_RELAY_IDP_SCOPE`; client credentials only).
    pub scope: Option<String>,
}

impl IdpConfig {
    /// An OAuth2 `client_credentials` identity provider.
    pub fn client_credentials(
        token_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        IdpConfig {
            token_url: token_url.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            scope: None,
        }
    }

    /// An ambient token endpoint: a plain `GET` of `token_url` answers the
    /// token.
    pub fn ambient(token_url: impl Into<String>) -> Self {
        IdpConfig {
            token_url: token_url.into(),
            client_id: String::new(),
            client_secret: String::new(),
            scope: None,
        }
    }

    /// Whether the token URL is an ambient endpoint (neither client id nor
    /// client secret).
    pub fn is_ambient(&self) -> bool {
        self.client_id.trim().is_empty() && self.client_secret.is_empty()
    }

    /// The client secret, when one is set.
    pub fn client_secret(&self) -> Option<&str> {
        (!self.client_secret.is_empty()).then_some(self.client_secret.as_str())
    }
}

impl fmt::Debug for IdpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdpConfig")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret().map(|_| REDACTED))
            .field("scope", &self.scope)
            .finish()
    }
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            relay_url: String::new(),
            identities: Vec::new(),
            gateway_id: None,
            secret: None,
            delivery_key: None,
            endpoint: None,
            route_keys: Vec::new(),
            instance_id: None,
            wake_url: None,
            timeouts: Timeouts::default(),
            limits: Limits::default(),
            revocation_policy: RevocationPolicy::default(),
            write_guild_id: true,
            idle_mode: None,
            idp: None,
            enroll_token: None,
            display_name: None,
            relevance: BTreeMap::new(),
            command_manifests: BTreeMap::new(),
            slack_commands: None,
            allow_unauthenticated: false,
        }
    }
}

impl RelayConfig {
    /// A config dialing `relay_url` with default everything else.
    pub fn new(relay_url: impl Into<String>) -> Self {
        RelayConfig {
            relay_url: relay_url.into(),
            ..Default::default()
        }
    }

    /// The identities to hello, in order (one `relay` identity when none).
    pub fn hello_identities(&self) -> Vec<PlatformIdentity> {
        (0..self.hello_count())
            .filter_map(|i| self.hello(i))
            .map(|(platform, bot_id)| PlatformIdentity::new(platform, bot_id))
            .collect()
    }

    /// How many identities are helloed: one per configured identity, or the
    /// one `relay` identity when none is configured.
    pub(crate) fn hello_count(&self) -> usize {
        self.identities.len().max(1)
    }

    /// Platform and bot id of hello `i` (see
    /// [`hello_identities`](Self::hello_identities)), borrowed.
    pub(crate) fn hello(&self, i: usize) -> Option<(&str, &str)> {
        match self.identities.get(i) {
            Some(id) => Some((id.platform.as_str(), id.bot_id.as_str())),
            None if i == 0 && self.identities.is_empty() => Some(("relay", "")),
            None => None,
        }
    }

    /// The idle mode `go_idle` uses: [`RelayConfig::idle_mode`] when set;
    /// else [`IdleMode::Dormant`] when a dormant cadence is set; else
    /// [`IdleMode::Close`] when a wake URL is configured (the connector's
    /// poke wakes us); else [`IdleMode::Dormant`], so that a buffer is never
    /// stranded for want of a wake.
    pub fn effective_idle_mode(&self) -> IdleMode {
        match (self.idle_mode, self.timeouts.dormant_redial, &self.wake_url) {
            (Some(mode), _, _) => mode,
            (None, Some(_), _) => IdleMode::Dormant,
            (None, None, Some(url)) if !url.trim().is_empty() => IdleMode::Close,
            (None, None, _) => IdleMode::Dormant,
        }
    }

    /// The re-dial cadence of [`IdleMode::Dormant`].
    pub fn dormant_redial_every(&self) -> Duration {
        self.timeouts
            .dormant_redial
            .filter(|d| !d.is_zero())
            .unwrap_or(DEFAULT_DORMANT_REDIAL)
    }

    /// The Slack `/hermes` words in effect: [`RelayConfig::slack_commands`],
    /// else the default set.
    pub fn slack_commands(&self) -> BTreeMap<String, String> {
        self.slack_commands
            .clone()
            .unwrap_or_else(default_slack_commands)
    }

    /// Gateway id and secret, when both are set (then every dial is authenticated).
    pub fn credentials(&self) -> Option<(&str, &str)> {
        match (self.gateway_id.as_deref(), self.secret.as_deref()) {
            (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => Some((id, secret)),
            _ => None,
        }
    }
}
