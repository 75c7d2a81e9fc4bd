//! `relay provision`: self-provision every fronted platform.

use std::path::PathBuf;

use clap::Args;
use relay_tokio::http::{self, default_gateway_id};

use crate::config::{CredentialArgs, tenant_suffix};
use crate::exit::{Exit, call_failed, fail};

/// `relay provision`.
#[derive(Debug, Args)]
pub struct ProvisionArgs {
    #[command(flatten)]
    call: CredentialArgs,
    /// Fronted platforms, comma-separated, in hello order
    /// [default: $GATEWAY_RELAY_PLATFORMS, else one `relay` identity].
    #[arg(long, value_name = "LIST")]
    platforms: Option<String>,
    /// Also write the issued credentials into this env file (mode 0600);
    /// without it they are only reported as issued.
    #[arg(long, value_name = "PATH")]
    env_file: Option<PathBuf>,
}

/// Runs `relay provision`: exit 0 when every platform succeeded, 1 when
/// any failed (the others still count), 2 on a configuration error.
pub async fn run(args: ProvisionArgs) -> Exit {
    let config = match args
        .call
        .load_config(("GATEWAY_RELAY_PLATFORMS", args.platforms.clone()))
    {
        Ok(c) => c,
        Err(exit) => return exit,
    };
    let gateway_id = default_gateway_id(&config);
    let summary =
        match http::provision_with(&config, &gateway_id, args.call.identity_token.as_deref()).await
        {
            Ok(s) => s,
            Err(e) => return call_failed(&e),
        };
    for platform in &summary.not_issued {
        println!("{platform}: recorded, no secret issued");
    }
    for (platform, error) in &summary.failures {
        println!("{platform}: failed: {error}");
    }
    if let (Some(creds), Some(from)) = (&summary.credentials, &summary.credentials_from) {
        let tenant = tenant_suffix(creds.tenant.as_deref());
        println!(
            "{from}: credentials issued for gateway {}{tenant}",
            creds.gateway_id
        );
        if let Some(path) = &args.env_file {
            if let Err(e) = http::write_env_file(path, &creds.env_vars()).await {
                return fail(Exit::Failed, e);
            }
            println!("wrote the credentials to {}", path.display());
        }
    }
    if summary.is_complete() {
        Exit::Ok
    } else {
        Exit::Failed
    }
}
