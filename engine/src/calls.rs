//! The relay's HTTP calls: the identity token, provision, policy and
//! enroll. The requests and the reading of the responses are the core's
//! ([`relay_core::calls`]); these functions only run them through
//! [`execute`].

use std::fs;

use relay_core::calls::{
    EnrollRequestBody, HttpCallError, IDENTITY_TOKEN_MAX_BYTES, IssuedCredentials, PolicyBody,
    ProvisionSummary, enroll_request, idp_token_request, merge_provision_outcomes,
    parse_enroll_response, parse_identity_token_response, parse_policy_response,
    parse_provision_response, policy_request_for, provision_requests,
};
use relay_core::config::RelayConfig;

use super::call_error::CallError;
use super::http_client::{HttpOptions, execute};
use super::runtime::Runtime;

/// The identity token to provision or enroll with: `explicit` when given
/// (non-empty), else one from the configured identity provider
/// (`GATEWAY_RELAY_IDP_*`): the OAuth2 client-credentials grant with a
/// client id and secret, or a plain `GET` of an ambient token endpoint with
/// neither (see [`IdpConfig`](relay_core::config::IdpConfig)). The answer
/// is read through at most
/// [`IDENTITY_TOKEN_MAX_BYTES`](relay_core::calls::IDENTITY_TOKEN_MAX_BYTES)
/// (and `options`' bound, when lower), within `options`' timeout.
pub async fn identity_token(
    rt: &dyn Runtime,
    config: &RelayConfig,
    explicit: Option<&str>,
    options: &HttpOptions,
) -> Result<String, CallError> {
    if let Some(token) = explicit.map(str::trim).filter(|t| !t.is_empty()) {
        return Ok(token.to_owned());
    }
    let idp = config.idp.as_ref().ok_or(CallError::NotConfigured {
        what: "an identity token",
        hint: "set GATEWAY_RELAY_IDP_TOKEN_URL (with _IDP_CLIENT_ID and _IDP_CLIENT_SECRET for the client-credentials grant, without them for an ambient token endpoint), or pass an identity token",
    })?;
    let options = HttpOptions {
        max_response_bytes: options.max_response_bytes.min(IDENTITY_TOKEN_MAX_BYTES),
        ..options.clone()
    };
    let response = execute(rt, idp_token_request(idp), &options).await?;
    Ok(parse_identity_token_response(
        idp,
        response.status,
        &response.body,
    )?)
}

/// The gateway id to provision or enroll as: the configured
/// `GATEWAY_RELAY_ID`, else `gw-<hostname>` (`gw-hermes` when the host
/// name is unknown), as the reference.
pub fn default_gateway_id(config: &RelayConfig) -> String {
    if let Some(id) = config
        .gateway_id
        .as_deref()
        .map(str::trim)
        .filter(|i| !i.is_empty())
    {
        return id.to_owned();
    }
    format!("gw-{}", hostname().unwrap_or_else(|| "hermes".to_owned()))
}

/// The machine's host name, when it can be found without a system call
/// binding.
fn hostname() -> Option<String> {
    let from_file = |p: &str| fs::read_to_string(p).ok();
    from_file("/proc/sys/kernel/hostname")
        .or_else(|| from_file("/etc/hostname"))
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty() && h.len() <= 253)
}

/// Provisions every fronted platform (one `POST /relay/provision` each, in
/// hello order) as `gateway_id` with `identity_token` as bearer, and merges
/// the results.
///
/// A platform whose call fails is recorded in
/// [`ProvisionSummary::failures`]; the others stand. The credentials stay
/// in memory: apply them with
/// [`ResolvedCredentials::apply_to`](relay_core::calls::ResolvedCredentials::apply_to)
/// or persist them with [`write_env_file`](crate::http::write_env_file).
pub async fn provision(
    rt: &dyn Runtime,
    config: &RelayConfig,
    gateway_id: &str,
    identity_token: &str,
    options: &HttpOptions,
) -> ProvisionSummary {
    let mut outcomes = Vec::new();
    for (platform, request) in provision_requests(config, gateway_id, identity_token) {
        let outcome = match execute(rt, request, options).await {
            Ok(response) => parse_provision_response(response.status, &response.body),
            Err(CallError::Http(e)) => Err(e),
            Err(e) => Err(HttpCallError::transport(e)),
        };
        if let Err(e) = &outcome {
            log::warn!("provision failed for platform {platform}: {e}");
        }
        outcomes.push((platform, outcome));
    }
    merge_provision_outcomes(gateway_id, outcomes)
}

/// Sends one platform's relevance policy (`POST /relay/policy`, bearer: a
/// fresh upgrade token of the configured credentials). Only HTTP 200
/// counts as success.
///
/// The policy is advisory: callers log a failure and carry on (see
/// [`send_policies`]).
pub async fn policy(
    rt: &dyn Runtime,
    config: &RelayConfig,
    body: &PolicyBody,
    options: &HttpOptions,
) -> Result<(), CallError> {
    let request =
        policy_request_for(config, body, rt.wall_clock()).ok_or(CallError::NotConfigured {
            what: "the gateway credentials",
            hint: "set GATEWAY_RELAY_ID and GATEWAY_RELAY_SECRET (provision or enroll first)",
        })?;
    let response = execute(rt, request, options).await?;
    Ok(parse_policy_response(response.status, &response.body)?)
}

/// Sends every policy in turn, fail-soft: each failure is logged as a
/// warning and returned next to its platform; none stops the others.
pub async fn send_policies(
    rt: &dyn Runtime,
    config: &RelayConfig,
    bodies: &[PolicyBody],
    options: &HttpOptions,
) -> Vec<(String, Result<(), CallError>)> {
    let mut results = Vec::with_capacity(bodies.len());
    for body in bodies {
        let result = policy(rt, config, body, options).await;
        if let Err(e) = &result {
            log::warn!(
                "relevance policy for {} not accepted; continuing without it: {e}",
                body.platform
            );
        }
        results.push((body.platform.clone(), result));
    }
    results
}

/// Redeems an enrollment token (`POST /relay/enroll`) for `gateway_id`
/// with `identity_token` as bearer.
///
/// Persist the result with
/// [`enroll_env_vars`](relay_core::calls::enroll_env_vars) and
/// [`write_env_file`](crate::http::write_env_file): the connector issues it only once.
pub async fn enroll(
    rt: &dyn Runtime,
    config: &RelayConfig,
    gateway_id: &str,
    enrollment_token: &str,
    identity_token: &str,
    options: &HttpOptions,
) -> Result<IssuedCredentials, CallError> {
    if enrollment_token.trim().is_empty() {
        return Err(CallError::NotConfigured {
            what: "the enrollment token",
            hint: "pass --token or set GATEWAY_RELAY_ENROLL_TOKEN (it comes with the gateway config)",
        });
    }
    let body = EnrollRequestBody {
        enrollment_token: enrollment_token.trim().to_owned(),
        gateway_id: gateway_id.to_owned(),
    };
    let request = enroll_request(&config.relay_url, identity_token, &body);
    let response = execute(rt, request, options).await?;
    Ok(parse_enroll_response(response.status, &response.body)?)
}
