//! The identity token (the bearer of provision and enroll): an OAuth2
//! client-credentials grant, or an ambient token endpoint.

use serde::Deserialize;

use super::request::{HttpCallError, HttpMethod, HttpRequest, is_success, non_empty};
use crate::config::IdpConfig;

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

/// Largest identity-provider response a driver reads (64 KiB): a token
/// response is a few KiB at most.
pub const IDENTITY_TOKEN_MAX_BYTES: u64 = 64 * 1024;

/// The identity token request. For client credentials
/// ([`IdpConfig::is_ambient`] false): a form-encoded `POST` of `grant_type`,
/// `client_id`, `client_secret` and (when set) `scope`. For an ambient
/// endpoint: a plain `GET` with `Accept: application/json, text/plain`.
///
/// Read the answer with [`parse_identity_token_response`].
pub fn idp_token_request(idp: &IdpConfig) -> HttpRequest {
    if idp.is_ambient() {
        return HttpRequest {
            method: HttpMethod::Get,
            url: idp.token_url.clone(),
            headers: vec![(
                "Accept".to_owned(),
                "application/json, text/plain".to_owned(),
            )],
            body: Vec::new(),
        };
    }
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

/// Parses the answer to [`idp_token_request`]: the client-credentials grant
/// with [`parse_idp_token_response`], an ambient endpoint with
/// [`parse_ambient_token_response`].
pub fn parse_identity_token_response(
    idp: &IdpConfig,
    status: u16,
    body: &[u8],
) -> Result<String, HttpCallError> {
    if idp.is_ambient() {
        parse_ambient_token_response(status, body)
    } else {
        parse_idp_token_response(status, body)
    }
}

/// Parses an ambient token endpoint's answer (a 2xx). The body, stripped of
/// surrounding whitespace, is:
///
/// - JSON when it starts with `{`: its `access_token` string (trimmed, not
///   empty) is the token, whatever its alphabet;
/// - otherwise the token itself, when it is shaped like one: a JWT (three or
///   more non-empty dot-separated base64url segments) or an opaque
///   base64url string of at least 32 characters.
///
/// Anything else (an error page, `unauthorized`, a body that is not UTF-8)
/// fails closed with [`HttpCallError::IdentityProvider`], which never
/// quotes the body.
pub fn parse_ambient_token_response(status: u16, body: &[u8]) -> Result<String, HttpCallError> {
    let fail = |detail: String| HttpCallError::IdentityProvider { detail };
    if !is_success(status) {
        return Err(fail(format!(
            "the ambient token endpoint answered HTTP {status}"
        )));
    }
    let text = core::str::from_utf8(body)
        .map_err(|_| {
            fail("the ambient token endpoint answered a body that is not UTF-8".to_owned())
        })?
        .trim();
    let token = if text.starts_with('{') {
        #[derive(Deserialize)]
        struct Envelope {
            #[serde(default)]
            access_token: Option<serde_json::Value>,
        }
        match serde_json::from_str::<Envelope>(text)
            .ok()
            .and_then(|e| e.access_token)
        {
            Some(serde_json::Value::String(t)) => t.trim().to_owned(),
            _ => String::new(),
        }
    } else if is_token_shaped(text) {
        text.to_owned()
    } else {
        String::new()
    };
    if token.is_empty() {
        return Err(fail(format!(
            "no client id and secret are configured, so the token URL was read as an ambient token endpoint (GET), but its {}-byte answer is not a token; for the OAuth2 client-credentials grant set both GATEWAY_RELAY_IDP_CLIENT_ID and _CLIENT_SECRET",
            body.len()
        )));
    }
    Ok(token)
}

/// A raw token: a JWT (3+ non-empty base64url segments joined by dots), or
/// an opaque base64url string of at least 32 characters. Short words
/// (`unauthorized`, `null`) are error bodies, not tokens.
fn is_token_shaped(s: &str) -> bool {
    let base64url = |seg: &str| {
        !seg.is_empty()
            && seg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let segments = s.split('.').count();
    if segments >= 3 {
        s.split('.').all(base64url)
    } else {
        segments == 1 && s.len() >= 32 && base64url(s)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shapes() {
        assert!(is_token_shaped("a.b.c"));
        assert!(is_token_shaped("eyJh-_.eyJ9.sig.extra"));
        assert!(is_token_shaped(&"A".repeat(32)));
        assert!(!is_token_shaped(&"A".repeat(31)));
        assert!(!is_token_shaped("a.b"));
        assert!(!is_token_shaped("a..c"));
        assert!(!is_token_shaped("unauthorized"));
        assert!(!is_token_shaped(&format!("{} x", "A".repeat(40))));
        assert!(!is_token_shaped(&format!("{}=", "A".repeat(40))));
    }

    #[test]
    fn form_encoding() {
        assert_eq!(form_encode("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
        assert_eq!(form_encode("AZaz09*-._"), "AZaz09*-._");
    }
}
