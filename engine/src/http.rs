//! The HTTP calls (provision, policy, enroll, the identity-provider token),
//! runtime-neutral.
//!
//! The requests and the reading of the responses are the core's
//! ([`relay_core::calls`]); this module only executes them: with a blocking
//! [`ureq`] agent (rustls with ring, the webpki roots), run off the async
//! threads through [`Runtime::unblock`].
//!
//! The agent follows no redirect itself. [`execute`] follows up to
//! [`HttpOptions::max_redirects`] of them and drops the `Authorization`
//! header whenever [`may_forward_authorization`] says so: a bearer never
//! travels to another origin, and a redirect from `https` to plain `http`
//! is refused. Failure statuses come back as a status and a body (bounded
//! by [`HttpOptions::max_response_bytes`]) for the core's parsers to read.
//!
//! Every call that talks to the connector returns a [`CallError`] that says
//! what went wrong and what to do next; nothing here logs a secret or a
//! token.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use relay_core::calls::{
    EnrollRequestBody, HTTP_TIMEOUT, HttpCallError, HttpMethod, HttpRequest, IssuedCredentials,
    PolicyBody, ProvisionSummary, enroll_request, idp_token_request, may_forward_authorization,
    merge_provision_outcomes, parse_enroll_response, parse_idp_token_response,
    parse_policy_response, parse_provision_response, policy_request_for, provision_requests,
    render_env_file,
};
use relay_core::config::RelayConfig;

use super::clock::Clock;
use super::{Runtime, run_blocking};

/// Most redirects [`execute`] follows for one call (5).
pub const DEFAULT_MAX_REDIRECTS: u32 = 5;

/// Largest env file [`write_env_file`] reads before merging (1 MiB); a
/// longer one, or a device or pipe that never ends, is refused.
pub const MAX_ENV_FILE_BYTES: u64 = 1024 * 1024;

/// Reads at most `max` bytes of `path`: a file (or device, or pipe) with more
/// is refused with `InvalidData`, whatever its metadata says. Memory stays
/// bounded by `max` even for `/dev/zero`.
pub fn read_capped(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    use std::io::Read as _;
    let file = fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("it holds more than {max} bytes; is it the right file?"),
        ));
    }
    Ok(bytes)
}

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

/// A response: the final status and body, after redirects.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// HTTP status of the last hop.
    pub status: u16,
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
            .field("body_len", &self.body.len())
            .field("url", &self.url)
            .finish()
    }
}

/// Why a call did not succeed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The connector (or identity provider) refused, or could not be
    /// reached; see [`HttpCallError`] for the cases.
    #[error(transparent)]
    Http(#[from] HttpCallError),
    /// Something the call needs is not configured.
    #[error("{what} is not configured: {hint}")]
    NotConfigured {
        /// What is missing.
        what: &'static str,
        /// How to provide it.
        hint: &'static str,
    },
    /// The env file could not be written.
    #[error(transparent)]
    EnvFile(#[from] EnvFileError),
    /// The runtime dropped the blocking work before it finished (it is
    /// shutting down).
    #[error("the async runtime stopped before the call finished; retry on a running runtime")]
    RuntimeStopped,
    /// The call was made outside the async runtime it needs.
    #[error("not called inside a {runtime} runtime; call it from a task of one")]
    NoRuntime {
        /// The runtime expected (`tokio`, `smol`).
        runtime: &'static str,
    },
}

/// Why [`write_env_file`] failed. The file is left as it was.
#[derive(Debug, thiserror::Error)]
#[error("could not {action} the env file {}: {source}; check the directory exists and is writable", path.display())]
pub struct EnvFileError {
    /// The file concerned.
    pub path: PathBuf,
    /// What was being done (`read`, `write`, `replace`, ...).
    pub action: &'static str,
    /// The I/O error.
    #[source]
    pub source: io::Error,
}

// ---------------------------------------------------------------------------
// Executing a request
// ---------------------------------------------------------------------------

/// Executes `request` through `rt` (the blocking work runs in
/// [`Runtime::unblock`]), following redirects as described in the module
/// documentation. Any status comes back as a response; only transport
/// failures (connect, TLS, timeout, an oversized body, too many or broken
/// redirects) are errors.
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
        let (status, location, body) = send_once(&agent, &current, options)?;
        let Some(location) = location.filter(|_| is_redirect(status)) else {
            return Ok(HttpResponse {
                status,
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

/// Sends one request; returns the status, the `Location` header and the
/// (bounded) body.
fn send_once(
    agent: &ureq::Agent,
    request: &HttpRequest,
    options: &HttpOptions,
) -> Result<(u16, Option<String>, Vec<u8>), HttpCallError> {
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
    let result = match request.method {
        HttpMethod::Get => builder.body(()).map(|r| agent.run(r)),
        HttpMethod::Post => builder.body(request.body.clone()).map(|r| agent.run(r)),
    };
    let mut response = result
        .map_err(|e| HttpCallError::transport(format!("invalid request: {e}")))?
        .map_err(|e| transport_error(&request.url, e))?;
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response
        .body_mut()
        .with_config()
        .limit(options.max_response_bytes)
        .read_to_vec()
        .map_err(|e| transport_error(&request.url, e))?;
    Ok((status, location, body))
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
        ureq::Error::BodyExceedsLimit(_) => "; the response is too large to be a connector answer",
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

// ---------------------------------------------------------------------------
// The calls
// ---------------------------------------------------------------------------

/// The identity token to provision or enroll with: `explicit` when given
/// (non-empty), else one fetched from the configured identity provider
/// (`GATEWAY_RELAY_IDP_*`).
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
        hint: "set GATEWAY_RELAY_IDP_TOKEN_URL, _IDP_CLIENT_ID and _IDP_CLIENT_SECRET, or pass an identity token",
    })?;
    let response = execute(rt, idp_token_request(idp), options).await?;
    Ok(parse_idp_token_response(response.status, &response.body)?)
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
/// or persist them with [`write_env_file`].
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
        policy_request_for(config, body, Clock::wall()).ok_or(CallError::NotConfigured {
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
/// [`write_env_file`]: the connector issues it only once.
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

// ---------------------------------------------------------------------------
// The env file
// ---------------------------------------------------------------------------

/// The env file the reference writes: `$HERMES_HOME/.env`, else
/// `~/.hermes/.env`. `None` when neither variable says where home is.
pub fn default_env_file() -> Option<PathBuf> {
    let non_empty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(home) = non_empty("HERMES_HOME") {
        return Some(PathBuf::from(home).join(".env"));
    }
    non_empty("HOME")
        .or_else(|| non_empty("USERPROFILE"))
        .map(|home| PathBuf::from(home).join(".hermes").join(".env"))
}

/// Writes `vars` into the env file at `path` (blocking):
/// [`render_env_file`] merges them into the existing content (unrelated
/// lines kept in order), and the result replaces the file atomically: a
/// temporary file in the same directory, created with mode 0600, written,
/// synced, then renamed over `path`. The parent directory is created
/// (mode 0700) when missing.
pub fn write_env_file(path: &Path, vars: &[(&str, String)]) -> Result<(), EnvFileError> {
    let err = |action: &'static str| {
        move |source: io::Error| EnvFileError {
            path: path.to_owned(),
            action,
            source,
        }
    };
    let existing = match read_capped(path, MAX_ENV_FILE_BYTES) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| {
            err("read")(io::Error::new(
                io::ErrorKind::InvalidData,
                "the file is not UTF-8; fix or move it",
            ))
        })?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(err("read")(e)),
    };
    let rendered = render_env_file(&existing, vars);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    if !dir.exists() {
        create_private_dir(&dir).map_err(err("create the directory of"))?;
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            err("write")(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the path names no file",
            ))
        })?;
    let (tmp_path, mut file) =
        create_temp(&dir, &file_name).map_err(err("create a temporary file next to"))?;
    let written = file
        .write_all(rendered.as_bytes())
        .and_then(|()| file.sync_all());
    drop(file);
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp_path);
        return Err(err("write")(e));
    }
    if let Err(e) = fs::rename(&tmp_path, path) {
        let _ = fs::remove_file(&tmp_path);
        return Err(err("replace")(e));
    }
    // Make the rename durable (best effort: not every platform can open a
    // directory).
    if let Ok(d) = fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Creates a new temporary file `.<name>.tmp-<pid>-<n>` in `dir` with mode
/// 0600 (never opening an existing file).
fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, fs::File)> {
    let pid = std::process::id();
    let mut last = None;
    for n in 0..100u32 {
        let candidate = dir.join(format!(".{name}.tmp-{pid}-{n}"));
        let mut open = fs::OpenOptions::new();
        open.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            open.mode(0o600);
        }
        match open.open(&candidate) {
            Ok(file) => return Ok((candidate, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free temporary file name")))
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
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
