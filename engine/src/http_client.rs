//! The HTTP client of the calls: one request over a blocking ureq agent
//! (rustls with ring, the webpki roots), run off the async threads through
//! [`Runtime::unblock`], with the redirect rules of [`execute`].

use std::time::Duration;

use relay_core::calls::{
    HTTP_TIMEOUT, HttpCallError, HttpMethod, HttpRequest, may_forward_authorization,
};

use super::call_error::CallError;
use super::runtime::{Runtime, run_blocking};

/// Most redirects [`execute`] follows for one call (5).
pub const DEFAULT_MAX_REDIRECTS: u32 = 5;

/// Largest response body [`execute`] reads (1 MiB); a longer one is a
/// transport error.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 1024 * 1024;

/// Connect timeout of one request, TCP and TLS included: the core's
/// [`HTTP_TIMEOUT`] (15 s, as the reference).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = HTTP_TIMEOUT;

/// Overall timeout of one request, from resolving the host to the last
/// byte of the body: the core's [`HTTP_TIMEOUT`] (15 s, as the reference).
/// Each redirect hop gets its own.
pub const DEFAULT_TIMEOUT: Duration = HTTP_TIMEOUT;

/// How [`execute`] runs a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpOptions {
    /// Most redirects followed ([`DEFAULT_MAX_REDIRECTS`]); one more is
    /// [`HttpCallError::Transport`].
    pub max_redirects: u32,
    /// Largest response body read ([`DEFAULT_MAX_RESPONSE_BYTES`]).
    pub max_response_bytes: u64,
    /// Connect timeout ([`DEFAULT_CONNECT_TIMEOUT`]).
    pub connect_timeout: Duration,
    /// Overall timeout of each hop ([`DEFAULT_TIMEOUT`]).
    pub timeout: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            max_redirects: DEFAULT_MAX_REDIRECTS,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// A response: the final status, headers and body, after redirects.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// HTTP status of the last hop.
    pub status: u16,
    /// Its headers in order (names lowercase; values that are not text are
    /// left out).
    pub headers: Vec<(String, String)>,
    /// Its body (at most [`HttpOptions::max_response_bytes`]).
    pub body: Vec<u8>,
    /// The URL that answered (the request's own URL unless redirected).
    pub url: String,
}

impl std::fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The body may carry issued credentials: show its length only.
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("headers", &self.headers.len())
            .field("body_len", &self.body.len())
            .field("url", &self.url)
            .finish()
    }
}

/// Executes `request` through `rt` (the blocking work runs in
/// [`Runtime::unblock`]), following redirects as described in the module
/// documentation. Any status comes back as a response; only transport
/// failures (connect, TLS, timeout, too many or broken redirects) and a body
/// over [`HttpOptions::max_response_bytes`] ([`HttpCallError::TooLarge`]:
/// refused from its `Content-Length` before it is read, or cut off at the
/// bound) are errors.
pub async fn execute(
    rt: &dyn Runtime,
    request: HttpRequest,
    options: &HttpOptions,
) -> Result<HttpResponse, CallError> {
    let options = options.clone();
    run_blocking(rt, move || execute_blocking(request, &options))
        .await
        .ok_or(CallError::RuntimeStopped)?
        .map_err(CallError::from)
}

/// [`execute`] on the calling thread (blocks it).
pub fn execute_blocking(
    request: HttpRequest,
    options: &HttpOptions,
) -> Result<HttpResponse, HttpCallError> {
    let agent = agent(options);
    let original_url = request.url.clone();
    let mut current = request;
    let mut redirects = 0u32;
    loop {
        let (status, headers, body) = send_once(&agent, &current, options)?;
        let location = headers
            .iter()
            .find(|(n, _)| n == "location")
            .map(|(_, v)| v.clone());
        let Some(location) = location.filter(|_| is_redirect(status)) else {
            return Ok(HttpResponse {
                status,
                headers,
                body,
                url: current.url,
            });
        };
        if redirects >= options.max_redirects {
            return Err(HttpCallError::transport(format!(
                "more than {} redirects (last to {})",
                options.max_redirects,
                url_for_display(&location)
            )));
        }
        redirects += 1;
        let next_url =
            relay_core::calls::resolve_redirect(&current.url, &location).ok_or_else(|| {
                HttpCallError::transport(format!(
                    "HTTP {status} redirect to an unusable location {:?}",
                    url_for_display(&location)
                ))
            })?;
        if is_https(&current.url) && !is_https(&next_url) {
            return Err(HttpCallError::transport(format!(
                "HTTP {status} redirect from https to plain http ({}) refused; check the connector URL",
                url_for_display(&next_url)
            )));
        }
        // Checked hop by hop against the previous URL and once more against
        // the original: a bearer never leaves the original origin, even via
        // a detour.
        let keep_auth = may_forward_authorization(&current.url, &next_url)
            && may_forward_authorization(&original_url, &next_url);
        log::debug!(
            "following redirect ({status}) to {} (keep authorization: {keep_auth})",
            url_for_display(&next_url)
        );
        current = redirected(current, status, next_url, keep_auth);
    }
}

/// A blocking agent that follows no redirect and reports every status.
fn agent(options: &HttpOptions) -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_connect(Some(options.connect_timeout))
        .timeout_global(Some(options.timeout))
        .user_agent(concat!("relay-rs/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
}

/// Headers in order: lowercase names and their text values.
type Headers = Vec<(String, String)>;

/// Sends one request; returns the status, the headers and the (bounded)
/// body.
fn send_once(
    agent: &ureq::Agent,
    request: &HttpRequest,
    options: &HttpOptions,
) -> Result<(u16, Headers, Vec<u8>), HttpCallError> {
    if !is_http_url(&request.url) {
        return Err(HttpCallError::transport(format!(
            "{} is not an http:// or https:// URL; check GATEWAY_RELAY_URL",
            url_for_display(&request.url)
        )));
    }
    let mut builder = ureq::http::Request::builder()
        .method(request.method.as_str())
        .uri(request.url.as_str());
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    // The body is lent, not copied: a media upload is up to 25 MiB.
    let result = match request.method {
        HttpMethod::Get => builder.body(()).map(|r| agent.run(r)),
        HttpMethod::Post => builder.body(request.body.as_slice()).map(|r| agent.run(r)),
    };
    let mut response = result
        .map_err(|e| HttpCallError::transport(format!("invalid request: {e}")))?
        .map_err(|e| transport_error(&request.url, e))?;
    let status = response.status().as_u16();
    let headers: Headers = response
        .headers()
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let too_large = |size| HttpCallError::TooLarge {
        size,
        max: options.max_response_bytes,
    };
    // A declared length over the bound is refused before the body is read.
    let declared = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.trim().parse::<u64>().ok());
    if let Some(n) = declared.filter(|n| *n > options.max_response_bytes) {
        return Err(too_large(Some(n)));
    }
    // Whatever the headers say (or omit), at most the bound is read.
    let body = response
        .body_mut()
        .with_config()
        .limit(options.max_response_bytes)
        .read_to_vec()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => too_large(None),
            e => transport_error(&request.url, e),
        })?;
    Ok((status, headers, body))
}

/// A ureq error as a transport error, with a hint.
fn transport_error(url: &str, e: ureq::Error) -> HttpCallError {
    let url = url_for_display(url);
    let hint = match &e {
        ureq::Error::Timeout(_) => "; the connector is slow or unreachable, retry later",
        ureq::Error::HostNotFound => "; check the host name in GATEWAY_RELAY_URL",
        ureq::Error::ConnectionFailed | ureq::Error::Io(_) => {
            "; check GATEWAY_RELAY_URL and that the connector is up"
        }
        _ => "",
    };
    HttpCallError::transport(format!("{url}: {e}{hint}"))
}

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// The request to send after a redirect: 307 and 308 keep the method and
/// the body, the others become a `GET` without a body (as browsers and the
/// common HTTP clients do). `Authorization` is dropped unless `keep_auth`.
fn redirected(mut request: HttpRequest, status: u16, url: String, keep_auth: bool) -> HttpRequest {
    request.url = url;
    if !keep_auth {
        request
            .headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("authorization"));
    }
    if !matches!(status, 307 | 308) && request.method != HttpMethod::Get {
        request.method = HttpMethod::Get;
        request.body = Vec::new();
        request.headers.retain(|(n, _)| {
            !n.eq_ignore_ascii_case("content-type") && !n.eq_ignore_ascii_case("content-length")
        });
    }
    request
}

fn is_https(url: &str) -> bool {
    url.get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
}

fn is_http_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// A URL for messages: without user info, query or fragment.
fn url_for_display(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or("");
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}{path}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_detection() {
        assert!(is_https("HTTPS://h/"));
        assert!(!is_https("http://h/"));
        assert!(!is_https("https:"));
    }

    #[test]
    fn display_urls_hide_user_info_and_query() {
        assert_eq!(
            url_for_display("https://u:p@h:8/a/b?token=x#f"),
            "https://h:8/a/b"
        );
    }

    #[test]
    fn redirects_rewrite_the_request() {
        let request = HttpRequest {
            method: HttpMethod::Post,
            url: "http://a/x".into(),
            headers: vec![
                ("Authorization".into(), "Bearer t".into()),
                ("Content-Type".into(), "application/json".into()),
            ],
            body: b"{}".to_vec(),
        };
        let kept = redirected(request.clone(), 307, "http://a/y".into(), true);
        assert_eq!(kept.method, HttpMethod::Post);
        assert_eq!(kept.body, b"{}");
        assert!(kept.header("authorization").is_some());
        let moved = redirected(request, 302, "http://b/y".into(), false);
        assert_eq!(moved.method, HttpMethod::Get);
        assert!(moved.body.is_empty());
        assert!(moved.header("authorization").is_none());
        assert!(moved.header("content-type").is_none());
    }
}
