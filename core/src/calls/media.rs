//! The media plane: `POST {connector}/relay/media` (upload) and
//! `GET {connector}/relay/media/{id}` (download), both authenticated with a
//! fresh upgrade token of the gateway.
//!
//! The wire carries media by reference: an upload answers with an id, and
//! `{connector}/relay/media/{id}` is the URL a `send_media` action names
//! (and inbound `media_urls` name). Both directions are capped at
//! [`MEDIA_MAX_BYTES`]: an upload is refused before it is sent, a download
//! is refused from its `Content-Length` and cut off past the cap.

use core::fmt;
use core::time::Duration;

use serde::Deserialize;

use super::redirect::may_forward_authorization;
use super::request::{HttpCallError, HttpMethod, HttpRequest, error_of, is_success};
use crate::auth::mint_token;
use crate::config::{RelayConfig, http_base_url, media_url};
use crate::time::UnixTime;

/// Largest media object either way: 25 MiB (26,214,400 bytes), the
/// connector's own cap.
pub const MEDIA_MAX_BYTES: u64 = 25 * 1024 * 1024;

/// How long a driver should wait for one media call (30 s, as the
/// reference).
pub const MEDIA_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest `X-Media-Filename` sent (255 characters, as the reference).
pub const MEDIA_FILENAME_MAX_CHARS: usize = 255;

/// The path prefix of the connector's media objects.
const MEDIA_PATH: &str = "/relay/media/";

/// Where an uploaded object lives: its id and the URL a `send_media`
/// action names (`{connector}/relay/media/{id}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaRef {
    /// The connector's id of the object.
    pub id: String,
    /// `{connector}/relay/media/{id}`.
    pub url: String,
}

/// A downloaded object. Its `Debug` output shows the body's length only.
#[derive(Clone, PartialEq, Eq)]
pub struct MediaObject {
    /// The bytes (at most [`MEDIA_MAX_BYTES`]).
    pub bytes: Vec<u8>,
    /// `Content-Type` as sent (parameters included), when sent.
    pub content_type: Option<String>,
    /// The file name of `Content-Disposition`, reduced to a safe base name
    /// (see [`safe_file_name`]), when sent.
    pub filename: Option<String>,
}

impl fmt::Debug for MediaObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MediaObject")
            .field("bytes_len", &self.bytes.len())
            .field("content_type", &self.content_type)
            .field("filename", &self.filename)
            .finish()
    }
}

/// The upload request: `POST {connector}/relay/media` with a freshly minted
/// upgrade token (`ttl_secs` from the config's timeouts) as bearer, the
/// bytes as body, `Content-Type: content_type` and, when given,
/// `X-Media-Filename` (made header-safe by [`safe_file_name`], at most
/// [`MEDIA_FILENAME_MAX_CHARS`]).
///
/// Refused before anything is built: an empty body
/// ([`HttpCallError::MediaEmpty`]), a body over [`MEDIA_MAX_BYTES`]
/// ([`HttpCallError::TooLarge`]), and a config without credentials
/// ([`HttpCallError::NoCredentials`]).
pub fn media_upload_request(
    config: &RelayConfig,
    bytes: Vec<u8>,
    content_type: &str,
    filename: Option<&str>,
    now: UnixTime,
) -> Result<HttpRequest, HttpCallError> {
    check_upload_size(bytes.len() as u64)?;
    let bearer = bearer(config, now)?;
    let mut headers = vec![
        ("Authorization".to_owned(), format!("Bearer {bearer}")),
        ("Content-Type".to_owned(), header_safe(content_type)),
        ("Accept".to_owned(), "application/json".to_owned()),
    ];
    if let Some(name) = filename.and_then(safe_file_name) {
        headers.push(("X-Media-Filename".to_owned(), name));
    }
    Ok(HttpRequest {
        method: HttpMethod::Post,
        url: media_url(&config.relay_url),
        headers,
        body: bytes,
    })
}

/// Whether an upload of `len` bytes may be sent: not empty, at most
/// [`MEDIA_MAX_BYTES`]. Check a file's size with it before reading it.
pub fn check_upload_size(len: u64) -> Result<(), HttpCallError> {
    if len == 0 {
        return Err(HttpCallError::MediaEmpty);
    }
    if len > MEDIA_MAX_BYTES {
        return Err(HttpCallError::TooLarge {
            size: Some(len),
            max: MEDIA_MAX_BYTES,
        });
    }
    Ok(())
}

/// Parses the upload's response: a 2xx with `{"id": "<id>"}` is the
/// object's [`MediaRef`]. The id must be a non-empty run of URL-safe
/// characters (`A-Z a-z 0-9 - . _ ~`, at most 256), so that the URL built
/// from it names exactly that object; anything else is
/// [`HttpCallError::InvalidBody`]. A 413 is [`HttpCallError::TooLarge`],
/// other failures [`HttpCallError::Status`].
pub fn parse_media_upload_response(
    relay_url: &str,
    status: u16,
    body: &[u8],
) -> Result<MediaRef, HttpCallError> {
    #[derive(Deserialize)]
    struct Uploaded {
        id: serde_json::Value,
    }
    if status == 413 {
        return Err(HttpCallError::TooLarge {
            size: None,
            max: MEDIA_MAX_BYTES,
        });
    }
    if !is_success(status) {
        return Err(HttpCallError::Status {
            status,
            error: error_of(body),
        });
    }
    let invalid = |detail: &str| HttpCallError::InvalidBody {
        detail: detail.to_owned(),
    };
    let parsed: Uploaded = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v @ serde_json::Value::Object(_)) => {
            serde_json::from_value(v).map_err(|e| invalid(&e.to_string()))?
        }
        Ok(_) => return Err(invalid("expected a JSON object with an \"id\"")),
        Err(e) => return Err(invalid(&e.to_string())),
    };
    let id = match parsed.id {
        serde_json::Value::String(id) if is_media_id(&id) => id,
        _ => {
            return Err(invalid(
                "\"id\" is not a non-empty URL-safe string (A-Z a-z 0-9 - . _ ~)",
            ));
        }
    };
    Ok(MediaRef {
        url: format!("{}/{id}", media_url(relay_url)),
        id,
    })
}

/// A media id the connector may hand out: 1 to 256 URL-safe characters.
fn is_media_id(id: &str) -> bool {
    (1..=256).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
        && id != "."
        && id != ".."
}

/// Whether `url` is one of the connector's media objects: an URL on the
/// connector's origin (scheme, host and port of the relay URL's HTTP base)
/// whose path starts with `/relay/media/`. Only such a download carries the
/// gateway's bearer; any other URL (a platform's CDN) is fetched without it.
///
/// The reference sends its bearer to any URL containing `/relay/media/`;
/// relay-rs also requires the connector's origin, so an inbound attachment
/// URL pointing elsewhere never receives a token.
pub fn is_connector_media_url(relay_url: &str, url: &str) -> bool {
    let base = http_base_url(relay_url);
    let Some(rest) = url.strip_prefix(base.as_str()) else {
        return false;
    };
    rest.starts_with(MEDIA_PATH)
        && rest.len() > MEDIA_PATH.len()
        && may_forward_authorization(&base, url)
}

/// The download request: `GET url`, with a fresh upgrade token as bearer
/// only when [`is_connector_media_url`] (an `http(s)` URL anywhere else is
/// fetched without one). A connector media URL without credentials in the
/// config is [`HttpCallError::NoCredentials`]; an URL that is not `http://`
/// or `https://` is [`HttpCallError::Transport`].
pub fn media_download_request(
    config: &RelayConfig,
    url: &str,
    now: UnixTime,
) -> Result<HttpRequest, HttpCallError> {
    let url = url.trim();
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err(HttpCallError::transport(
            "a media URL must be an http:// or https:// URL",
        ));
    }
    let mut headers = vec![("Accept".to_owned(), "*/*".to_owned())];
    if is_connector_media_url(&config.relay_url, url) {
        let bearer = bearer(config, now)?;
        headers.insert(0, ("Authorization".to_owned(), format!("Bearer {bearer}")));
    }
    Ok(HttpRequest {
        method: HttpMethod::Get,
        url: url.to_owned(),
        headers,
        body: Vec::new(),
    })
}

/// Whether a download may be read, from its declared `Content-Length`:
/// over [`MEDIA_MAX_BYTES`] is [`HttpCallError::TooLarge`] (the body is
/// then never read). A driver checks this before reading, and reads at most
/// [`MEDIA_MAX_BYTES`] + 1 bytes whatever the header says.
pub fn check_download_length(content_length: Option<u64>) -> Result<(), HttpCallError> {
    match content_length {
        Some(n) if n > MEDIA_MAX_BYTES => Err(HttpCallError::TooLarge {
            size: Some(n),
            max: MEDIA_MAX_BYTES,
        }),
        _ => Ok(()),
    }
}

/// Parses a download: a 2xx with a body of 1 to [`MEDIA_MAX_BYTES`] bytes
/// is the object, with its `Content-Type` and the file name of its
/// `Content-Disposition` (`headers`, names case-insensitive). An empty body
/// is [`HttpCallError::MediaEmpty`], a longer one (a driver that read past
/// the cap) [`HttpCallError::TooLarge`], a failure status
/// [`HttpCallError::Status`].
pub fn parse_media_download(
    status: u16,
    headers: &[(String, String)],
    bytes: Vec<u8>,
) -> Result<MediaObject, HttpCallError> {
    if !is_success(status) {
        return Err(HttpCallError::Status {
            status,
            error: error_of(&bytes),
        });
    }
    if bytes.is_empty() {
        return Err(HttpCallError::MediaEmpty);
    }
    if bytes.len() as u64 > MEDIA_MAX_BYTES {
        return Err(HttpCallError::TooLarge {
            size: None,
            max: MEDIA_MAX_BYTES,
        });
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let content_type = header("content-type")
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned);
    let filename = header("content-disposition").and_then(disposition_file_name);
    Ok(MediaObject {
        bytes,
        content_type,
        filename,
    })
}

/// The file name of a `Content-Disposition` value: what follows the first
/// `filename=` (quotes stripped, up to a `;`), reduced by
/// [`safe_file_name`].
pub fn disposition_file_name(value: &str) -> Option<String> {
    let (_, rest) = value.split_once("filename=")?;
    let rest = rest.trim_start();
    let raw = match rest.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next().unwrap_or(""),
        None => rest.split(';').next().unwrap_or(""),
    };
    safe_file_name(raw)
}

/// A file name safe to write in a header or to use as a local file name:
/// the last component of `name` (after any `/` or `\`), with every
/// character that is not printable ASCII, and `"`, replaced by `_`,
/// truncated to [`MEDIA_FILENAME_MAX_CHARS`]. `None` when nothing usable is
/// left (empty, `.` or `..`).
pub fn safe_file_name(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("").trim();
    let cleaned: String = base
        .chars()
        .take(MEDIA_FILENAME_MAX_CHARS)
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim().to_owned();
    (!cleaned.is_empty() && cleaned != "." && cleaned != "..").then_some(cleaned)
}

/// `value` with every character that a header value cannot carry replaced
/// by `_`.
fn header_safe(value: &str) -> String {
    let value: String = value
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if value.is_empty() {
        "application/octet-stream".to_owned()
    } else {
        value
    }
}

/// A fresh upgrade token of the config's credentials.
fn bearer(config: &RelayConfig, now: UnixTime) -> Result<String, HttpCallError> {
    let (gateway_id, secret) = config.credentials().ok_or(HttpCallError::NoCredentials)?;
    Ok(mint_token(
        gateway_id,
        secret,
        config.timeouts.token_ttl_secs,
        now,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_reduced_to_a_safe_base_name() {
        assert_eq!(
            safe_file_name("../../etc/passwd").as_deref(),
            Some("passwd")
        );
        assert_eq!(safe_file_name("C:\\x\\y.pdf").as_deref(), Some("y.pdf"));
        assert_eq!(
            safe_file_name("été \"x\".pdf").as_deref(),
            Some("_t_ _x_.pdf")
        );
        assert_eq!(safe_file_name(".."), None);
        assert_eq!(safe_file_name("  "), None);
        assert_eq!(safe_file_name(&"a".repeat(300)).map(|n| n.len()), Some(255));
    }

    #[test]
    fn disposition_names() {
        assert_eq!(
            disposition_file_name("attachment; filename=\"report.pdf\"").as_deref(),
            Some("report.pdf")
        );
        assert_eq!(
            disposition_file_name("attachment; filename=a.png; size=3").as_deref(),
            Some("a.png")
        );
        assert_eq!(
            disposition_file_name("attachment; filename=\"../x/evil.sh\"").as_deref(),
            Some("evil.sh")
        );
        assert_eq!(disposition_file_name("inline"), None);
    }

    #[test]
    fn media_ids() {
        assert!(is_media_id("m-0123abcd_x.y~z"));
        assert!(!is_media_id(""));
        assert!(!is_media_id("a/b"));
        assert!(!is_media_id(".."));
        assert!(!is_media_id("a b"));
        assert!(!is_media_id(&"a".repeat(257)));
    }
}
