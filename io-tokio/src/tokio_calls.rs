//! The HTTP calls on the current tokio runtime: thin wrappers over the
//! engine's (`relay_tokio::http`).

use std::path::{Path, PathBuf};

use relay_core::calls::{
    HttpRequest, IssuedCredentials, MediaObject, MediaRef, PolicyBody, ProvisionSummary,
};
use relay_core::config::RelayConfig;

use crate::runtime::TokioRuntime;
use relay_engine::http as engine;

pub use relay_engine::http::{
    BootOutcome, BootProvision, CallError, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_REDIRECTS,
    DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT, EnvFileError, HttpOptions, HttpResponse,
    PolicyStatus, default_env_file, default_gateway_id, extension_for, upload_content_type,
};

/// The current tokio runtime, or [`CallError::NoRuntime`].
fn runtime() -> Result<TokioRuntime, CallError> {
    TokioRuntime::try_current().ok_or(CallError::NoRuntime { runtime: "tokio" })
}

/// Executes a core request (redirects handled as in
/// [`engine::execute`](relay_engine::http::execute)).
pub async fn execute(request: HttpRequest) -> Result<HttpResponse, CallError> {
    engine::execute(&runtime()?, request, &HttpOptions::default()).await
}

/// The identity token: `explicit` when given, else one from the configured
/// identity provider (`GATEWAY_RELAY_IDP_*`).
pub async fn identity_token(
    config: &RelayConfig,
    explicit: Option<&str>,
) -> Result<String, CallError> {
    engine::identity_token(&runtime()?, config, explicit, &HttpOptions::default()).await
}

/// Provisions every fronted platform as [`default_gateway_id`] with an
/// identity token from the configured identity provider.
///
/// `Err` only when no identity token could be had; per-platform failures
/// are in [`ProvisionSummary::failures`].
pub async fn provision(config: &RelayConfig) -> Result<ProvisionSummary, CallError> {
    provision_with(config, &default_gateway_id(config), None).await
}

/// [`provision`] as `gateway_id`, with `identity_token` when given (else
/// the identity provider's).
pub async fn provision_with(
    config: &RelayConfig,
    gateway_id: &str,
    identity_token: Option<&str>,
) -> Result<ProvisionSummary, CallError> {
    let rt = runtime()?;
    let options = HttpOptions::default();
    let token = engine::identity_token(&rt, config, identity_token, &options).await?;
    Ok(engine::provision(&rt, config, gateway_id, &token, &options).await)
}

/// Sends one relevance policy; only HTTP 200 counts. Advisory: log a
/// failure and carry on.
pub async fn policy(config: &RelayConfig, body: &PolicyBody) -> Result<(), CallError> {
    engine::policy(&runtime()?, config, body, &HttpOptions::default()).await
}

/// Sends every policy, fail-soft (see
/// [`engine::send_policies`](relay_engine::http::send_policies)).
pub async fn send_policies(
    config: &RelayConfig,
    bodies: &[PolicyBody],
) -> Result<Vec<(String, Result<(), CallError>)>, CallError> {
    Ok(engine::send_policies(&runtime()?, config, bodies, &HttpOptions::default()).await)
}

/// Redeems the enrollment token (`enrollment_token`, else the config's
/// `GATEWAY_RELAY_ENROLL_TOKEN`) as [`default_gateway_id`], with
/// `identity_token` when given (else the identity provider's).
pub async fn enroll(
    config: &RelayConfig,
    enrollment_token: Option<&str>,
    identity_token: Option<&str>,
) -> Result<IssuedCredentials, CallError> {
    let rt = runtime()?;
    let options = HttpOptions::default();
    let enrollment_token = enrollment_token
        .or(config.enroll_token.as_deref())
        .unwrap_or_default();
    let token = engine::identity_token(&rt, config, identity_token, &options).await?;
    let gateway_id = default_gateway_id(config);
    engine::enroll(&rt, config, &gateway_id, enrollment_token, &token, &options).await
}

/// Provisions the gateway (unless a secret is configured) and declares its
/// relevance policies, as the reference does at boot, with `identity` as
/// identity token when given (see
/// [`engine::boot`](relay_engine::http::boot)). Never fails: start the
/// client with [`BootOutcome::config`].
pub async fn boot(config: RelayConfig, identity: Option<&str>) -> Result<BootOutcome, CallError> {
    Ok(engine::boot(&runtime()?, config, identity, &HttpOptions::default()).await)
}

/// Uploads `bytes` to the connector's media plane (see
/// [`engine::upload_media`](relay_engine::http::upload_media)): the
/// content type is `mime`, else guessed from `filename`.
pub async fn upload_media(
    config: &RelayConfig,
    bytes: Vec<u8>,
    mime: Option<&str>,
    filename: Option<&str>,
) -> Result<MediaRef, CallError> {
    engine::upload_media(
        &runtime()?,
        config,
        bytes,
        mime,
        filename,
        &HttpOptions::default(),
    )
    .await
}

/// Downloads a media object, bounded at 25 MiB (see
/// [`engine::download_media`](relay_engine::http::download_media)).
pub async fn download_media(config: &RelayConfig, url: &str) -> Result<MediaObject, CallError> {
    engine::download_media(&runtime()?, config, url, &HttpOptions::default()).await
}

/// Writes `vars` into the env file at `path`, atomically with mode 0600
/// (see [`engine::write_env_file`](relay_engine::http::write_env_file)),
/// on tokio's blocking threads.
pub async fn write_env_file(path: &Path, vars: &[(&str, String)]) -> Result<(), CallError> {
    let path: PathBuf = path.to_owned();
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    let written = tokio::task::spawn_blocking(move || {
        let borrowed: Vec<(&str, String)> =
            vars.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        engine::write_env_file(&path, &borrowed)
    })
    .await
    .map_err(|_| CallError::RuntimeStopped)?;
    Ok(written?)
}
