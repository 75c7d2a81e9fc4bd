//! What every call shares: the request a driver executes, the error body a
//! connector may answer with, and [`HttpCallError`].

use core::fmt;
use core::time::Duration;

use crate::redact::REDACTED;
use serde::{Deserialize, Serialize};

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
                    (n.as_str(), REDACTED)
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
pub(super) fn json_post(url: String, bearer: &str, body: Vec<u8>) -> HttpRequest {
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
pub(super) fn to_json<T: Serialize>(body: &T) -> Vec<u8> {
    // These types contain no maps with non-string keys and no
    // failing serializers, so serialization cannot fail.
    serde_json::to_vec(body).unwrap_or_default()
}

/// The error body a connector may send with a failure status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

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
    /// A body over its limit: a media upload refused before it is sent, a
    /// response whose `Content-Length` declares more than the driver reads
    /// (the body is then never read), or a response cut off at the limit.
    #[error(
        "too large: {}the limit is {max} bytes",
        .size.map(|s| format!("{s} bytes, ")).unwrap_or_default()
    )]
    TooLarge {
        /// The size, when known (a file's, a declared `Content-Length`).
        size: Option<u64>,
        /// The limit.
        max: u64,
    },
    /// A media upload or download with no bytes.
    #[error("the media object is empty; there is nothing to send")]
    MediaEmpty,
    /// The call needs the gateway's credentials (its upgrade token is the
    /// bearer) and the configuration has none.
    #[error(
        "the gateway credentials are not configured: set GATEWAY_RELAY_ID and GATEWAY_RELAY_SECRET (provision or enroll first)"
    )]
    NoCredentials,
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

pub(super) fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// The non-empty `error` string of a JSON error body, if any.
pub(super) fn error_of(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .and_then(|b| b.error)
        .filter(|e| !e.trim().is_empty())
}

/// Parses a JSON object body. Anything else (an array, which serde would
/// read positionally into the struct's fields) is refused.
pub(super) fn parse_json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, HttpCallError> {
    if !body.trim_ascii_start().starts_with(b"{") {
        return Err(HttpCallError::InvalidBody {
            detail: "expected a JSON object".to_owned(),
        });
    }
    serde_json::from_slice(body).map_err(|e| HttpCallError::InvalidBody {
        detail: e.to_string(),
    })
}

pub(super) fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|v| !v.is_empty())
}
