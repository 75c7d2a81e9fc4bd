//! `POST /relay/enroll`: an enrollment token exchanged for credentials.

use core::fmt;

use serde::{Deserialize, Serialize};

use super::credentials::{IssuedCredentials, ResolvedCredentials};
use super::provision::ProvisionResponseBody;
use super::request::{
    HttpCallError, HttpRequest, error_of, is_success, json_post, non_empty, parse_json, to_json,
};
use crate::config::enroll_url;
use crate::redact::REDACTED;

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
            .field("enrollment_token", &REDACTED)
            .field("gateway_id", &self.gateway_id)
            .finish()
    }
}

/// Body of a `/relay/enroll` response: the provision answer's shape (an
/// enroll answer never carries `secretIssued` or `routeKeys`). Unknown keys
/// are ignored.
pub type EnrollResponseBody = ProvisionResponseBody;

/// `POST <relay>/relay/enroll` with the identity token as bearer.
pub fn enroll_request(
    relay_url: &str,
    identity_token: &str,
    body: &EnrollRequestBody,
) -> HttpRequest {
    json_post(enroll_url(relay_url), identity_token, to_json(body))
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
