//! Sans-IO HTTP for the connector's side endpoints (PROTOCOL.md part 2 §8):
//! `POST /relay/provision`, `POST /relay/policy`, `POST /relay/enroll`, and
//! the OAuth2 client-credentials identity token.
//!
//! Nothing here performs I/O. Builders return an [`HttpRequest`] for a
//! driver to execute (with [`HTTP_TIMEOUT`]); parsers take the response's
//! status and body. The request and response bodies are public serde types
//! so the connector side can parse and produce the very same shapes.
//!
//! A driver that follows redirects must drop the `Authorization` header
//! whenever [`may_forward_authorization`] says no.

use core::fmt;
use core::time::Duration;

use serde::{Deserialize, Serialize};

use crate::auth::{DEFAULT_UPGRADE_TTL_SECS, mint_token};
use crate::config::{IdpConfig, PlatformIdentity, RelayConfig};
use crate::time::UnixTime;

/// How long a driver should wait for one of these calls (15 s, as the
/// reference).
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(15);

/// An HTTP method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HttpMethod {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
}

impl HttpMethod {
    /// The method as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
        }
    }
}

impl fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request for a driver to execute. Its `Debug` output redacts the
/// `Authorization` header and shows only the body's length.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Method.
    pub method: HttpMethod,
    /// Absolute URL.
    pub url: String,
    /// Headers in order (names as sent).
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// The first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| {
                if n.eq_ignore_ascii_case("authorization") {
                    (n.as_str(), "<redacted>")
                } else {
                    (n.as_str(), v.as_str())
                }
            })
            .collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// A JSON `POST` with a bearer token.
fn json_post(url: String, bearer: &str, body: Vec<u8>) -> HttpRequest {
    HttpRequest {
        method: HttpMethod::Post,
        url,
        headers: vec![
            ("Authorization".to_owned(), format!("Bearer {bearer}")),
            ("Content-Type".to_owned(), "application/json".to_owned()),
            ("Accept".to_owned(), "application/json".to_owned()),
        ],
        body,
    }
}

/// Serializes a body type (plain structs of strings, lists and bools).
fn to_json<T: Serialize>(body: &T) -> Vec<u8> {
    // These types contain no maps with non-string keys and no
    // failing serializers, so serialization cannot fail.
    serde_json::to_vec(body).unwrap_or_default()
}

// ---------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------

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
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field(
                "delivery_key",
                &self.delivery_key.as_ref().map(|_| "<redacted>"),
            )
            .field("tenant", &self.tenant)
            .field("gateway_id", &self.gateway_id)
            .field("route_keys", &self.route_keys)
            .finish()
    }
}

/// Body of `POST /relay/enroll`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrollRequestBody {
    /// The one-time enrollment token.
    pub enrollment_token: String,
    /// The gateway id to enroll.
    pub gateway_id: String,
}

impl fmt::Debug for EnrollRequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnrollRequestBody")
            .field("enrollment_token", &"<redacted>")
            .field("gateway_id", &self.gateway_id)
            .finish()
    }
}

/// Body of a `/relay/enroll` response. Unknown keys are ignored.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrollResponseBody {
    /// The per-gateway secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The delivery key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_key: Option<String>,
    /// The tenant the gateway now belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The gateway id the connector recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_id: Option<String>,
}

impl fmt::Debug for EnrollResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnrollResponseBody")
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field(
                "delivery_key",
                &self.delivery_key.as_ref().map(|_| "<redacted>"),
            )
            .field("tenant", &self.tenant)
            .field("gateway_id", &self.gateway_id)
            .finish()
    }
}

/// Body of `POST /relay/policy`: one platform's relevance policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyBody {
    /// The platform the policy is for.
    pub platform: String,
    /// Only messages that address the bot are relevant.
    pub require_address: bool,
    /// Scopes (channels) where every message is relevant.
    #[serde(default)]
    pub free_response_scopes: Vec<String>,
    /// Messages from other bots are relevant.
    pub allow_other_bots: bool,
}

/// The error body a connector may send with a failure status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

// ---------------------------------------------------------------------------
// Errors and outcomes
// ---------------------------------------------------------------------------

/// Why a call to the connector (or the identity provider) did not succeed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpCallError {
    /// The connector answered with a failure status.
    #[error(
        "connector returned HTTP {status}{}",
        .error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
    )]
    Status {
        /// The HTTP status.
        status: u16,
        /// The body's `error`, when it had one.
        error: Option<String>,
    },
    /// A success response without a secret (and without
    /// `secretIssued: false`).
    #[error("connector returned an unexpected response (no secret)")]
    NoSecret,
    /// A success response whose body is not the expected JSON.
    #[error("connector returned a body that is not the expected JSON: {detail}")]
    InvalidBody {
        /// What the JSON parser reported.
        detail: String,
    },
    /// Enroll: HTTP 401, the caller's identity token was not accepted.
    #[error(
        "connector returned HTTP 401{}: the caller identity was not verified; check the identity token (GATEWAY_RELAY_IDP_* or the portal login)",
        .error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
    )]
    IdentityRejected {
        /// The body's `error`, when it had one.
        error: Option<String>,
    },
    /// Enroll: HTTP 403, the enrollment token is invalid, expired, already
    /// used, or belongs to another tenant.
    #[error(
        "connector returned HTTP 403{}: the enrollment token is invalid, expired, already used or belongs to another tenant; ask for a new one",
        .error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
    )]
    EnrollmentTokenRejected {
        /// The body's `error`, when it had one.
        error: Option<String>,
    },
    /// The identity provider did not issue an access token.
    #[error("identity provider did not issue an access token: {detail}; check GATEWAY_RELAY_IDP_*")]
    IdentityProvider {
        /// What went wrong.
        detail: String,
    },
    /// The request could not be made (reported by the driver: connect
    /// error, timeout, TLS, ...).
    #[error("request to the connector failed: {detail}")]
    Transport {
        /// What the driver reported.
        detail: String,
    },
}

impl HttpCallError {
    /// A transport failure, for drivers to report uniformly.
    pub fn transport(detail: impl fmt::Display) -> Self {
        HttpCallError::Transport {
            detail: detail.to_string(),
        }
    }
}

fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// The non-empty `error` string of a JSON error body, if any.
fn error_of(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .and_then(|b| b.error)
        .filter(|e| !e.trim().is_empty())
}

fn parse_json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, HttpCallError> {
    serde_json::from_slice(body).map_err(|e| HttpCallError::InvalidBody {
        detail: e.to_string(),
    })
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|v| !v.is_empty())
}

/// Credentials the connector issued. Its `Debug` output redacts the secret
/// and the delivery key.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedCredentials {
    /// The per-gateway secret.
    pub secret: String,
    /// The delivery key, when sent.
    pub delivery_key: Option<String>,
    /// The tenant, when sent.
    pub tenant: Option<String>,
    /// The gateway id the connector recorded, when sent.
    pub gateway_id: Option<String>,
    /// The route keys the connector recorded (`[]` when not sent).
    pub route_keys: Vec<String>,
}

impl fmt::Debug for IssuedCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCredentials")
            .field("secret", &"<redacted>")
            .field(
                "delivery_key",
                &self.delivery_key.as_ref().map(|_| "<redacted>"),
            )
            .field("tenant", &self.tenant)
            .field("gateway_id", &self.gateway_id)
            .field("route_keys", &self.route_keys)
            .finish()
    }
}

impl IssuedCredentials {
    /// Resolves the gateway id: the connector's (when non-empty), else
    /// `own_gateway_id` (the one the request was made with).
    pub fn resolve(&self, own_gateway_id: &str) -> ResolvedCredentials {
        ResolvedCredentials {
            gateway_id: self
                .gateway_id
                .clone()
                .filter(|g| !g.is_empty())
                .unwrap_or_else(|| own_gateway_id.to_owned()),
            secret: self.secret.clone(),
            delivery_key: self.delivery_key.clone(),
            tenant: self.tenant.clone(),
        }
    }
}

/// Credentials to run with: the gateway id is settled. Its `Debug` output
/// redacts the secret and the delivery key.
#[derive(Clone, PartialEq, Eq)]
pub struct ResolvedCredentials {
    /// The gateway id (`GATEWAY_RELAY_ID`).
    pub gateway_id: String,
    /// The per-gateway secret (`GATEWAY_RELAY_SECRET`).
    pub secret: String,
    /// The delivery key (`GATEWAY_RELAY_DELIVERY_KEY`), when issued.
    pub delivery_key: Option<String>,
    /// The tenant, when known (informational).
    pub tenant: Option<String>,
}

impl fmt::Debug for ResolvedCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolvedCredentials")
            .field("gateway_id", &self.gateway_id)
            .field("secret", &"<redacted>")
            .field(
                "delivery_key",
                &self.delivery_key.as_ref().map(|_| "<redacted>"),
            )
            .field("tenant", &self.tenant)
            .finish()
    }
}

impl ResolvedCredentials {
    /// Sets the config's gateway id, secret and (when issued) delivery key.
    pub fn apply_to(&self, config: &mut RelayConfig) {
        config.gateway_id = Some(self.gateway_id.clone());
        config.secret = Some(self.secret.clone());
        if let Some(key) = &self.delivery_key {
            config.delivery_key = Some(key.clone());
        }
    }

    /// `GATEWAY_RELAY_ID`, `GATEWAY_RELAY_SECRET` and (when issued)
    /// `GATEWAY_RELAY_DELIVERY_KEY`, in that order.
    pub fn env_vars(&self) -> Vec<(&'static str, String)> {
        let mut vars = vec![
            ("GATEWAY_RELAY_ID", self.gateway_id.clone()),
            ("GATEWAY_RELAY_SECRET", self.secret.clone()),
        ];
        if let Some(key) = &self.delivery_key {
            vars.push(("GATEWAY_RELAY_DELIVERY_KEY", key.clone()));
        }
        vars
    }
}

// ---------------------------------------------------------------------------
// Provision
// ---------------------------------------------------------------------------

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
/// config has no endpoint; `instanceId` / `wakeUrl` only when set.
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
    }
}

/// `POST <relay>/relay/provision` with the identity token as bearer.
pub fn provision_request(
    relay_url: &str,
    identity_token: &str,
    body: &ProvisionRequestBody,
) -> HttpRequest {
    json_post(
        crate::config::provision_url(relay_url),
        identity_token,
        to_json(body),
    )
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

// ---------------------------------------------------------------------------
// Policy
// ---------------------------------------------------------------------------

/// `POST <relay>/relay/policy` with a freshly minted upgrade token
/// (`mint_token(gateway_id, secret, 300, now)`) as bearer.
pub fn policy_request(
    relay_url: &str,
    gateway_id: &str,
    secret: &str,
    body: &PolicyBody,
    now: UnixTime,
) -> HttpRequest {
    let token = mint_token(gateway_id, secret, DEFAULT_UPGRADE_TTL_SECS, now);
    json_post(crate::config::policy_url(relay_url), &token, to_json(body))
}

/// The policy request for `body` when the config has credentials (else
/// `None`: the policy is only sent by an authenticated gateway).
pub fn policy_request_for(
    config: &RelayConfig,
    body: &PolicyBody,
    now: UnixTime,
) -> Option<HttpRequest> {
    let (gateway_id, secret) = config.credentials()?;
    Some(policy_request(
        &config.relay_url,
        gateway_id,
        secret,
        body,
        now,
    ))
}

/// Parses a `/relay/policy` response: success is HTTP 200 only.
pub fn parse_policy_response(status: u16, body: &[u8]) -> Result<(), HttpCallError> {
    if status == 200 {
        Ok(())
    } else {
        Err(HttpCallError::Status {
            status,
            error: error_of(body),
        })
    }
}

/// Truthiness of a config value: booleans, numbers (non-zero), and the
/// strings `true/yes/on/1` (any case); everything else is false.
fn truthy(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Bool(b) => *b,
        serde_json::Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        serde_json::Value::String(s) => matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "true" | "yes" | "on" | "1"
        ),
        _ => false,
    }
}

/// A list of scopes: a list of strings / numbers, or a comma string; items
/// trimmed, empty ones dropped.
fn scopes(v: &serde_json::Value) -> Vec<String> {
    let items: Vec<String> = match v {
        serde_json::Value::String(s) => s.split(',').map(str::to_owned).collect(),
        serde_json::Value::Array(items) => items
            .iter()
            .filter_map(|i| match i {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    items
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Projects a platform's relevance settings onto a [`PolicyBody`]
/// (PROTOCOL.md part 2 §8.3).
///
/// - `requireAddress` ← `require_mention` of `platform_settings` (the
///   platform's config block), falling back to `top_level`'s;
/// - `freeResponseScopes` ← `free_response_channels` of the platform block
///   (a list, or a comma string);
/// - `allowOtherBots` ← `allow_bots` (the value of `{PLATFORM}_ALLOW_BOTS`)
///   is `mentions` or `all`.
///
/// Returns `None` for the unresolved platform `relay` (or an empty name)
/// and for an all-default policy. Discord always declares a policy, with
/// `allowOtherBots: false`.
pub fn project_relevance_policy(
    platform: &str,
    platform_settings: Option<&serde_json::Value>,
    top_level: Option<&serde_json::Value>,
    allow_bots: Option<&str>,
) -> Option<PolicyBody> {
    let platform = platform.trim();
    if platform.is_empty() || platform == "relay" {
        return None;
    }
    let require_address = platform_settings
        .and_then(|b| b.get("require_mention"))
        .filter(|v| !v.is_null())
        .or_else(|| top_level.and_then(|t| t.get("require_mention")))
        .is_some_and(truthy);
    let free_response_scopes = platform_settings
        .and_then(|b| b.get("free_response_channels"))
        .map(scopes)
        .unwrap_or_default();
    let is_discord = platform == "discord";
    let allow_other_bots = !is_discord
        && allow_bots
            .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "mentions" | "all"));
    if !is_discord && !require_address && free_response_scopes.is_empty() && !allow_other_bots {
        return None;
    }
    Some(PolicyBody {
        platform: platform.to_owned(),
        require_address,
        free_response_scopes,
        allow_other_bots,
    })
}

// ---------------------------------------------------------------------------
// Enroll
// ---------------------------------------------------------------------------

/// `POST <relay>/relay/enroll` with the identity token as bearer.
pub fn enroll_request(
    relay_url: &str,
    identity_token: &str,
    body: &EnrollRequestBody,
) -> HttpRequest {
    json_post(
        crate::config::enroll_url(relay_url),
        identity_token,
        to_json(body),
    )
}

/// Parses a `/relay/enroll` response: 401 is
/// [`HttpCallError::IdentityRejected`], 403 is
/// [`HttpCallError::EnrollmentTokenRejected`], other failures
/// [`HttpCallError::Status`]; a success without a secret is
/// [`HttpCallError::NoSecret`].
pub fn parse_enroll_response(status: u16, body: &[u8]) -> Result<IssuedCredentials, HttpCallError> {
    match status {
        401 => {
            return Err(HttpCallError::IdentityRejected {
                error: error_of(body),
            });
        }
        403 => {
            return Err(HttpCallError::EnrollmentTokenRejected {
                error: error_of(body),
            });
        }
        s if !is_success(s) => {
            return Err(HttpCallError::Status {
                status,
                error: error_of(body),
            });
        }
        _ => {}
    }
    let parsed: EnrollResponseBody = parse_json(body)?;
    let secret = non_empty(parsed.secret).ok_or(HttpCallError::NoSecret)?;
    Ok(IssuedCredentials {
        secret,
        delivery_key: non_empty(parsed.delivery_key),
        tenant: parsed.tenant,
        gateway_id: parsed.gateway_id,
        route_keys: Vec::new(),
    })
}

/// The variables enrollment writes: `GATEWAY_RELAY_ID`, `_SECRET`,
/// `_DELIVERY_KEY` (when issued), then `GATEWAY_RELAY_URL` and
/// `GATEWAY_RELAY_WAKE_URL` when given.
pub fn enroll_env_vars(
    credentials: &ResolvedCredentials,
    relay_url: Option<&str>,
    wake_url: Option<&str>,
) -> Vec<(&'static str, String)> {
    let mut vars = credentials.env_vars();
    if let Some(url) = relay_url.map(str::trim).filter(|u| !u.is_empty()) {
        vars.push(("GATEWAY_RELAY_URL", url.to_owned()));
    }
    if let Some(url) = wake_url.map(str::trim).filter(|u| !u.is_empty()) {
        vars.push(("GATEWAY_RELAY_WAKE_URL", url.to_owned()));
    }
    vars
}

/// Quotes a value for a dotenv file when it needs it: plain when it is made
/// of safe characters, else single-quoted (no escapes, no interpolation),
/// else double-quoted with `\\`, `\"`, `\n`, `\r` escaped.
fn env_value(v: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_.:/@+=,~%".contains(c);
    if !v.is_empty() && v.chars().all(safe) {
        return v.to_owned();
    }
    if !v.contains(['\'', '\n', '\r']) {
        return format!("'{v}'");
    }
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The variable a dotenv line assigns, if any (`KEY=…` or `export KEY=…`).
fn assigned_name(line: &str) -> Option<&str> {
    let l = line.trim_start();
    let l = l.strip_prefix("export ").map(str::trim_start).unwrap_or(l);
    let (name, _) = l.split_once('=')?;
    let name = name.trim_end();
    (!name.is_empty() && !name.starts_with('#')).then_some(name)
}

/// Renders an env file: the lines of `existing` are kept in order, except
/// that a line assigning one of `vars` is replaced by the new value (later
/// duplicates of it are dropped); variables not present yet are appended.
/// Every line ends with `\n`. The driver writes the result atomically with
/// mode 0600.
pub fn render_env_file(existing: &str, vars: &[(&str, String)]) -> String {
    let mut out = String::new();
    let mut written: Vec<&str> = Vec::new();
    for line in existing.lines() {
        let replaced = assigned_name(line)
            .and_then(|name| vars.iter().find(|(k, _)| *k == name))
            .map(|(k, v)| (*k, v));
        match replaced {
            Some((k, _)) if written.contains(&k) => {}
            Some((k, v)) => {
                out.push_str(&format!("{k}={}\n", env_value(v)));
                written.push(k);
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    for (k, v) in vars {
        if !written.contains(k) {
            out.push_str(&format!("{k}={}\n", env_value(v)));
            written.push(k);
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Identity provider (OAuth2 client credentials)
// ---------------------------------------------------------------------------

/// `application/x-www-form-urlencoded` encoding of one value.
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The `client_credentials` token request: a form-encoded `POST` of
/// `grant_type`, `client_id`, `client_secret` and (when set) `scope`.
pub fn idp_token_request(idp: &IdpConfig) -> HttpRequest {
    let mut fields = vec![
        ("grant_type", "client_credentials"),
        ("client_id", idp.client_id.as_str()),
        ("client_secret", idp.client_secret.as_str()),
    ];
    if let Some(scope) = idp.scope.as_deref().filter(|s| !s.is_empty()) {
        fields.push(("scope", scope));
    }
    let body = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", form_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    HttpRequest {
        method: HttpMethod::Post,
        url: idp.token_url.clone(),
        headers: vec![
            (
                "Content-Type".to_owned(),
                "application/x-www-form-urlencoded".to_owned(),
            ),
            ("Accept".to_owned(), "application/json".to_owned()),
        ],
        body: body.into_bytes(),
    }
}

/// Parses the identity provider's token response into the access token.
pub fn parse_idp_token_response(status: u16, body: &[u8]) -> Result<String, HttpCallError> {
    #[derive(Deserialize)]
    struct TokenResponse {
        #[serde(default)]
        access_token: Option<String>,
        #[serde(default)]
        error: Option<String>,
        #[serde(default)]
        error_description: Option<String>,
    }
    let parsed = serde_json::from_slice::<TokenResponse>(body).ok();
    if !is_success(status) {
        let why = parsed
            .and_then(|p| match (p.error, p.error_description) {
                (Some(e), Some(d)) => Some(format!("{e}: {d}")),
                (e, d) => e.or(d),
            })
            .map(|w| format!(": {w}"))
            .unwrap_or_default();
        return Err(HttpCallError::IdentityProvider {
            detail: format!("HTTP {status}{why}"),
        });
    }
    parsed
        .and_then(|p| non_empty(p.access_token))
        .ok_or_else(|| HttpCallError::IdentityProvider {
            detail: "the response has no access_token".to_owned(),
        })
}

// ---------------------------------------------------------------------------
// Redirects
// ---------------------------------------------------------------------------

/// `(scheme, host, port)` of an absolute URL, lowercased, with the scheme's
/// default port filled in. `None` for anything unusual.
fn origin(url: &str) -> Option<(String, String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (format!("[{}]", h.to_ascii_lowercase()), port)
    } else {
        match host_port.split_once(':') {
            Some((h, p)) => (h.to_ascii_lowercase(), Some(p)),
            None => (host_port.to_ascii_lowercase(), None),
        }
    };
    if host.is_empty() || host == "[]" {
        return None;
    }
    let default_port = match scheme.as_str() {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    };
    let port = match port {
        None | Some("") => default_port?,
        Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok()?,
        Some(_) => return None,
    };
    Some((scheme, host, port))
}

/// Whether a redirect from `original_url` to `redirect_url` (a `Location`
/// value) may carry the `Authorization` header: only when both have the
/// same scheme, host and port.
///
/// A relative `Location` (`/path`, `path`) stays on the original origin; a
/// scheme-relative one (`//host/...`) is resolved against the original
/// scheme. Anything unusual (whitespace, control characters, backslashes,
/// `scheme:` without `//`, an unparsable authority) is answered with
/// `false`: dropping the header is always safe.
pub fn may_forward_authorization(original_url: &str, redirect_url: &str) -> bool {
    let Some(from) = origin(original_url) else {
        return false;
    };
    if redirect_url.is_empty()
        || redirect_url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
    {
        return false;
    }
    let absolute = if let Some(rest) = redirect_url.strip_prefix("//") {
        format!("{}://{rest}", from.0)
    } else if has_scheme(redirect_url) {
        if !redirect_url.contains("://") {
            return false;
        }
        redirect_url.to_owned()
    } else {
        // A path on the same origin.
        return true;
    };
    origin(&absolute).is_some_and(|to| to == from)
}

/// Resolves a redirect's `Location` value against the URL that sent it, as a
/// driver following redirects by hand needs: absolute, scheme-relative,
/// absolute-path, relative-path and query-only forms. `None` for anything
/// that is not an http(s) target (`mailto:`, `javascript:`, `ftp://`), and for
/// values with control characters or backslashes.
pub fn resolve_redirect(base: &str, location: &str) -> Option<String> {
    let location = location.trim();
    if location.is_empty() || location.chars().any(|c| c.is_control() || c == '\\') {
        return None;
    }
    let (origin, rest) = split_url(base)?;
    let resolved = if has_scheme(location) {
        // `scheme:` without `//` (`mailto:`, `javascript:`) is no target.
        location.contains("://").then(|| location.to_owned())?
    } else if let Some(after) = location.strip_prefix("//") {
        let scheme = origin.split("://").next()?;
        format!("{scheme}://{after}")
    } else if location.starts_with('/') {
        format!("{origin}{location}")
    } else if location.starts_with('?') {
        let path = rest.split(['?', '#']).next().unwrap_or("");
        format!("{origin}{path}{location}")
    } else {
        let path = rest.split(['?', '#']).next().unwrap_or("");
        let dir = path.rfind('/').and_then(|i| path.get(..=i)).unwrap_or("/");
        format!("{origin}{dir}{location}")
    };
    is_http_url(&resolved).then_some(resolved)
}

/// `scheme://authority` of an http(s) URL, and the rest (path, query).
fn split_url(url: &str) -> Option<(&str, &str)> {
    let scheme_end = url.find("://")?;
    let after = scheme_end + 3;
    let rest = url.get(after..)?;
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let split = after + authority_len;
    Some((url.get(..split)?, url.get(split..)?))
}

fn is_http_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// `s` starts with `scheme:` (RFC 3986: ALPHA *( ALPHA / DIGIT / + / - / . )).
fn has_scheme(s: &str) -> bool {
    let Some((scheme, _)) = s.split_once(':') else {
        return false;
    };
    let mut bytes = scheme.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_locations_resolve() {
        let base = "http://h:1/relay/provision?x=1";
        assert_eq!(
            resolve_redirect(base, "/a").as_deref(),
            Some("http://h:1/a")
        );
        assert_eq!(
            resolve_redirect(base, "b").as_deref(),
            Some("http://h:1/relay/b")
        );
        assert_eq!(
            resolve_redirect(base, "//other/x").as_deref(),
            Some("http://other/x")
        );
        assert_eq!(
            resolve_redirect(base, "https://o/p").as_deref(),
            Some("https://o/p")
        );
        assert_eq!(
            resolve_redirect(base, "?y=2").as_deref(),
            Some("http://h:1/relay/provision?y=2")
        );
        assert_eq!(resolve_redirect(base, "ftp://o/p"), None);
        assert_eq!(resolve_redirect(base, "javascript:alert(1)"), None);
        assert_eq!(resolve_redirect(base, ""), None);
        assert_eq!(
            resolve_redirect("http://h", "x").as_deref(),
            Some("http://h/x")
        );
    }

    #[test]
    fn form_encoding() {
        assert_eq!(form_encode("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
        assert_eq!(form_encode("AZaz09*-._"), "AZaz09*-._");
    }

    #[test]
    fn env_value_quoting() {
        assert_eq!(env_value("abc-123_x=/+"), "abc-123_x=/+");
        assert_eq!(env_value("has space"), "'has space'");
        assert_eq!(env_value("$HOME"), "'$HOME'");
        assert_eq!(env_value(""), "''");
        assert_eq!(env_value("it's\n"), "\"it's\\n\"");
        assert_eq!(env_value("a\"b'c\\"), "\"a\\\"b'c\\\\\"");
    }

    #[test]
    fn origins() {
        assert_eq!(
            origin("https://C.Example/x"),
            Some(("https".to_owned(), "c.example".to_owned(), 443))
        );
        assert_eq!(
            origin("http://u:p@h:8080?q"),
            Some(("http".to_owned(), "h".to_owned(), 8080))
        );
        assert_eq!(
            origin("https://[::1]:9/"),
            Some(("https".to_owned(), "[::1]".to_owned(), 9))
        );
        assert_eq!(origin("https://h:x/"), None);
        assert_eq!(origin("https:///x"), None);
        assert_eq!(origin("gopher://h/"), None);
        assert_eq!(origin("h/x"), None);
    }
}
