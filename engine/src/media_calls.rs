//! The media plane's calls: upload (`POST {connector}/relay/media`) and
//! download (`GET {connector}/relay/media/{id}`, or any `http(s)` URL).
//! The requests and the reading of the answers are the core's
//! ([`relay_core::calls`]); these functions run them through [`execute`]
//! with the media plane's bounds.

use relay_core::calls::{
    MEDIA_MAX_BYTES, MEDIA_TIMEOUT, MediaObject, MediaRef, media_download_request,
    media_upload_request, parse_media_download, parse_media_upload_response,
};
use relay_core::config::RelayConfig;

use super::call_error::CallError;
use super::http_client::{DEFAULT_TIMEOUT, HttpOptions, execute};
use super::runtime::Runtime;

/// The options of a media call: `options`, with the media plane's timeout
/// ([`MEDIA_TIMEOUT`], 30 s per hop) in place of the default one, and at
/// most `max_response_bytes` read.
fn media_options(options: &HttpOptions, max_response_bytes: u64) -> HttpOptions {
    let timeout = if options.timeout == DEFAULT_TIMEOUT {
        MEDIA_TIMEOUT
    } else {
        options.timeout
    };
    HttpOptions {
        timeout,
        max_response_bytes,
        ..options.clone()
    }
}

/// The content type of an upload: `mime` when given, else a guess from the
/// file name's extension, else `application/octet-stream`.
pub fn upload_content_type(mime: Option<&str>, filename: Option<&str>) -> String {
    if let Some(mime) = mime.map(str::trim).filter(|m| !m.is_empty()) {
        return mime.to_owned();
    }
    filename
        .and_then(|name| mime_guess::from_path(name).first_raw())
        .unwrap_or("application/octet-stream")
        .to_owned()
}

/// A file-name extension for a content type (`application/pdf` → `pdf`),
/// when one is known.
pub fn extension_for(content_type: &str) -> Option<&'static str> {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    mime_guess::get_mime_extensions_str(essence).and_then(|exts| exts.first().copied())
}

/// Uploads `bytes` (1 to [`MEDIA_MAX_BYTES`]) to the connector, with a fresh
/// upgrade token of the configured credentials as bearer, and returns where
/// it lives: the id, and the URL a `send_media` action names.
///
/// The content type is `mime`, else guessed from `filename`'s extension,
/// else `application/octet-stream`. An empty or oversized body is refused
/// before anything is sent.
pub async fn upload_media(
    rt: &dyn Runtime,
    config: &RelayConfig,
    bytes: Vec<u8>,
    mime: Option<&str>,
    filename: Option<&str>,
    options: &HttpOptions,
) -> Result<MediaRef, CallError> {
    let content_type = upload_content_type(mime, filename);
    let request = media_upload_request(config, bytes, &content_type, filename, rt.wall_clock())?;
    let options = media_options(options, options.max_response_bytes);
    let response = execute(rt, request, &options).await?;
    Ok(parse_media_upload_response(
        &config.relay_url,
        response.status,
        &response.body,
    )?)
}

/// Downloads a media object: `url` is a connector media URL
/// (`{connector}/relay/media/{id}`, fetched with a fresh upgrade token as
/// bearer) or any other `http(s)` URL (fetched without one).
///
/// Bounded: a `Content-Length` over [`MEDIA_MAX_BYTES`] is refused before
/// the body is read, and a body that runs past it (whatever the headers say)
/// is cut off; both are
/// [`HttpCallError::TooLarge`](relay_core::calls::HttpCallError::TooLarge).
pub async fn download_media(
    rt: &dyn Runtime,
    config: &RelayConfig,
    url: &str,
    options: &HttpOptions,
) -> Result<MediaObject, CallError> {
    let request = media_download_request(config, url, rt.wall_clock())?;
    let options = media_options(options, MEDIA_MAX_BYTES);
    let response = execute(rt, request, &options).await?;
    Ok(parse_media_download(
        response.status,
        &response.headers,
        response.body,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert_eq!(
            upload_content_type(Some("image/x"), Some("a.pdf")),
            "image/x"
        );
        assert_eq!(upload_content_type(None, Some("a.pdf")), "application/pdf");
        assert_eq!(
            upload_content_type(None, Some("a.unknownext")),
            "application/octet-stream"
        );
        assert_eq!(
            upload_content_type(Some(" "), None),
            "application/octet-stream"
        );
        assert_eq!(extension_for("application/pdf; q=1"), Some("pdf"));
        assert_eq!(extension_for("x/unknown"), None);
    }
}
