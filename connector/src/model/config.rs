//! Configuration of the connector model.

use std::collections::BTreeMap;
use std::time::Duration;

use relay_core::descriptor::CapabilityDescriptor;
use relay_core::wire::DEFAULT_MAX_FRAME_BYTES;

/// How a refused upgrade is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RejectMode {
    /// Complete the upgrade, then close with 4401 (reason `unauthorized`, or
    /// `expired` for an expired token). This is what the reference connector
    /// does and the only form the gateway can read a close code from.
    #[default]
    Close4401,
    /// Refuse at the HTTP level with this status for every failure.
    Http {
        /// The HTTP status, e.g. 401.
        status: u16,
    },
    /// Refuse at the HTTP level: 410 for a revoked gateway, 401 otherwise.
    HttpRevokedGone,
}

/// Everything the connector model can be configured with.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectorConfig {
    /// Refuse upgrades without an `Authorization` header (default true).
    /// When false, a session without the header joins the anonymous instance
    /// ([`crate::ANONYMOUS_INSTANCE`]); a header that is present is still verified.
    pub require_auth: bool,
    /// Initial gateway registrations: gateway id → secret rotation list
    /// (primary first). More can be added with [`crate::Connector::add_gateway`].
    pub gateways: BTreeMap<String, Vec<String>>,
    /// Descriptor per platform; platforms not listed get
    /// [`CapabilityDescriptor::minimal`].
    pub descriptors: BTreeMap<String, CapabilityDescriptor>,
    /// Initial wake URLs: instance → URL.
    pub wake_urls: BTreeMap<String, String>,
    /// How refused upgrades are answered.
    pub reject_mode: RejectMode,
    /// Buffer deliveries for an instance that is not flipped but simply has no
    /// serving session (default true); when false they are dropped (counted).
    pub buffer_when_disconnected: bool,
    /// Minimum time between two wake pokes of one instance (30 s).
    pub wake_cooldown: Duration,
    /// Buffered items in flight (sent, not yet acked) during a drain. 1 (the
    /// default) is strictly ack-gated; larger values pipeline. 0 is read as 1.
    pub drain_window: usize,
    /// Whether a buffered `passthrough_forward` waits for an `inbound_ack`
    /// (default true). When false it counts as delivered once sent, which
    /// suits gateways that never ack passthroughs.
    pub ack_passthrough: bool,
    /// Seconds an expired token is still accepted (clock-skew leeway, 0).
    pub token_leeway_secs: u64,
    /// Longest accepted gateway line, in bytes (1 MiB).
    pub max_frame_bytes: usize,
    /// Frame-log entries kept (oldest dropped first; 0 disables the log).
    pub log_capacity: usize,
    /// Bytes of frame text kept per log entry (longer text is truncated).
    pub log_text_limit: usize,
    /// Media objects kept at most (1,024); the oldest make room.
    pub media_max_objects: usize,
    /// Bytes of media kept at most (128 MiB); the oldest objects make room.
    pub media_max_bytes: u64,
}

/// Default [`ConnectorConfig::media_max_objects`].
pub const DEFAULT_MEDIA_MAX_OBJECTS: usize = 1024;
/// Default [`ConnectorConfig::media_max_bytes`] (128 MiB).
pub const DEFAULT_MEDIA_MAX_BYTES: u64 = 128 * 1024 * 1024;

impl Default for ConnectorConfig {
    fn default() -> Self {
        ConnectorConfig {
            require_auth: true,
            gateways: BTreeMap::new(),
            descriptors: BTreeMap::new(),
            wake_urls: BTreeMap::new(),
            reject_mode: RejectMode::Close4401,
            buffer_when_disconnected: true,
            wake_cooldown: Duration::from_secs(30),
            drain_window: 1,
            ack_passthrough: true,
            token_leeway_secs: 0,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            log_capacity: 4096,
            log_text_limit: 4096,
            media_max_objects: DEFAULT_MEDIA_MAX_OBJECTS,
            media_max_bytes: DEFAULT_MEDIA_MAX_BYTES,
        }
    }
}
