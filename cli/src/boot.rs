//! `relay connect --self-provision`: provisioning and relevance policies at
//! start (one engine call), reported on stderr. Nothing here stops the
//! start.

use relay_core::config::RelayConfig;
use relay_tokio::http::{self, BootProvision, PolicyStatus};

use crate::config::register_secrets;

/// Runs the boot sequence with `identity` as identity token when given,
/// reports it per platform on stderr, and returns the configuration to
/// start with (credentials obtained live in memory only).
pub async fn run(config: RelayConfig, identity: Option<&str>) -> RelayConfig {
    let outcome = match http::boot(config.clone(), identity).await {
        Ok(outcome) => outcome,
        Err(e) => {
            eprintln!("warning: self-provision not run: {e}");
            return config;
        }
    };
    register_secrets(&outcome.config);
    match &outcome.provision {
        BootProvision::SecretPinned => {
            eprintln!("self-provision: skipped, GATEWAY_RELAY_SECRET is set");
        }
        BootProvision::NoIdentityToken(e) => {
            eprintln!("warning: self-provision: no identity token ({e}); starting without it");
        }
        BootProvision::Provisioned(summary) => {
            for (platform, error) in &summary.failures {
                eprintln!("warning: self-provision: {platform}: failed: {error}");
            }
            for platform in &summary.not_issued {
                eprintln!("self-provision: {platform}: recorded, no secret issued");
            }
            match (&summary.credentials, &summary.credentials_from) {
                (Some(creds), Some(from)) => eprintln!(
                    "self-provision: {from}: credentials issued for gateway {} (kept in memory)",
                    creds.gateway_id
                ),
                _ => eprintln!(
                    "warning: self-provision: no credentials were issued; starting without them"
                ),
            }
        }
        _ => {}
    }
    for (platform, status) in &outcome.policies {
        match status {
            PolicyStatus::Accepted(_) => eprintln!("policy: {platform}: accepted"),
            PolicyStatus::Failed(_, e) => {
                eprintln!(
                    "warning: policy: {platform}: not accepted ({e}); the connector keeps its previous one"
                );
            }
            PolicyStatus::NoCredentials => {
                eprintln!("warning: policy: {platform}: not sent, no credentials");
            }
            _ => {}
        }
    }
    outcome.config
}
