//! `relay`: the relay-rs command line.
//!
//! Subcommands live one per module; add a variant to [`Command`] and a
//! module to add one. Exit codes: 0 success, 1 failure, 2 usage or
//! configuration error, 3 revoked (`relay connect`). Logs go to stderr,
//! filtered by `RUST_LOG` (default `warn`; `off` for `relay demo`, whose
//! timeline says it all).

#![forbid(unsafe_code)]

mod common;
mod connect;
mod connector;
mod demo;
mod enroll;
mod inspect;
mod policy;
mod provision;
mod token;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The relay-rs command line: a protocol demo, a gateway bridge for agents,
/// a dev connector, tokens, frame inspection and the connector's HTTP calls.
#[derive(Debug, Parser)]
#[command(
    name = "relay",
    version,
    about = "The relay-rs command line: a protocol demo, a gateway bridge for agents, a dev connector, upgrade tokens, frame inspection and the connector's HTTP calls.",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Every subcommand.
#[derive(Debug, Subcommand)]
enum Command {
    /// Mint and verify upgrade tokens.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Decode NDJSON frames from stdin and print them as relay-rs reads them.
    Inspect(inspect::InspectArgs),
    /// Self-provision every fronted platform with the connector.
    Provision(provision::ProvisionArgs),
    /// Redeem an enrollment token and write the credentials to the env file.
    Enroll(enroll::EnrollArgs),
    /// Send a platform's relevance policy to the connector.
    Policy(policy::PolicyArgs),
    /// Run a dev connector and a gateway in-process and tour the protocol.
    Demo(demo::DemoArgs),
    /// Run a gateway and bridge it to an agent over stdin/stdout JSON lines.
    Connect(connect::ConnectArgs),
    /// Run the dev connector server (the connector model plus an admin API).
    Connector(connector::ConnectorArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo's timeline says everything; its logs stay quiet unless asked.
    init_logging(match cli.command {
        Command::Demo(_) => "off",
        _ => "warn",
    });
    let code = match cli.command {
        Command::Token(command) => token::run(command),
        Command::Inspect(args) => inspect::run(&args),
        Command::Provision(args) => common::block_on(provision::run(args)),
        Command::Enroll(args) => common::block_on(enroll::run(args)),
        Command::Policy(args) => common::block_on(policy::run(args)),
        Command::Demo(args) => common::block_on(demo::run(args)),
        Command::Connect(args) => common::block_on(connect::run(args)),
        Command::Connector(args) => common::block_on(connector::run(args)),
    };
    code.into()
}

/// Logs to stderr, filtered by `RUST_LOG` (default `default_filter`).
fn init_logging(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
