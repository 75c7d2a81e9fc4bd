//! `POST /relay/policy`: a platform's relevance policy.

use serde::{Deserialize, Serialize};

use super::request::{HttpCallError, HttpRequest, error_of, json_post, to_json};
use crate::auth::{DEFAULT_UPGRADE_TTL_SECS, mint_token};
use crate::config::{RelayConfig, policy_url};
use crate::time::UnixTime;

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
    json_post(policy_url(relay_url), &token, to_json(body))
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
