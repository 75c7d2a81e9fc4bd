//! Gateway configuration: identities, credentials, URLs and timeouts.

use core::time::Duration;

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
    /// Re-dial cadence while Buffered (`None`: only on `wake()`).
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
    /// How many delivered `bufferId`s are remembered for dedupe (4096).
    pub dedupe_window: usize,
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
            scope_memory: 10_000,
            max_pending_requests: 65_536,
        }
    }
}

/// Everything a gateway needs to run a relay link.
#[derive(Clone, Debug, PartialEq, Eq)]
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
        if self.identities.is_empty() {
            vec![PlatformIdentity::new("relay", "")]
        } else {
            self.identities.clone()
        }
    }

    /// The WebSocket URL to dial (PROTOCOL.md part 2 §1.2).
    pub fn dial_url(&self) -> String {
        dial_url(&self.relay_url)
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
/// unless present. Idempotent.
pub fn dial_url(base: &str) -> String {
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
