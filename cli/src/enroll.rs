//! `relay enroll`: redeem an enrollment token and persist the credentials.

use std::path::PathBuf;

use clap::Args;
use relay_core::calls::enroll_env_vars;
use relay_tokio::http::{self, default_env_file, default_gateway_id};

use crate::config::{CredentialArgs, tenant_suffix};
use crate::exit::{Exit, call_failed, fail};

/// `relay enroll`.
#[derive(Debug, Args)]
pub struct EnrollArgs {
    #[command(flatten)]
    call: CredentialArgs,
    /// The single-use enrollment token [default: $GATEWAY_RELAY_ENROLL_TOKEN].
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// The env file to write [default: $HERMES_HOME/.env, else ~/.hermes/.env].
    #[arg(long, value_name = "PATH")]
    env_file: Option<PathBuf>,
}

/// Runs `relay enroll`: exit 0 once the credentials are written, 1 when
/// the connector refused or the file could not be written, 2 on a
/// configuration error.
pub async fn run(args: EnrollArgs) -> Exit {
    let config = match args
        .call
        .load_config(("GATEWAY_RELAY_ENROLL_TOKEN", args.token.clone()))
    {
        Ok(c) => c,
        Err(exit) => return exit,
    };
    let Some(path) = args.env_file.clone().or_else(default_env_file) else {
        return fail(
            Exit::Usage,
            "cannot tell where the env file is (no HERMES_HOME nor HOME); pass --env-file",
        );
    };
    let issued = match http::enroll(&config, None, args.call.identity_token.as_deref()).await {
        Ok(c) => c,
        Err(e) => return call_failed(&e),
    };
    let creds = issued.resolve(&default_gateway_id(&config));
    // As the reference: the URLs are persisted when given on the command
    // line (the environment already has them otherwise).
    let relay_url = args
        .call
        .relay
        .connector_url
        .as_ref()
        .map(|_| config.relay_url.as_str());
    let wake_url = args.call.wake_url.as_ref().and(config.wake_url.as_deref());
    let vars = enroll_env_vars(&creds, relay_url, wake_url);
    if let Err(e) = http::write_env_file(&path, &vars).await {
        // The connector issues the credentials only once: say so.
        return fail(
            Exit::Failed,
            format_args!(
                "{e}; the credentials were issued but not saved, enroll again with a new token"
            ),
        );
    }
    let tenant = tenant_suffix(creds.tenant.as_deref());
    println!("enrolled gateway {}{tenant}", creds.gateway_id);
    println!(
        "wrote {} to {}; restart the gateway to use them",
        vars.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", "),
        path.display()
    );
    Exit::Ok
}
