//! `POST /relay/provision`: one call per fronted platform, merged into one
//! set of credentials.

use core::fmt;

use serde::{Deserialize, Serialize};

use super::credentials::{IssuedCredentials, ResolvedCredentials};
use super::request::{
    HttpCallError, HttpRequest, error_of, is_success, json_post, non_empty, parse_json, to_json,
};
use crate::config::{PlatformIdentity, RelayConfig, provision_url};
use crate::redact::redacted;

/// Body of `POST /relay/provision`; keys serialize in this order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisionRequestBody {
    /// The gateway id (all platforms of one gateway share it).
    pub gateway_id: String,
    /// The platform this request provisions.
    pub platform: String,
    /// The bot id on that platform (may be empty).
    pub bot_id: String,
    /// Legacy inbound endpoint; `""` when unset.
    #[serde(default)]
    pub gateway_endpoint: String,
    /// Route keys (`[]` when none).
    #[serde(default)]
    pub route_keys: Vec<String>,
    /// Instance id; the key is absent when unset (never `""`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// Wake URL; the key is absent when unset (never `""`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wake_url: Option<String>,
    /// The gateway's display name (at most 64 characters); the key is
    /// absent when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// Body of a `/relay/provision` response: either issued credentials, or
/// `secretIssued: false` without `secret` / `deliveryKey`. Unknown keys are
/// ignored; absent keys are skipped when serializing.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisionResponseBody {
    /// `false` when the connector deliberately issued no secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_issued: Option<bool>,
    /// The per-gateway secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The delivery key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_key: Option<String>,
    /// The tenant the gateway belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The gateway id the connector recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_id: Option<String>,
    /// The route keys the connector recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_keys: Option<Vec<String>>,
}

impl fmt::Debug for ProvisionResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProvisionResponseBody")
            .field("secret_issued", &self.secret_issued)
            .field("secret", &redacted(&self.secret))
            .field("delivery_key", &redacted(&self.delivery_key))
            .field("tenant", &self.tenant)
            .field("gateway_id", &self.gateway_id)
            .field("route_keys", &self.route_keys)
            .finish()
    }
}

/// What one `/relay/provision` call produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProvisionOutcome {
    /// The connector issued credentials.
    Issued(IssuedCredentials),
    /// The connector recorded the gateway but deliberately issued no secret
    /// (`secretIssued: false`). Not an error; no credentials to write.
    NotIssued {
        /// The tenant, when sent.
        tenant: Option<String>,
        /// The gateway id the connector recorded, when sent.
        gateway_id: Option<String>,
        /// The route keys the connector recorded.
        route_keys: Vec<String>,
    },
}

/// The provision body for one identity: `gatewayEndpoint` is `""` when the
/// config has no endpoint; `instanceId`, `wakeUrl` and `displayName` only
/// when set.
///
/// `gateway_id` is the caller's choice: the configured `GATEWAY_RELAY_ID`,
/// else `gw-<hostname>` (`gw-hermes` without a hostname), as the reference.
pub fn provision_body(
    config: &RelayConfig,
    gateway_id: &str,
    identity: &PlatformIdentity,
) -> ProvisionRequestBody {
    ProvisionRequestBody {
        gateway_id: gateway_id.to_owned(),
        platform: identity.platform.clone(),
        bot_id: identity.bot_id.clone(),
        gateway_endpoint: config.endpoint.clone().unwrap_or_default(),
        route_keys: config.route_keys.clone(),
        instance_id: non_empty(config.instance_id.clone()),
        wake_url: non_empty(config.wake_url.clone()),
        display_name: non_empty(config.display_name.clone()),
    }
}

/// `POST <relay>/relay/provision` with the identity token as bearer.
pub fn provision_request(
    relay_url: &str,
    identity_token: &str,
    body: &ProvisionRequestBody,
) -> HttpRequest {
    json_post(provision_url(relay_url), identity_token, to_json(body))
}

/// One provision request per fronted identity (in hello order), all under
/// `gateway_id`, each paired with its platform.
pub fn provision_requests(
    config: &RelayConfig,
    gateway_id: &str,
    identity_token: &str,
) -> Vec<(String, HttpRequest)> {
    config
        .hello_identities()
        .iter()
        .map(|identity| {
            let body = provision_body(config, gateway_id, identity);
            (
                identity.platform.clone(),
                provision_request(&config.relay_url, identity_token, &body),
            )
        })
        .collect()
}

/// Parses a `/relay/provision` response.
///
/// A non-2xx status is [`HttpCallError::Status`] (with the body's `error`).
/// A 2xx body with a non-empty `secret` is [`ProvisionOutcome::Issued`];
/// with `secretIssued: false` and no secret it is
/// [`ProvisionOutcome::NotIssued`]; otherwise [`HttpCallError::NoSecret`].
pub fn parse_provision_response(
    status: u16,
    body: &[u8],
) -> Result<ProvisionOutcome, HttpCallError> {
    if !is_success(status) {
        return Err(HttpCallError::Status {
            status,
            error: error_of(body),
        });
    }
    let parsed: ProvisionResponseBody = parse_json(body)?;
    let route_keys = parsed.route_keys.unwrap_or_default();
    match non_empty(parsed.secret) {
        Some(secret) => Ok(ProvisionOutcome::Issued(IssuedCredentials {
            secret,
            delivery_key: non_empty(parsed.delivery_key),
            tenant: parsed.tenant,
            gateway_id: parsed.gateway_id,
            route_keys,
        })),
        None if parsed.secret_issued == Some(false) => Ok(ProvisionOutcome::NotIssued {
            tenant: parsed.tenant,
            gateway_id: parsed.gateway_id,
            route_keys,
        }),
        None => Err(HttpCallError::NoSecret),
    }
}

/// The merged result of provisioning every platform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvisionSummary {
    /// Credentials from the first response that carried a secret.
    pub credentials: Option<ResolvedCredentials>,
    /// The platform whose response set the credentials.
    pub credentials_from: Option<String>,
    /// Platforms recorded without a secret (`secretIssued: false`).
    pub not_issued: Vec<String>,
    /// Platforms whose call failed, with why. Tolerated: the others stand.
    pub failures: Vec<(String, HttpCallError)>,
}

impl ProvisionSummary {
    /// Every platform succeeded (issued or deliberately not issued).
    pub fn is_complete(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Merges per-platform provision results (in request order): the first
/// [`ProvisionOutcome::Issued`] sets the credentials (its gateway id, else
/// `own_gateway_id`); later secrets are ignored; failures are collected, not
/// fatal.
pub fn merge_provision_outcomes(
    own_gateway_id: &str,
    outcomes: impl IntoIterator<Item = (String, Result<ProvisionOutcome, HttpCallError>)>,
) -> ProvisionSummary {
    let mut summary = ProvisionSummary {
        credentials: None,
        credentials_from: None,
        not_issued: Vec::new(),
        failures: Vec::new(),
    };
    for (platform, outcome) in outcomes {
        match outcome {
            Ok(ProvisionOutcome::Issued(creds)) => {
                if summary.credentials.is_none() {
                    summary.credentials = Some(creds.resolve(own_gateway_id));
                    summary.credentials_from = Some(platform);
                }
            }
            Ok(ProvisionOutcome::NotIssued { .. }) => summary.not_issued.push(platform),
            Err(e) => summary.failures.push((platform, e)),
        }
    }
    summary
}
