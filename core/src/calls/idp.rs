//! The OAuth2 client-credentials identity token (the bearer of provision
//! and enroll).

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding() {
        assert_eq!(form_encode("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
        assert_eq!(form_encode("AZaz09*-._"), "AZaz09*-._");
    }
}
