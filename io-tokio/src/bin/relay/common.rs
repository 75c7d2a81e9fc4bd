//! What the subcommands share: exit codes, configuration from flags and the
//! environment, the runtime for the HTTP calls.

use std::collections::HashMap;
use std::future::Future;
use std::process::ExitCode;

use clap::Args;
use relay_core::config::RelayConfig;
use relay_tokio::http::CallError;

/// How a subcommand ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Everything worked (0).
    Ok,
    /// The operation failed (1).
    Failed,
    /// The command line or the configuration is unusable (2).
    Usage,
    /// The connector revoked the gateway's credential (3).
    Revoked,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        match exit {
            Exit::Ok => ExitCode::SUCCESS,
            Exit::Failed => ExitCode::from(1),
            Exit::Usage => ExitCode::from(2),
            Exit::Revoked => ExitCode::from(3),
        }
    }
}

/// Prints `error: <message>` to stderr and returns `exit`.
pub fn fail(exit: Exit, message: impl std::fmt::Display) -> Exit {
    eprintln!("error: {message}");
    exit
}

/// The exit code for a failed call: 2 when something is not configured,
/// 1 otherwise.
pub fn call_failed(e: &CallError) -> Exit {
    let exit = match e {
        CallError::NotConfigured { .. } => Exit::Usage,
        _ => Exit::Failed,
    };
    fail(exit, e)
}

/// Runs a subcommand's future on a fresh tokio runtime.
pub fn block_on(future: impl Future<Output = Exit>) -> Exit {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(future),
        Err(e) => fail(
            Exit::Failed,
            format_args!("could not start the async runtime: {e}"),
        ),
    }
}

/// Where the connector is and who the gateway is; each flag overrides its
/// environment variable.
#[derive(Clone, Debug, Default, Args)]
pub struct ConnectorArgs {
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

impl ConnectorArgs {
    /// The flags as environment overrides.
    pub fn overrides(&self) -> Vec<(&'static str, Option<String>)> {
        vec![
            ("GATEWAY_RELAY_URL", self.connector_url.clone()),
            ("GATEWAY_RELAY_ID", self.gateway_id.clone()),
        ]
    }
}

/// The configuration: the `GATEWAY_RELAY_*` environment with `overrides`
/// (set flags) on top. Warnings are printed; an unusable configuration is
/// reported and `Err(Exit::Usage)`.
pub fn load_config(overrides: &[(&'static str, Option<String>)]) -> Result<RelayConfig, Exit> {
    let set: HashMap<&str, &str> = overrides
        .iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (*k, v)))
        .collect();
    let get = |name: &str| match set.get(name) {
        Some(v) => Some((*v).to_owned()),
        None => std::env::var_os(name).map(|v| v.to_string_lossy().into_owned()),
    };
    match RelayConfig::from_env_map(get) {
        Ok((config, warnings)) => {
            for warning in warnings {
                eprintln!("warning: {warning}");
            }
            Ok(config)
        }
        Err(e) => Err(fail(Exit::Usage, e)),
    }
}
