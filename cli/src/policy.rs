//! `relay policy`: send one platform's relevance policy.

use clap::Args;
use relay_core::calls::PolicyBody;
use relay_tokio::http;

use crate::config::{RelayArgs, load_config};
use crate::exit::{Exit, call_failed, fail};

/// `relay policy`.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    #[command(flatten)]
    relay: RelayArgs,
    /// The gateway's secret [default: $GATEWAY_RELAY_SECRET].
    #[arg(long, value_name = "S")]
    secret: Option<String>,
    /// The platform the policy is for.
    #[arg(long, value_name = "NAME")]
    platform: String,
    /// Only messages that address the bot are relevant.
    #[arg(long)]
    require_address: bool,
    /// A scope (channel) where every message is relevant (repeatable).
    #[arg(long = "free-response-scope", value_name = "SCOPE")]
    free_response_scopes: Vec<String>,
    /// Messages from other bots are relevant.
    #[arg(long)]
    allow_other_bots: bool,
}

/// Runs `relay policy`: exit 0 when the connector answered 200, 1
/// otherwise, 2 on a configuration error.
pub async fn run(args: PolicyArgs) -> Exit {
    let platform = args.platform.trim().to_owned();
    if platform.is_empty() || platform == "relay" {
        return fail(Exit::Usage, "--platform must name a real platform");
    }
    let mut overrides = args.relay.overrides();
    overrides.push(("GATEWAY_RELAY_SECRET", args.secret.clone()));
    let config = match load_config(&overrides) {
        Ok(c) => c,
        Err(exit) => return exit,
    };
    let body = PolicyBody {
        platform,
        require_address: args.require_address,
        free_response_scopes: args
            .free_response_scopes
            .iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
        allow_other_bots: args.allow_other_bots,
    };
    match http::policy(&config, &body).await {
        Ok(()) => {
            println!("{}: policy accepted", body.platform);
            Exit::Ok
        }
        Err(e) => call_failed(&e),
    }
}
