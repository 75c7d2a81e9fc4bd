//! Credentials a connector issued (by provisioning or enrollment), and
//! those a gateway runs with once its id is settled.

use core::fmt;

use crate::config::RelayConfig;
use crate::redact::{REDACTED, redacted};

/// Credentials the connector issued. Its `Debug` output redacts the secret
/// and the delivery key.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedCredentials {
    /// The per-gateway secret.
    pub secret: String,
    /// The delivery key, when sent.
    pub delivery_key: Option<String>,
    /// The tenant, when sent.
    pub tenant: Option<String>,
    /// The gateway id the connector recorded, when sent.
    pub gateway_id: Option<String>,
    /// The route keys the connector recorded (`[]` when not sent).
    pub route_keys: Vec<String>,
}

impl fmt::Debug for IssuedCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCredentials")
            .field("secret", &REDACTED)
            .field("delivery_key", &redacted(&self.delivery_key))
            .field("tenant", &self.tenant)
            .field("gateway_id", &self.gateway_id)
            .field("route_keys", &self.route_keys)
            .finish()
    }
}

impl IssuedCredentials {
    /// Resolves the gateway id: the connector's (when non-empty), else
    /// `own_gateway_id` (the one the request was made with).
    pub fn resolve(&self, own_gateway_id: &str) -> ResolvedCredentials {
        ResolvedCredentials {
            gateway_id: self
                .gateway_id
                .clone()
                .filter(|g| !g.is_empty())
                .unwrap_or_else(|| own_gateway_id.to_owned()),
            secret: self.secret.clone(),
            delivery_key: self.delivery_key.clone(),
            tenant: self.tenant.clone(),
        }
    }
}

/// Credentials to run with: the gateway id is settled. Its `Debug` output
/// redacts the secret and the delivery key.
#[derive(Clone, PartialEq, Eq)]
pub struct ResolvedCredentials {
    /// The gateway id (`GATEWAY_RELAY_ID`).
    pub gateway_id: String,
    /// The per-gateway secret (`GATEWAY_RELAY_SECRET`).
    pub secret: String,
    /// The delivery key (`GATEWAY_RELAY_DELIVERY_KEY`), when issued.
    pub delivery_key: Option<String>,
    /// The tenant, when known (informational).
    pub tenant: Option<String>,
}

impl fmt::Debug for ResolvedCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolvedCredentials")
            .field("gateway_id", &self.gateway_id)
            .field("secret", &REDACTED)
            .field("delivery_key", &redacted(&self.delivery_key))
            .field("tenant", &self.tenant)
            .finish()
    }
}

impl ResolvedCredentials {
    /// Sets the config's gateway id, secret and (when issued) delivery key.
    pub fn apply_to(&self, config: &mut RelayConfig) {
        config.gateway_id = Some(self.gateway_id.clone());
        config.secret = Some(self.secret.clone());
        if let Some(key) = &self.delivery_key {
            config.delivery_key = Some(key.clone());
        }
    }

    /// `GATEWAY_RELAY_ID`, `GATEWAY_RELAY_SECRET` and (when issued)
    /// `GATEWAY_RELAY_DELIVERY_KEY`, in that order.
    pub fn env_vars(&self) -> Vec<(&'static str, String)> {
        let mut vars = vec![
            ("GATEWAY_RELAY_ID", self.gateway_id.clone()),
            ("GATEWAY_RELAY_SECRET", self.secret.clone()),
        ];
        if let Some(key) = &self.delivery_key {
            vars.push(("GATEWAY_RELAY_DELIVERY_KEY", key.clone()));
        }
        vars
    }
}
