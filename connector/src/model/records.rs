//! What the management calls keep: the identities and enrollment tokens
//! they accept, and the credentials and policies they recorded.

use std::collections::BTreeMap;

/// The tenant of identities when no identity bearer is registered.
pub const DEFAULT_TENANT: &str = "default";

/// What provision (or enroll) issued for one gateway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvisionRecord {
    /// The gateway id.
    pub gateway_id: String,
    /// Its tenant.
    pub tenant: String,
    /// The upgrade-token secret (64 hex digits).
    pub secret: String,
    /// The delivery-signature key (64 hex digits).
    pub delivery_key: String,
    /// Route keys of the first provision call.
    pub route_keys: Vec<String>,
    /// Legacy inbound endpoint of the first provision call.
    pub gateway_endpoint: String,
    /// `(platform, botId)` of every provision call, in order, deduplicated.
    pub platforms: Vec<(String, String)>,
    /// The gateway's own instance id, when sent (informational: the model's
    /// instance is always the gateway id).
    pub instance_id: Option<String>,
}

/// A relevance policy declared with `POST /relay/policy`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyRecord {
    /// The platform.
    pub platform: String,
    /// Only addressed messages are forwarded.
    pub require_address: bool,
    /// Scopes where unaddressed messages are forwarded anyway.
    pub free_response_scopes: Vec<String>,
    /// Messages from other bots are forwarded.
    pub allow_other_bots: bool,
}

/// The identities, enrollment tokens, records and policies of the
/// management calls.
#[derive(Debug, Default)]
pub(crate) struct ManagementState {
    pub(super) identities: BTreeMap<String, String>,
    pub(super) enrollment: BTreeMap<String, (String, bool)>,
    pub(super) records: BTreeMap<String, ProvisionRecord>,
    pub(super) policies: BTreeMap<(String, String), PolicyRecord>,
}
