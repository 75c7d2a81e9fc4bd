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
//! The reference's variables (PROTOCOL.md part 2 §3 and §8.1):
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
//! | `GATEWAY_RELAY_ENROLL_TOKEN` | enrollment token for `POST /relay/enroll` |
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
//! | `GATEWAY_RELAY_RS_ALLOW_UNAUTHENTICATED` | [`RelayConfig::allow_unauthenticated`]: `1`/`true`/`yes` to dial without credentials | off |
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

use core::fmt;
use core::time::Duration;
use std::collections::HashMap;
use std::ffi::OsString;

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

/// Timers of the connection (PROTOCOL.md part 1).
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
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: crate::wire::DEFAULT_MAX_FRAME_BYTES,
            dedupe_window: 4096,
            max_unacked_deliveries: 131_072,
            scope_memory: 10_000,
            max_pending_requests: 65_536,
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
    /// identity token some other way.
    pub idp: Option<IdpConfig>,
    /// Enrollment token (`GATEWAY_RELAY_ENROLL_TOKEN`).
    pub enroll_token: Option<String>,
    /// Dial without credentials when the gateway id or secret is unset
    /// (`GATEWAY_RELAY_RS_ALLOW_UNAUTHENTICATED`,
    /// [`RelayConfigBuilder::allow_unauthenticated`]). Without it, loading or
    /// building a config that lacks either is an error.
    pub allow_unauthenticated: bool,
}

/// `"<redacted>"` for a set secret, `None` for an unset one.
fn redacted(v: &Option<String>) -> Option<&'static str> {
    v.as_ref().map(|_| "<redacted>")
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
            .field("allow_unauthenticated", &self.allow_unauthenticated)
            .finish()
    }
}

/// An OAuth2 `client_credentials` identity provider (PROTOCOL.md part 2
/// §8.1). Its `Debug` output redacts the client secret.
#[derive(Clone, PartialEq, Eq)]
pub struct IdpConfig {
    /// Token endpoint (`GATEWAY_RELAY_IDP_TOKEN_URL`).
    pub token_url: String,
    /// Client id (`GATEWAY_RELAY_IDP_CLIENT_ID`).
    pub client_id: String,
    /// Client secret (`GATEWAY_RELAY_IDP_CLIENT_SECRET`).
    pub client_secret: String,
    /// Optional scope (`GATEWAY_RELAY_IDP_SCOPE`).
    pub scope: Option<String>,
}

impl fmt::Debug for IdpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdpConfig")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
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

    /// The WebSocket URL to dial (PROTOCOL.md part 2 §1.2): the
    /// [`DialTarget`]'s URL, or (for a relay URL that does not parse, which
    /// only a config assembled by hand can hold) the textual derivation
    /// [`dial_url`].
    pub fn dial_url(&self) -> String {
        match self.dial_target() {
            Ok(target) => target.url().to_owned(),
            Err(_) => dial_url(&self.relay_url),
        }
    }

    /// The relay URL parsed into what a driver dials. Always `Ok` for a
    /// config from [`RelayConfig::from_env`] (and friends) or
    /// [`RelayConfigBuilder::build`]; a config assembled field by field may
    /// hold a URL that does not parse.
    pub fn dial_target(&self) -> Result<DialTarget, ConfigError> {
        DialTarget::parse(&self.relay_url)
            .map_err(|e| Names::Builder.invalid(Var::Url, &self.relay_url, e.to_string()))
    }

    /// Gateway id and secret, when both are set (then every dial is authenticated).
    pub fn credentials(&self) -> Option<(&str, &str)> {
        match (self.gateway_id.as_deref(), self.secret.as_deref()) {
            (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => Some((id, secret)),
            _ => None,
        }
    }
}

/// Normalizes a base relay URL to the WebSocket dial URL: `https://` →
/// `wss://`, `http://` → `ws://`, trailing `/` stripped, `/relay` appended
/// unless present. Idempotent. A URL that [`DialTarget::parse`] accepts
/// gives that target's URL (ASCII host, explicit non-default port); any
/// other text is transformed as text.
pub fn dial_url(base: &str) -> String {
    if let Ok(target) = DialTarget::parse(base) {
        return target.url().to_owned();
    }
    let s = base.trim();
    let s = if let Some(rest) = s.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = s.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        s.to_owned()
    };
    let s = s.trim_end_matches('/');
    if s.ends_with("/relay") {
        s.to_owned()
    } else {
        format!("{s}/relay")
    }
}

/// The HTTP(S) base of the connector: `ws://` → `http://`, `wss://` →
/// `https://`, surrounding whitespace and trailing `/` removed, then one
/// trailing `/relay` removed (PROTOCOL.md part 2 §8). A URL that
/// [`DialTarget::parse`] accepts gives that target's
/// [`DialTarget::http_base`]; any other text is transformed as text.
pub fn http_base_url(base: &str) -> String {
    if let Ok(target) = DialTarget::parse(base) {
        return target.http_base().to_owned();
    }
    let s = base.trim();
    let s = if let Some(rest) = s.strip_prefix("wss://") {
        format!("https://{rest}")
    } else if let Some(rest) = s.strip_prefix("ws://") {
        format!("http://{rest}")
    } else {
        s.to_owned()
    };
    let s = s.trim_end_matches('/');
    s.strip_suffix("/relay").unwrap_or(s).to_owned()
}

/// `POST` target of self-provisioning: `<http base>/relay/provision`.
pub fn provision_url(base: &str) -> String {
    format!("{}/relay/provision", http_base_url(base))
}

/// `POST` target of the relevance policy: `<http base>/relay/policy`.
pub fn policy_url(base: &str) -> String {
    format!("{}/relay/policy", http_base_url(base))
}

/// `POST` target of enrollment: `<http base>/relay/enroll`.
pub fn enroll_url(base: &str) -> String {
    format!("{}/relay/enroll", http_base_url(base))
}

/// The transport of a [`DialTarget`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DialScheme {
    /// Plain WebSocket (`ws://`, from `ws://` or `http://`).
    Ws,
    /// WebSocket over TLS (`wss://`, from `wss://` or `https://`).
    Wss,
}

impl DialScheme {
    /// `ws` or `wss`.
    pub fn as_str(self) -> &'static str {
        match self {
            DialScheme::Ws => "ws",
            DialScheme::Wss => "wss",
        }
    }

    /// Whether the socket runs over TLS.
    pub fn is_secure(self) -> bool {
        self == DialScheme::Wss
    }

    /// The port used when the URL names none: 80 or 443.
    pub fn default_port(self) -> u16 {
        match self {
            DialScheme::Ws => 80,
            DialScheme::Wss => 443,
        }
    }
}

/// Where a link dials: the relay URL parsed once, at configuration time, by
/// the `url` crate (WHATWG rules), and normalised as PROTOCOL.md part 2 §1.2
/// says (`https` → `wss`, `http` → `ws`, trailing `/` removed, `/relay`
/// appended unless present).
///
/// Drivers use its parts as they are: [`DialTarget::host`] is ASCII (a
/// non-ASCII domain is in its IDNA form, an IPv6 address has no brackets)
/// and [`DialTarget::port`] is the port the URL names, or the scheme's
/// default only when it names none. A driver never has to parse or guess.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DialTarget {
    scheme: DialScheme,
    host: String,
    port: u16,
    path_and_query: String,
    url: String,
    http_base: String,
}

impl DialTarget {
    /// Parses a relay base URL (`GATEWAY_RELAY_URL`): surrounding whitespace
    /// and trailing `/` are ignored; the scheme must be lowercase `ws`,
    /// `wss`, `http` or `https`.
    pub fn parse(relay_url: &str) -> Result<DialTarget, UrlError> {
        let parsed = parse_url(
            relay_url.trim(),
            &["https://", "http://", "wss://", "ws://"],
        )?;
        let scheme = match parsed.url.scheme() {
            "https" | "wss" => DialScheme::Wss,
            _ => DialScheme::Ws,
        };
        let port = parsed.url.port().unwrap_or(scheme.default_port());
        let authority = match parsed.url.port() {
            Some(p) => format!("{}:{p}", parsed.url_host),
            None => parsed.url_host.clone(),
        };
        let path = parsed.url.path().trim_end_matches('/');
        let dial_path = if path.ends_with("/relay") {
            path.to_owned()
        } else {
            format!("{path}/relay")
        };
        let base_path = path.strip_suffix("/relay").unwrap_or(path);
        let query = parsed
            .url
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        let path_and_query = format!("{dial_path}{query}");
        let http_scheme = if scheme.is_secure() { "https" } else { "http" };
        Ok(DialTarget {
            url: format!("{}://{authority}{path_and_query}", scheme.as_str()),
            http_base: format!("{http_scheme}://{authority}{base_path}"),
            scheme,
            host: parsed.host,
            port,
            path_and_query,
        })
    }

    /// `ws` or `wss`.
    pub fn scheme(&self) -> DialScheme {
        self.scheme
    }

    /// Whether the socket runs over TLS (`wss`).
    pub fn is_secure(&self) -> bool {
        self.scheme.is_secure()
    }

    /// The host to connect to and to name in TLS: an ASCII domain (IDNA form),
    /// an IPv4 address, or an IPv6 address without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The TCP port: the one the URL names, or the scheme's default (80 or
    /// 443) when it names none.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The request target of the upgrade: the path (ending in `/relay`) and
    /// the query, if any.
    pub fn path_and_query(&self) -> &str {
        &self.path_and_query
    }

    /// The whole WebSocket URL, ASCII (`wss://host[:port]/…/relay[?query]`;
    /// the port is written only when it is not the scheme's default).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The connector's HTTP(S) base (PROTOCOL.md part 2 §8): same host and
    /// port, `http`/`https`, the path without its trailing `/relay`, no
    /// query.
    pub fn http_base(&self) -> &str {
        &self.http_base
    }
}

impl fmt::Display for DialTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

/// Why a URL setting does not parse (the `reason` of a
/// [`ConfigError::Invalid`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// The scheme is missing, not lowercase, or not one of the allowed ones.
    #[error(
        "expected a URL starting with one of {expected} (lowercase), e.g. https://connector.example"
    )]
    Scheme {
        /// The allowed schemes, comma-separated.
        expected: String,
    },
    /// Whitespace or a control character inside the URL.
    #[error("a URL cannot contain whitespace or control characters")]
    Whitespace,
    /// Nothing between `://` and the path.
    #[error("the URL has no host; write it as {scheme}://host[:port][/path]")]
    NoHost {
        /// The scheme that was given.
        scheme: String,
    },
    /// The port is not a number in `0..=65535`.
    #[error("the port is not a number from 0 to 65535 (leave it out to use the scheme's default)")]
    Port,
    /// The host is not a valid domain (after IDNA) or IP address.
    #[error("the host is not a valid domain name or IP address: {detail}")]
    Host {
        /// What the parser reported.
        detail: String,
    },
    /// A host name with non-ASCII characters: this build refuses them at load
    /// rather than map them (write the IDNA form).
    #[error("the host {host:?} has non-ASCII characters; write its IDNA form instead: {ascii}")]
    NonAsciiHost {
        /// The host as written.
        host: String,
        /// Each label of the host in punycode (`xn--…`), lowercased.
        ascii: String,
    },
    /// `user:password@` in the URL (credentials belong in their own settings).
    #[error(
        "the URL carries a user name or password; remove it (credentials have their own settings)"
    )]
    UserInfo,
    /// A `#fragment`, which a WebSocket or HTTP request cannot carry.
    #[error("the URL has a #fragment; remove it")]
    Fragment,
    /// Anything else the WHATWG parser refused.
    #[error("not a valid URL: {detail}")]
    Other {
        /// What the parser reported.
        detail: String,
    },
}

/// A URL parsed by the `url` crate, with its host in connectable form.
struct ParsedUrl {
    url: url::Url,
    /// For connecting: IPv6 without brackets.
    host: String,
    /// For writing into a URL: IPv6 in brackets.
    url_host: String,
}

/// The refusal of a non-ASCII host, with the punycode form to write instead.
fn non_ascii_host(authority: &str) -> UrlError {
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    let ascii = host
        .split('.')
        .map(|label| {
            let label = label.to_lowercase();
            if label.is_ascii() {
                label
            } else {
                idna::punycode::encode_str(&label)
                    .map_or_else(|| label.clone(), |p| format!("xn--{p}"))
            }
        })
        .collect::<Vec<_>>()
        .join(".");
    UrlError::NonAsciiHost {
        host: host.to_owned(),
        ascii,
    }
}

/// Parses `text` (already trimmed) with the `url` crate, requiring one of
/// `schemes` (written lowercase, with `://`) and a host.
fn parse_url(text: &str, schemes: &[&str]) -> Result<ParsedUrl, UrlError> {
    let Some(scheme) = schemes.iter().find(|s| text.starts_with(**s)) else {
        let expected = schemes
            .iter()
            .map(|s| s.trim_end_matches("://"))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(UrlError::Scheme { expected });
    };
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(UrlError::Whitespace);
    }
    let rest = text.get(scheme.len()..).unwrap_or_default();
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let no_host = || UrlError::NoHost {
        scheme: scheme.trim_end_matches("://").to_owned(),
    };
    if authority.is_empty() || authority.starts_with(':') || authority.ends_with('@') {
        return Err(no_host());
    }
    if !authority.is_ascii() {
        return Err(non_ascii_host(authority));
    }
    let url = url::Url::parse(text).map_err(|e| match e {
        url::ParseError::EmptyHost => no_host(),
        url::ParseError::InvalidPort => UrlError::Port,
        url::ParseError::IdnaError
        | url::ParseError::InvalidDomainCharacter
        | url::ParseError::InvalidIpv4Address
        | url::ParseError::InvalidIpv6Address => UrlError::Host {
            detail: e.to_string(),
        },
        other => UrlError::Other {
            detail: other.to_string(),
        },
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlError::UserInfo);
    }
    if url.fragment().is_some() {
        return Err(UrlError::Fragment);
    }
    let (host, url_host) = match url.host() {
        Some(url::Host::Domain(d)) if !d.is_empty() => (d.to_owned(), d.to_owned()),
        Some(url::Host::Ipv4(ip)) => (ip.to_string(), ip.to_string()),
        Some(url::Host::Ipv6(ip)) => (ip.to_string(), format!("[{ip}]")),
        _ => return Err(no_host()),
    };
    Ok(ParsedUrl {
        url,
        host,
        url_host,
    })
}

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
    /// `GATEWAY_RELAY_BOT_IDS` is set but `GATEWAY_RELAY_PLATFORMS` is not.
    #[error(
        "GATEWAY_RELAY_BOT_IDS is set but GATEWAY_RELAY_PLATFORMS is not, so it is ignored; list the platforms to front"
    )]
    BotIdsWithoutPlatforms,
}

/// Builds a [`RelayConfig`] and checks it ([`RelayConfig::builder`]).
#[derive(Clone, Debug)]
#[must_use]
pub struct RelayConfigBuilder {
    config: RelayConfig,
}

impl RelayConfigBuilder {
    /// Appends one fronted identity (hello order is call order).
    pub fn identity(mut self, platform: impl Into<String>, bot_id: impl Into<String>) -> Self {
        self.config
            .identities
            .push(PlatformIdentity::new(platform, bot_id));
        self
    }

    /// Replaces the fronted identities.
    pub fn identities(mut self, identities: impl IntoIterator<Item = PlatformIdentity>) -> Self {
        self.config.identities = identities.into_iter().collect();
        self
    }

    /// Sets the gateway id.
    pub fn gateway_id(mut self, id: impl Into<String>) -> Self {
        self.config.gateway_id = Some(id.into());
        self
    }

    /// Sets the per-gateway secret.
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        self.config.secret = Some(secret.into());
        self
    }

    /// Sets the delivery key.
    pub fn delivery_key(mut self, key: impl Into<String>) -> Self {
        self.config.delivery_key = Some(key.into());
        self
    }

    /// Sets the legacy inbound endpoint (trailing `/` removed on build).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.config.endpoint = Some(url.into());
        self
    }

    /// Sets the route keys (items trimmed, empty ones dropped on build).
    pub fn route_keys<S: Into<String>>(mut self, keys: impl IntoIterator<Item = S>) -> Self {
        self.config.route_keys = keys.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the instance id.
    pub fn instance_id(mut self, id: impl Into<String>) -> Self {
        self.config.instance_id = Some(id.into());
        self
    }

    /// Sets the wake URL (trailing `/` removed on build).
    pub fn wake_url(mut self, url: impl Into<String>) -> Self {
        self.config.wake_url = Some(url.into());
        self
    }

    /// Sets the identity provider.
    pub fn idp(mut self, idp: IdpConfig) -> Self {
        self.config.idp = Some(idp);
        self
    }

    /// Sets the enrollment token.
    pub fn enroll_token(mut self, token: impl Into<String>) -> Self {
        self.config.enroll_token = Some(token.into());
        self
    }

    /// Replaces the timers.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.config.timeouts = timeouts;
        self
    }

    /// Replaces the memory bounds.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.config.limits = limits;
        self
    }

    /// Sets what a 4401 after a handshake means.
    pub fn revocation_policy(mut self, policy: RevocationPolicy) -> Self {
        self.config.revocation_policy = policy;
        self
    }

    /// Sets whether the learned scope is also written as `metadata.guild_id`.
    pub fn write_guild_id(mut self, on: bool) -> Self {
        self.config.write_guild_id = on;
        self
    }

    /// Sets what `go_idle` does after the ack (see [`IdleMode`]).
    pub fn idle_mode(mut self, mode: IdleMode) -> Self {
        self.config.idle_mode = Some(mode);
        self
    }

    /// Allows a config without a gateway id or secret: the link then dials
    /// without `Authorization` (for a connector with authentication off).
    /// Without this, [`RelayConfigBuilder::build`] refuses such a config.
    pub fn allow_unauthenticated(mut self) -> Self {
        self.config.allow_unauthenticated = true;
        self
    }

    /// Normalizes and checks the configuration.
    ///
    /// The relay URL must be an `http`, `https`, `ws` or `wss` URL; the
    /// endpoint, wake URL and identity provider URL must be `http(s)`;
    /// platforms must be non-empty and distinct; timers must be positive and
    /// `backoff_initial <= backoff_max`; limits must be positive. Empty
    /// optional strings count as unset. The gateway id and secret are
    /// required unless [`RelayConfigBuilder::allow_unauthenticated`] was
    /// called.
    pub fn build(self) -> Result<RelayConfig, ConfigError> {
        let names = Names::Builder;
        let mut c = self.config;
        check_relay_url(&c.relay_url)
            .map_err(|r| names.invalid(Var::Url, c.relay_url.trim(), r))?;
        c.relay_url = normalize_relay_url(&c.relay_url);
        for opt in [
            &mut c.gateway_id,
            &mut c.secret,
            &mut c.delivery_key,
            &mut c.instance_id,
            &mut c.enroll_token,
        ] {
            *opt = opt
                .take()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty());
        }
        c.endpoint = normalize_opt_http_url(c.endpoint.take(), Var::Endpoint, names)?;
        c.wake_url = normalize_opt_http_url(c.wake_url.take(), Var::WakeUrl, names)?;
        c.route_keys = c
            .route_keys
            .iter()
            .map(|k| k.trim())
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect();
        for id in &mut c.identities {
            id.platform = id.platform.trim().to_owned();
            id.bot_id = id.bot_id.trim().to_owned();
        }
        check_identities(&c.identities, names)?;
        // Kept by every connection made from it: no spare room.
        c.identities.shrink_to_fit();
        if let Some(idp) = &c.idp {
            check_http_url(&idp.token_url)
                .map_err(|r| names.invalid(Var::IdpTokenUrl, &idp.token_url, r))?;
            if idp.client_id.trim().is_empty() {
                return Err(names.missing(Var::IdpClientId));
            }
            if idp.client_secret.is_empty() {
                return Err(names.missing(Var::IdpClientSecret));
            }
        }
        check_timeouts(&c.timeouts, names)?;
        check_limits(&c.limits, names)?;
        check_credentials(&c, names)?;
        Ok(c)
    }
}

impl RelayConfig {
    /// Starts a [`RelayConfigBuilder`] for the connector at `relay_url`.
    pub fn builder(relay_url: impl Into<String>) -> RelayConfigBuilder {
        RelayConfigBuilder {
            config: RelayConfig::new(relay_url),
        }
    }

    /// `POST /relay/provision` URL (PROTOCOL.md part 2 §8), derived from
    /// the parsed relay URL.
    pub fn provision_url(&self) -> String {
        provision_url(&self.relay_url)
    }

    /// `POST /relay/policy` URL, derived from the parsed relay URL.
    pub fn policy_url(&self) -> String {
        policy_url(&self.relay_url)
    }

    /// `POST /relay/enroll` URL, derived from the parsed relay URL.
    pub fn enroll_url(&self) -> String {
        enroll_url(&self.relay_url)
    }

    /// Reads the configuration from the process environment (see the module
    /// documentation for the variables). Returns warnings for the caller to
    /// log alongside the config.
    pub fn from_env() -> Result<(RelayConfig, Vec<ConfigWarning>), ConfigError> {
        RelayConfig::from_env_os_map(|name| std::env::var_os(name))
    }

    /// Reads the configuration through `get` returning raw OS strings, as
    /// [`RelayConfig::from_env`] reads the process environment: a value that
    /// is not valid UTF-8 is a [`ConfigError::NotUnicode`] naming the
    /// variable.
    pub fn from_env_os_map(
        get: impl Fn(&str) -> Option<OsString>,
    ) -> Result<(RelayConfig, Vec<ConfigWarning>), ConfigError> {
        let env = unicode_env(get)?;
        RelayConfig::from_env_map(|name| env.get(name).cloned())
    }

    /// Reads the configuration through `get` (a variable's value, or `None`
    /// when unset), exactly as [`RelayConfig::from_env`] reads the process
    /// environment.
    pub fn from_env_map(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<(RelayConfig, Vec<ConfigWarning>), ConfigError> {
        load(&|key: Var| {
            get(key.env()).map(|v| Found {
                value: Raw::Text(v),
                names: Names::Env,
            })
        })
    }

    /// Reads the configuration from `(name, value)` pairs, as
    /// [`RelayConfig::from_env`] reads the process environment. A later pair
    /// wins over an earlier one with the same name.
    pub fn from_vars<K, V>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(RelayConfig, Vec<ConfigWarning>), ConfigError>
    where
        K: Into<String>,
        V: Into<String>,
    {
        let map: HashMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        RelayConfig::from_env_map(|name| map.get(name).cloned())
    }
}

/// Every variable the loader reads, from `get`, as UTF-8; the first value
/// that is not UTF-8 is an error naming its variable.
fn unicode_env(
    get: impl Fn(&str) -> Option<OsString>,
) -> Result<HashMap<&'static str, String>, ConfigError> {
    let mut env = HashMap::new();
    for key in Var::ALL {
        if let Some(value) = get(key.env()) {
            let value = value.into_string().map_err(|_| ConfigError::NotUnicode {
                setting: key.env().to_owned(),
            })?;
            env.insert(key.env(), value);
        }
    }
    Ok(env)
}

/// Every setting the loader reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Var {
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
}

impl Var {
    /// Every setting.
    const ALL: [Var; 29] = [
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
        Var::AllowUnauthenticated,
    ];

    /// The environment variable.
    fn env(self) -> &'static str {
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
        }
    }

    /// The builder method or field that sets it.
    fn builder(self) -> &'static str {
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
        }
    }

    /// The `config.yaml` twin under `gateway.`, if there is one.
    #[cfg_attr(not(feature = "yaml"), allow(dead_code))]
    fn yaml_path(self) -> Option<&'static [&'static str]> {
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
            _ => return None,
        })
    }
}

/// How settings are named in errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Names {
    Env,
    #[cfg_attr(not(feature = "yaml"), allow(dead_code))]
    File,
    Builder,
}

impl Names {
    fn name(self, key: Var) -> String {
        match self {
            Names::Env => key.env().to_owned(),
            Names::File => match key.yaml_path() {
                Some(path) => format!("gateway.{} in the config file", path.join(".")),
                None => key.env().to_owned(),
            },
            Names::Builder => key.builder().to_owned(),
        }
    }

    fn invalid(self, key: Var, value: &str, reason: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            setting: self.name(key),
            value: value.to_owned(),
            reason: reason.into(),
        }
    }

    fn missing(self, key: Var) -> ConfigError {
        let hint = match key {
            Var::Url => "set it to the connector's base URL, e.g. https://connector.example",
            Var::IdpClientId | Var::IdpClientSecret => {
                "the identity provider token URL is set, so its client id and client secret are required too"
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

/// A raw setting value.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Raw {
    Text(String),
    #[cfg_attr(not(feature = "yaml"), allow(dead_code))]
    List(Vec<String>),
}

/// A setting found in some source.
#[derive(Clone, Debug)]
struct Found {
    value: Raw,
    names: Names,
}

/// Looks a setting up in the sources, most important first.
type Lookup<'a> = dyn Fn(Var) -> Option<Found> + 'a;

/// The trimmed text of a setting; empty counts as unset. A list where text is
/// expected is an error.
fn text(lookup: &Lookup<'_>, key: Var) -> Result<Option<(String, Names)>, ConfigError> {
    let Some(found) = lookup(key) else {
        return Ok(None);
    };
    match found.value {
        Raw::Text(t) => {
            let t = t.trim();
            Ok((!t.is_empty()).then(|| (t.to_owned(), found.names)))
        }
        Raw::List(items) => Err(found.names.invalid(
            key,
            &items.join(","),
            "expected a single string, not a list",
        )),
    }
}

/// A comma list (or a list from the config file): items trimmed, empty items
/// dropped.
fn list(lookup: &Lookup<'_>, key: Var) -> Vec<String> {
    let items: Vec<String> = match lookup(key).map(|f| f.value) {
        None => return Vec::new(),
        Some(Raw::Text(t)) => t.split(',').map(str::to_owned).collect(),
        Some(Raw::List(items)) => items,
    };
    items
        .iter()
        .map(|i| i.trim())
        .filter(|i| !i.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Trims and removes one trailing `/` from a relay URL.
fn normalize_relay_url(url: &str) -> String {
    let t = url.trim();
    t.strip_suffix('/').unwrap_or(t).to_owned()
}

/// Checks a relay base URL: it must parse into a [`DialTarget`].
fn check_relay_url(url: &str) -> Result<(), String> {
    DialTarget::parse(url)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Checks an `http(s)` URL (parsed as [`DialTarget::parse`] parses the relay
/// URL, with only the HTTP schemes allowed).
fn check_http_url(url: &str) -> Result<(), String> {
    parse_url(url, &["https://", "http://"])
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A gateway id and secret are required unless an unauthenticated dial was
/// asked for.
fn check_credentials(c: &RelayConfig, names: Names) -> Result<(), ConfigError> {
    check_credentials_named(c, names, names)
}

fn check_credentials_named(
    c: &RelayConfig,
    id_names: Names,
    secret_names: Names,
) -> Result<(), ConfigError> {
    if c.allow_unauthenticated {
        return Ok(());
    }
    let set = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
    if !set(&c.gateway_id) {
        return Err(id_names.missing(Var::Id));
    }
    if !set(&c.secret) {
        return Err(secret_names.missing(Var::Secret));
    }
    Ok(())
}

/// Trims, drops empty, removes every trailing `/`, and parses an optional
/// `http(s)` URL, keeping its parsed (ASCII) form.
fn normalize_opt_http_url(
    value: Option<String>,
    key: Var,
    names: Names,
) -> Result<Option<String>, ConfigError> {
    let Some(v) = value else {
        return Ok(None);
    };
    let v = v.trim().trim_end_matches('/');
    if v.is_empty() {
        return Ok(None);
    }
    let parsed =
        parse_url(v, &["https://", "http://"]).map_err(|e| names.invalid(key, v, e.to_string()))?;
    // The parser's serialisation: ASCII (IDNA) host, default port dropped.
    Ok(Some(parsed.url.as_str().trim_end_matches('/').to_owned()))
}

fn check_identities(identities: &[PlatformIdentity], names: Names) -> Result<(), ConfigError> {
    let joined = || {
        identities
            .iter()
            .map(|i| i.platform.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    for (i, id) in identities.iter().enumerate() {
        if id.platform.is_empty() {
            return Err(names.invalid(
                Var::Platforms,
                &joined(),
                "a platform name is empty; give each fronted platform a name such as discord",
            ));
        }
        if identities
            .get(..i)
            .unwrap_or_default()
            .iter()
            .any(|p| p.platform == id.platform)
        {
            return Err(names.invalid(
                Var::Platforms,
                &joined(),
                format!("{:?} is listed twice; list each platform once", id.platform),
            ));
        }
    }
    Ok(())
}

fn check_timeouts(t: &Timeouts, names: Names) -> Result<(), ConfigError> {
    let positive = [
        (Var::HandshakeTimeout, t.handshake),
        (Var::RequestTimeout, t.request),
        (Var::IdleAckTimeout, t.idle_ack),
        (Var::KeepaliveInterval, t.keepalive_interval),
        (Var::PongTimeout, t.pong_timeout),
        (Var::StableAfter, t.stable_after),
        (Var::BackoffInitial, t.backoff_initial),
        (Var::BackoffMax, t.backoff_max),
    ];
    for (key, d) in positive {
        if d.is_zero() {
            return Err(names.invalid(key, "0", "must be greater than zero"));
        }
    }
    if t.dormant_redial.is_some_and(|d| d.is_zero()) {
        return Err(names.invalid(
            Var::DormantRedial,
            "0",
            "must be greater than zero (leave it unset to re-dial only on wake)",
        ));
    }
    if t.token_ttl_secs == 0 {
        return Err(names.invalid(
            Var::TokenTtl,
            "0",
            "must be at least 1 second (a zero TTL would mint never-expiring tokens)",
        ));
    }
    if t.backoff_initial > t.backoff_max {
        // Blame the one that was changed: a cap lowered below the default
        // first step is the cap's fault.
        let defaults = Timeouts::default();
        if t.backoff_initial == defaults.backoff_initial && t.backoff_max != defaults.backoff_max {
            return Err(names.invalid(
                Var::BackoffMax,
                &format_secs(t.backoff_max),
                format!(
                    "must not be below the first backoff step ({} s)",
                    format_secs(t.backoff_initial)
                ),
            ));
        }
        return Err(names.invalid(
            Var::BackoffInitial,
            &format_secs(t.backoff_initial),
            format!(
                "must not exceed the backoff cap ({} s)",
                format_secs(t.backoff_max)
            ),
        ));
    }
    Ok(())
}

fn check_limits(l: &Limits, names: Names) -> Result<(), ConfigError> {
    if l.max_frame_bytes == 0 {
        return Err(names.invalid(Var::MaxFrameBytes, "0", "must be greater than zero"));
    }
    Ok(())
}

fn format_secs(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}", ms / 1000)
    } else {
        format!("{}.{:03}", ms / 1000, ms % 1000)
    }
}

/// Parses decimal seconds (`30`, `0.5`, at most 3 decimals).
fn parse_secs(s: &str) -> Result<Duration, String> {
    const EXPECTED: &str = "expected a number of seconds such as 30 or 0.5";
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) || (s.contains('.') && frac.is_empty()) {
        return Err(EXPECTED.to_owned());
    }
    if frac.len() > 3 {
        return Err("at most millisecond precision (3 decimals)".to_owned());
    }
    let whole: u64 = whole
        .parse()
        .map_err(|_| format!("{EXPECTED}; this one is too large"))?;
    let frac_ms: u64 = format!("{frac:0<3}").parse().unwrap_or(0);
    whole
        .checked_mul(1000)
        .and_then(|ms| ms.checked_add(frac_ms))
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{EXPECTED}; this one is too large"))
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Applies `GATEWAY_RELAY_BOT_IDS` to the platform list.
fn identities_from(
    platforms: &[String],
    bot_ids: Option<&str>,
    warnings: &mut Vec<ConfigWarning>,
) -> Vec<PlatformIdentity> {
    let map = match bot_ids.map(serde_json::from_str::<serde_json::Value>) {
        None => None,
        Some(Ok(serde_json::Value::Object(map))) => Some(map),
        Some(Ok(other)) => {
            let kind = match other {
                serde_json::Value::Array(_) => "an array",
                serde_json::Value::String(_) => "a string",
                serde_json::Value::Number(_) => "a number",
                serde_json::Value::Bool(_) => "a boolean",
                _ => "null",
            };
            warnings.push(ConfigWarning::MalformedBotIds {
                detail: format!("it is {kind}"),
            });
            None
        }
        Some(Err(e)) => {
            warnings.push(ConfigWarning::MalformedBotIds {
                detail: format!("not JSON: {e}"),
            });
            None
        }
    };
    platforms
        .iter()
        .map(|platform| {
            let bot_id = match map.as_ref().and_then(|m| m.get(platform)) {
                None => String::new(),
                Some(serde_json::Value::Object(entry)) => match entry.get("botId") {
                    None | Some(serde_json::Value::Null) => String::new(),
                    Some(serde_json::Value::String(s)) => s.trim().to_owned(),
                    Some(serde_json::Value::Number(n)) => n.to_string(),
                    Some(_) => {
                        warnings.push(ConfigWarning::MalformedBotIdEntry {
                            platform: platform.clone(),
                        });
                        String::new()
                    }
                },
                Some(_) => {
                    warnings.push(ConfigWarning::MalformedBotIdEntry {
                        platform: platform.clone(),
                    });
                    String::new()
                }
            };
            PlatformIdentity::new(platform.clone(), bot_id)
        })
        .collect()
}

/// Reads every setting through `lookup`.
fn load(lookup: &Lookup<'_>) -> Result<(RelayConfig, Vec<ConfigWarning>), ConfigError> {
    let mut warnings = Vec::new();
    let mut c = RelayConfig::default();

    let (url, url_names) = text(lookup, Var::Url)?.ok_or_else(|| {
        let names = if lookup(Var::Url).is_some_and(|f| f.names == Names::File) {
            Names::File
        } else {
            Names::Env
        };
        names.missing(Var::Url)
    })?;
    check_relay_url(&url).map_err(|r| url_names.invalid(Var::Url, url.trim(), r))?;
    c.relay_url = normalize_relay_url(&url);

    c.gateway_id = text(lookup, Var::Id)?.map(|(v, _)| v);
    c.secret = text(lookup, Var::Secret)?.map(|(v, _)| v);
    c.delivery_key = text(lookup, Var::DeliveryKey)?.map(|(v, _)| v);
    c.instance_id = text(lookup, Var::InstanceId)?.map(|(v, _)| v);
    c.enroll_token = text(lookup, Var::EnrollToken)?.map(|(v, _)| v);
    for (key, slot) in [
        (Var::Endpoint, &mut c.endpoint),
        (Var::WakeUrl, &mut c.wake_url),
    ] {
        if let Some((v, names)) = text(lookup, key)? {
            *slot = normalize_opt_http_url(Some(v), key, names)?;
        }
    }
    c.route_keys = list(lookup, Var::RouteKeys);

    let platforms = list(lookup, Var::Platforms);
    let bot_ids = text(lookup, Var::BotIds)?.map(|(v, _)| v);
    if platforms.is_empty() {
        if bot_ids.is_some() {
            warnings.push(ConfigWarning::BotIdsWithoutPlatforms);
        }
    } else {
        c.identities = identities_from(&platforms, bot_ids.as_deref(), &mut warnings);
        check_identities(&c.identities, Names::Env)?;
    }

    if let Some((token_url, names)) = text(lookup, Var::IdpTokenUrl)? {
        let token_url = token_url.trim_end_matches('/').to_owned();
        check_http_url(&token_url).map_err(|r| names.invalid(Var::IdpTokenUrl, &token_url, r))?;
        let client_id = text(lookup, Var::IdpClientId)?
            .map(|(v, _)| v)
            .ok_or_else(|| names.missing(Var::IdpClientId))?;
        let client_secret = text(lookup, Var::IdpClientSecret)?
            .map(|(v, _)| v)
            .ok_or_else(|| names.missing(Var::IdpClientSecret))?;
        c.idp = Some(IdpConfig {
            token_url,
            client_id,
            client_secret,
            scope: text(lookup, Var::IdpScope)?.map(|(v, _)| v),
        });
    }

    let t = &mut c.timeouts;
    for (key, slot) in [
        (Var::HandshakeTimeout, &mut t.handshake),
        (Var::RequestTimeout, &mut t.request),
        (Var::IdleAckTimeout, &mut t.idle_ack),
        (Var::KeepaliveInterval, &mut t.keepalive_interval),
        (Var::PongTimeout, &mut t.pong_timeout),
        (Var::StableAfter, &mut t.stable_after),
        (Var::BackoffInitial, &mut t.backoff_initial),
        (Var::BackoffMax, &mut t.backoff_max),
    ] {
        if let Some((v, names)) = text(lookup, key)? {
            *slot = parse_secs(&v).map_err(|r| names.invalid(key, &v, r))?;
            if slot.is_zero() {
                return Err(names.invalid(key, &v, "must be greater than zero"));
            }
        }
    }
    if let Some((v, names)) = text(lookup, Var::DormantRedial)? {
        let d = parse_secs(&v).map_err(|r| names.invalid(Var::DormantRedial, &v, r))?;
        t.dormant_redial = (!d.is_zero()).then_some(d);
    }
    if let Some((v, names)) = text(lookup, Var::TokenTtl)? {
        t.token_ttl_secs = v.parse().ok().filter(|&n: &u64| n > 0).ok_or_else(|| {
            names.invalid(
                Var::TokenTtl,
                &v,
                "expected a whole number of seconds, at least 1",
            )
        })?;
    }
    if let Some((v, names)) = text(lookup, Var::Revocation)? {
        c.revocation_policy = match v.to_ascii_lowercase().as_str() {
            "confirm-once" | "confirm_once" => RevocationPolicy::ConfirmOnce,
            "immediate" => RevocationPolicy::Immediate,
            _ => {
                return Err(names.invalid(
                    Var::Revocation,
                    &v,
                    "expected confirm-once or immediate",
                ));
            }
        };
    }
    if let Some((v, names)) = text(lookup, Var::MaxFrameBytes)? {
        c.limits.max_frame_bytes = v.parse().ok().filter(|&n: &usize| n > 0).ok_or_else(|| {
            names.invalid(
                Var::MaxFrameBytes,
                &v,
                "expected a whole number of bytes, at least 1",
            )
        })?;
    }
    if let Some((v, names)) = text(lookup, Var::WriteGuildId)? {
        c.write_guild_id = parse_bool(&v)
            .ok_or_else(|| names.invalid(Var::WriteGuildId, &v, "expected true or false"))?;
    }
    if let Some((v, names)) = text(lookup, Var::IdleMode)? {
        c.idle_mode =
            Some(IdleMode::parse(&v).ok_or_else(|| {
                names.invalid(Var::IdleMode, &v, "expected keep, close or dormant")
            })?);
    }
    if let Some((v, names)) = text(lookup, Var::AllowUnauthenticated)? {
        c.allow_unauthenticated = parse_bool(&v).ok_or_else(|| {
            names.invalid(
                Var::AllowUnauthenticated,
                &v,
                "expected 1, true or yes (or 0, false, no)",
            )
        })?;
    }
    check_timeouts(&c.timeouts, Names::Env)?;
    let id_names = lookup(Var::Id).map_or(Names::Env, |f| f.names);
    let secret_names = lookup(Var::Secret).map_or(Names::Env, |f| f.names);
    check_credentials_named(&c, id_names, secret_names)?;
    Ok((c, warnings))
}

#[cfg(feature = "yaml")]
impl Var {
    /// Every key that has a `config.yaml` twin.
    const WITH_YAML_TWIN: [Var; 11] = [
        Var::Url,
        Var::Id,
        Var::Secret,
        Var::Endpoint,
        Var::RouteKeys,
        Var::InstanceId,
        Var::WakeUrl,
        Var::IdpTokenUrl,
        Var::IdpClientId,
        Var::IdpClientSecret,
        Var::IdpScope,
    ];
}

/// Reading the `gateway.*` keys of a `config.yaml` (cargo feature `yaml`).
///
/// The file's twins of the environment variables are `gateway.relay_url`,
/// `relay_id`, `relay_secret`, `relay_endpoint`, `relay_route_keys` (a list,
/// or a comma string), `relay_instance_id`, `relay_wake_url` and
/// `gateway.idp.{token_url, client_id, client_secret, scope}`. Every other key
/// of the file is ignored. A variable set in the environment wins over its
/// twin in the file; variables without a twin come from the environment only.
#[cfg(feature = "yaml")]
impl RelayConfig {
    /// Reads the configuration from a `config.yaml` text alone (no
    /// environment).
    pub fn from_yaml_str(yaml: &str) -> Result<(RelayConfig, Vec<ConfigWarning>), ConfigError> {
        RelayConfig::from_env_map_and_yaml(yaml, |_| None)
    }

    /// Reads the configuration from the process environment over a
    /// `config.yaml` text.
    pub fn from_env_and_yaml(yaml: &str) -> Result<(RelayConfig, Vec<ConfigWarning>), ConfigError> {
        let env = unicode_env(|name| std::env::var_os(name))?;
        RelayConfig::from_env_map_and_yaml(yaml, |name| env.get(name).cloned())
    }

    /// Reads the configuration through `get` (as
    /// [`RelayConfig::from_env_map`]) over a `config.yaml` text.
    pub fn from_env_map_and_yaml(
        yaml: &str,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<(RelayConfig, Vec<ConfigWarning>), ConfigError> {
        let file = yaml_settings(yaml)?;
        load(&|key: Var| {
            let from_env = get(key.env()).filter(|v| !v.trim().is_empty());
            match from_env {
                Some(v) => Some(Found {
                    value: Raw::Text(v),
                    names: Names::Env,
                }),
                None => file.get(&key).map(|raw| Found {
                    value: raw.clone(),
                    names: Names::File,
                }),
            }
        })
    }
}

/// The `gateway.*` settings of a YAML document.
#[cfg(feature = "yaml")]
fn yaml_settings(yaml: &str) -> Result<HashMap<Var, Raw>, ConfigError> {
    use serde_norway::Value;

    fn scalar(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    let doc: Value = serde_norway::from_str(yaml).map_err(|e| ConfigError::File {
        detail: e.to_string(),
    })?;
    let mut out = HashMap::new();
    let gateway = match &doc {
        Value::Null => return Ok(out),
        Value::Mapping(m) => match m.get("gateway") {
            None | Some(Value::Null) => return Ok(out),
            Some(g @ Value::Mapping(_)) => g,
            Some(_) => {
                return Err(ConfigError::File {
                    detail: "`gateway` must be a mapping of relay settings".to_owned(),
                });
            }
        },
        _ => {
            return Err(ConfigError::File {
                detail: "the document must be a mapping with a `gateway` section".to_owned(),
            });
        }
    };
    for key in Var::WITH_YAML_TWIN {
        let Some(path) = key.yaml_path() else {
            continue;
        };
        let mut node = Some(gateway);
        for part in path {
            node = node.and_then(|n| n.get(part));
        }
        let raw =
            match node {
                None | Some(Value::Null) => continue,
                Some(Value::Sequence(items)) if key == Var::RouteKeys => {
                    let items: Option<Vec<String>> = items.iter().map(scalar).collect();
                    Raw::List(items.ok_or_else(|| {
                        Names::File.invalid(key, "[...]", "expected a list of strings")
                    })?)
                }
                Some(v) => Raw::Text(scalar(v).ok_or_else(|| {
                    Names::File.invalid(key, "<not a scalar>", "expected a string")
                })?),
            };
        out.insert(key, raw);
    }
    Ok(out)
}
