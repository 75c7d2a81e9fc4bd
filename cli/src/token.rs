//! `relay token mint` and `relay token verify`.

use clap::{Args, Subcommand};
use relay_core::UnixTime;
use relay_core::auth::{DEFAULT_UPGRADE_TTL_SECS, TokenError, mint_token, verify_token};
use relay_engine::Clock;

use crate::exit::{Exit, fail};

/// Token subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print an upgrade token for a gateway id.
    Mint(MintArgs),
    /// Verify an upgrade token and print its payload (the gateway id).
    Verify(VerifyArgs),
}

/// `relay token mint`.
#[derive(Debug, Args)]
pub struct MintArgs {
    /// The gateway id (the token's payload).
    #[arg(long, value_name = "ID")]
    gateway_id: String,
    /// The gateway's secret.
    #[arg(
        long,
        value_name = "S",
        env = "GATEWAY_RELAY_SECRET",
        hide_env_values = true
    )]
    secret: String,
    /// Lifetime in seconds; 0 mints a token that never expires.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_UPGRADE_TTL_SECS)]
    ttl: u64,
    /// The current Unix time in seconds [default: the system clock].
    #[arg(long, value_name = "UNIX")]
    now: Option<u64>,
}

/// `relay token verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The token to verify.
    #[arg(long, value_name = "T")]
    token: String,
    /// A secret to accept (repeat for a rotation list, primary first).
    #[arg(long = "secret", value_name = "S", required = true)]
    secrets: Vec<String>,
    /// The current Unix time in seconds [default: the system clock].
    #[arg(long, value_name = "UNIX")]
    now: Option<u64>,
}

fn now(at: Option<u64>) -> UnixTime {
    at.map(UnixTime::from_secs).unwrap_or_else(Clock::wall)
}

/// Runs a token subcommand.
pub fn run(command: TokenCommand) -> Exit {
    match command {
        TokenCommand::Mint(args) => {
            if args.gateway_id.is_empty() {
                return fail(Exit::Usage, "--gateway-id must not be empty");
            }
            if args.secret.is_empty() {
                return fail(Exit::Usage, "--secret must not be empty");
            }
            println!(
                "{}",
                mint_token(&args.gateway_id, &args.secret, args.ttl, now(args.now))
            );
            Exit::Ok
        }
        TokenCommand::Verify(args) => {
            let secrets: Vec<&str> = args.secrets.iter().map(String::as_str).collect();
            match verify_token(args.token.trim(), &secrets, now(args.now)) {
                Ok(payload) => {
                    println!("{payload}");
                    Exit::Ok
                }
                Err(e) => {
                    let exit = match e {
                        TokenError::NoSecrets => Exit::Usage,
                        _ => Exit::Failed,
                    };
                    fail(exit, format_args!("{}: {e}", kind(&e)))
                }
            }
        }
    }
}

/// A stable name for each rejection, for scripts.
fn kind(e: &TokenError) -> &'static str {
    match e {
        TokenError::Malformed { .. } => "malformed",
        TokenError::Expired { .. } => "expired",
        TokenError::BadSignature => "bad-signature",
        TokenError::NoSecrets => "no-secrets",
        _ => "rejected",
    }
}
