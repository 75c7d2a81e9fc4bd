//! The configuration of a subcommand: the `GATEWAY_RELAY_*` environment
//! with the flags that override it on top.

use std::collections::HashMap;

use clap::Args;
use relay_core::config::RelayConfig;

use crate::exit::{Exit, fail};

/// Where the connector is and who the gateway is; each flag overrides its
/// environment variable.
#[derive(Clone, Debug, Default, Args)]
pub struct RelayArgs {
    /// Connector base or relay URL (`wss://…/relay` or `https://…`)
    /// [default: $GATEWAY_RELAY_URL].
    #[arg(
        long = "connector-url",
        visible_alias = "relay-url",
        value_name = "URL"
    )]
    pub connector_url: Option<String>,
    /// Gateway id [default: $GATEWAY_RELAY_ID, else gw-HOSTNAME].
    #[arg(long, value_name = "ID")]
    pub gateway_id: Option<String>,
}

impl RelayArgs {
    /// The flags as environment overrides.
    pub fn overrides(&self) -> Vec<(&'static str, Option<String>)> {
        vec![
            ("GATEWAY_RELAY_URL", self.connector_url.clone()),
            ("GATEWAY_RELAY_ID", self.gateway_id.clone()),
        ]
    }
}

/// What a credential call (`relay enroll`, `relay provision`) is made
/// with; each flag overrides its environment variable.
#[derive(Clone, Debug, Default, Args)]
pub struct CredentialArgs {
    #[command(flatten)]
    pub relay: RelayArgs,
    /// Wake URL: the connector pokes it to wake an idle gateway (provision
    /// registers it, enroll also writes it to the env file)
    /// [default: $GATEWAY_RELAY_WAKE_URL].
    #[arg(long, value_name = "URL")]
    pub wake_url: Option<String>,
    /// Identity token (bearer) [default: one from the identity provider,
    /// $GATEWAY_RELAY_IDP_*].
    #[arg(
        long,
        value_name = "TOKEN",
        env = "GATEWAY_RELAY_IDENTITY_TOKEN",
        hide_env_values = true
    )]
    pub identity_token: Option<String>,
}

impl CredentialArgs {
    /// The configuration of the call: these flags and `extra` over the
    /// environment. Such a call obtains credentials and dials no relay
    /// socket, so missing relay credentials are not an error here.
    pub fn load_config(&self, extra: (&'static str, Option<String>)) -> Result<RelayConfig, Exit> {
        let mut overrides = self.relay.overrides();
        overrides.push(extra);
        overrides.push(("GATEWAY_RELAY_WAKE_URL", self.wake_url.clone()));
        overrides.push(("GATEWAY_RELAY_RS_ALLOW_UNAUTHENTICATED", Some("1".into())));
        if let Some(token) = &self.identity_token {
            crate::logging::register_secret(token);
        }
        load_config(&overrides)
    }
}

/// `" (tenant T)"` when a tenant is known, else nothing.
pub fn tenant_suffix(tenant: Option<&str>) -> String {
    tenant.map(|t| format!(" (tenant {t})")).unwrap_or_default()
}

/// The configuration: the `GATEWAY_RELAY_*` environment with `overrides`
/// (set flags) on top. Warnings are printed; an unusable configuration is
/// reported and `Err(Exit::Usage)`.
pub fn load_config(overrides: &[(&'static str, Option<String>)]) -> Result<RelayConfig, Exit> {
    let set: HashMap<&str, &str> = overrides
        .iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (*k, v)))
        .collect();
    // Values are read as the OS gives them: one that is not UTF-8 is an
    // error naming its variable, never silently replaced.
    let get = |name: &str| match set.get(name) {
        Some(v) => Some(std::ffi::OsString::from(*v)),
        None => std::env::var_os(name),
    };
    match RelayConfig::from_env_os_map(get) {
        Ok((config, warnings)) => {
            register_secrets(&config);
            for warning in warnings {
                eprintln!("warning: {warning}");
            }
            Ok(config)
        }
        Err(e) => Err(fail(Exit::Usage, e)),
    }
}

/// Registers the configuration's secrets with the log scrubber.
pub fn register_secrets(config: &RelayConfig) {
    let secrets = [
        config.secret.as_deref(),
        config.delivery_key.as_deref(),
        config.enroll_token.as_deref(),
        config.idp.as_ref().and_then(|idp| idp.client_secret()),
    ];
    for secret in secrets.into_iter().flatten() {
        crate::logging::register_secret(secret);
    }
}
