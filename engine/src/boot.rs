//! Self-provisioning and relevance policies at start, as the reference does
//! at boot: one call, [`boot`], that never fails and never blocks the start.

use relay_core::calls::{PolicyBody, ProvisionSummary, relevance_policies};
use relay_core::config::RelayConfig;

use super::call_error::CallError;
use super::calls::{default_gateway_id, identity_token, policy, provision};
use super::http_client::HttpOptions;
use super::runtime::Runtime;

/// What [`boot`] did about provisioning.
#[derive(Debug)]
#[non_exhaustive]
pub enum BootProvision {
    /// A secret is configured (pinned): it is used as is, nothing is
    /// provisioned.
    SecretPinned,
    /// No identity token could be had (none configured, or the identity
    /// provider failed): the gateway starts without the credentials.
    NoIdentityToken(CallError),
    /// Every fronted platform was provisioned (see the summary for which
    /// failed, which were recorded without a secret, and the credentials).
    Provisioned(ProvisionSummary),
}

/// What [`boot`] did about one platform's relevance policy.
#[derive(Debug)]
#[non_exhaustive]
pub enum PolicyStatus {
    /// Nothing configured differs from the connector's default: nothing sent.
    NothingToDeclare,
    /// The gateway has no credentials to authenticate the call with.
    NoCredentials,
    /// The connector accepted it (HTTP 200).
    Accepted(PolicyBody),
    /// The call failed or was answered with another status; the connector
    /// keeps its previous policy.
    Failed(PolicyBody, CallError),
}

/// What [`boot`] did, and the configuration to start with.
#[derive(Debug)]
pub struct BootOutcome {
    /// The configuration to start the client with: the one given, with the
    /// credentials provisioning obtained (gateway id, secret, delivery key)
    /// applied. They live only in memory: nothing is written to disk.
    pub config: RelayConfig,
    /// What happened to provisioning.
    pub provision: BootProvision,
    /// Each fronted platform's relevance policy, in hello order.
    pub policies: Vec<(String, PolicyStatus)>,
}

impl BootOutcome {
    /// Whether the configuration to start with has credentials.
    pub fn has_credentials(&self) -> bool {
        self.config.credentials().is_some()
    }
}

/// Provisions the gateway and declares its relevance policies, as the
/// reference does at boot; returns the configuration to start with. It
/// never fails: each failure is logged (a warning), reported in the
/// outcome, and the start goes on.
///
/// 1. **Provision**, unless a secret is configured: the identity token
///    (`identity` when given, else from the configured identity provider,
///    client credentials or ambient endpoint), then one
///    `POST /relay/provision` per fronted platform as
///    [`default_gateway_id`], with `displayName` when configured. A
///    failing platform is skipped; the first response carrying a secret
///    sets the gateway id, secret and delivery key, in memory only;
///    `secretIssued: false` is recorded, not an error.
/// 2. **Policies**: per fronted platform, its relevance policy from
///    [`RelayConfig::relevance`] (an explicit `require_mention: false`
///    included), sent when there is something to declare and the gateway
///    has credentials; only HTTP 200 counts.
pub async fn boot(
    rt: &dyn Runtime,
    mut config: RelayConfig,
    identity: Option<&str>,
    options: &HttpOptions,
) -> BootOutcome {
    let pinned = config.secret.as_deref().is_some_and(|s| !s.is_empty());
    let provision_step = if pinned {
        log::info!("relay self-provision skipped: a secret is configured");
        BootProvision::SecretPinned
    } else {
        match identity_token(rt, &config, identity, options).await {
            Err(e) => {
                log::warn!("relay self-provision skipped: no identity token ({e})");
                BootProvision::NoIdentityToken(e)
            }
            Ok(token) => {
                let gateway_id = default_gateway_id(&config);
                let summary = provision(rt, &config, &gateway_id, &token, options).await;
                match &summary.credentials {
                    Some(credentials) => {
                        credentials.apply_to(&mut config);
                        log::info!(
                            "relay self-provisioned as {} (credentials from {})",
                            credentials.gateway_id,
                            summary.credentials_from.as_deref().unwrap_or("?")
                        );
                    }
                    None => log::warn!(
                        "relay self-provision issued no credentials; starting without them"
                    ),
                }
                BootProvision::Provisioned(summary)
            }
        }
    };
    let mut policies = Vec::new();
    for (platform, body) in relevance_policies(&config) {
        let status = match body {
            None => PolicyStatus::NothingToDeclare,
            Some(_) if config.credentials().is_none() => PolicyStatus::NoCredentials,
            Some(body) => match policy(rt, &config, &body, options).await {
                Ok(()) => {
                    log::info!("relay policy declared for {platform}");
                    PolicyStatus::Accepted(body)
                }
                Err(e) => {
                    log::warn!(
                        "relay policy for {platform} not accepted; the connector keeps its previous one: {e}"
                    );
                    PolicyStatus::Failed(body, e)
                }
            },
        };
        policies.push((platform, status));
    }
    BootOutcome {
        config,
        provision: provision_step,
        policies,
    }
}
