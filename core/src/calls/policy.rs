//! `POST /relay/policy`: a platform's relevance policy.

use serde::{Deserialize, Serialize};

use super::request::{HttpCallError, HttpRequest, error_of, json_post, to_json};
use crate::auth::{DEFAULT_UPGRADE_TTL_SECS, mint_token};
use crate::config::{RelayConfig, RelevanceSettings, policy_url, scopes, truthy};
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

/// The relevance policy of `platform` with `settings`, as the reference
/// projects it: `requireAddress` ← `require_mention`, `freeResponseScopes`
/// ← `free_response_channels`, `allowOtherBots` ← `allow_bots` is
/// `mentions` or `all`.
///
/// `None` (nothing to declare: the connector's default applies) for the
/// unresolved platform `relay` (or an empty name), and when
/// `require_mention` is unset, no scope is listed and other bots are not
/// admitted. An explicit `require_mention: false` is declared.
pub fn policy_for(platform: &str, settings: &RelevanceSettings) -> Option<PolicyBody> {
    let platform = platform.trim();
    if platform.is_empty() || platform == "relay" {
        return None;
    }
    let allow_other_bots = settings.allows_other_bots();
    if settings.require_mention.is_none()
        && settings.free_response_channels.is_empty()
        && !allow_other_bots
    {
        return None;
    }
    Some(PolicyBody {
        platform: platform.to_owned(),
        require_address: settings.require_mention.unwrap_or(false),
        free_response_scopes: settings.free_response_channels.clone(),
        allow_other_bots,
    })
}

/// Every fronted platform (hello order) with its relevance policy from
/// [`RelayConfig::relevance`] (`None`: nothing to declare, see
/// [`policy_for`]).
pub fn relevance_policies(config: &RelayConfig) -> Vec<(String, Option<PolicyBody>)> {
    config
        .hello_identities()
        .into_iter()
        .map(|identity| {
            let settings = config
                .relevance
                .get(&identity.platform)
                .cloned()
                .unwrap_or_default();
            let policy = policy_for(&identity.platform, &settings);
            (identity.platform, policy)
        })
        .collect()
}

/// Projects a platform's relevance settings, as a `config.yaml` holds them,
/// onto a [`PolicyBody`] (docs/protocol.md, "HTTP calls to the connector"), by [`policy_for`]'s
/// rule:
///
/// - `require_mention` of `platform_settings` (the platform's config block)
///   when the block has the key, else `top_level`'s when not null;
/// - `free_response_channels` of the platform block, else of `top_level`
///   (a list, or a comma string);
/// - `allow_bots` (the value of `{PLATFORM}_ALLOW_BOTS`).
pub fn project_relevance_policy(
    platform: &str,
    platform_settings: Option<&serde_json::Value>,
    top_level: Option<&serde_json::Value>,
    allow_bots: Option<&str>,
) -> Option<PolicyBody> {
    let require_mention = match platform_settings.and_then(|b| b.get("require_mention")) {
        Some(v) => (!v.is_null()).then(|| truthy(v)),
        None => top_level
            .and_then(|t| t.get("require_mention"))
            .filter(|v| !v.is_null())
            .map(truthy),
    };
    let free_response_channels = platform_settings
        .and_then(|b| b.get("free_response_channels"))
        .filter(|v| !v.is_null())
        .or_else(|| top_level.and_then(|t| t.get("free_response_channels")))
        .map(scopes)
        .unwrap_or_default();
    let settings = RelevanceSettings {
        require_mention,
        free_response_channels,
        allow_bots: allow_bots.map(str::to_owned),
    };
    policy_for(platform, &settings)
}
