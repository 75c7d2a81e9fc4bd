//! `relay`: the relay-rs command line.
//!
//! Subcommands live one per module; add a variant to [`Command`] and a
//! module to add one. Exit codes: 0 success, 1 failure, 2 usage or
//! configuration error, 3 revoked (`relay connect`). Logs go to stderr,
//! filtered by `RUST_LOG`, else by `-v`/`-q` (default `warn`; `off` for
//! `relay demo`, whose timeline says it all), in colour only when stderr is
//! a terminal (and `NO_COLOR` is unset); dependencies log at most at `info`
//! and no line carries a credential (see [`logging`]).

#![forbid(unsafe_code)]

mod boot;
mod config;
mod connect;
mod connector;
mod demo;
mod enroll;
mod exit;
mod inspect;
mod lines;
mod logging;
mod media;
mod policy;
mod provision;
mod signals;
mod stderr;
mod token;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The relay-rs command line: a protocol demo, a gateway bridge for agents,
/// a dev connector, tokens, frame inspection, the connector's HTTP calls and
/// its media plane.
#[derive(Debug, Parser)]
#[command(
    name = "relay",
    version,
    about = "The relay-rs command line: a protocol demo, a gateway bridge for agents, a dev connector, upgrade tokens, frame inspection and the connector's HTTP calls.",
    propagate_version = true,
    after_help = LOGGING_HELP
)]
struct Cli {
    /// More log output on stderr: -v info, -vv debug, -vvv trace
    /// (RUST_LOG, when set, wins).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Less log output on stderr: -q errors only, -qq nothing
    /// (RUST_LOG, when set, wins).
    #[arg(short, long, action = clap::ArgAction::Count, global = true, conflicts_with = "verbose")]
    quiet: u8,
    #[command(subcommand)]
    command: Command,
}

const LOGGING_HELP: &str = "\
Logs go to stderr. RUST_LOG picks what is logged, e.g. RUST_LOG=debug or
RUST_LOG=relay_engine=debug,warn (tracing-subscriber's EnvFilter syntax);
without it, -v/-vv/-vvv and -q/-qq move the default level (warn) up or down.
Libraries other than relay-rs's own log at most at info, whatever is asked
(below that they print what they send, tokens included), and every line is
scrubbed of credentials. Colour is used only when stderr is a terminal and
NO_COLOR is unset.

Exit codes: 0 success, 1 failure, 2 usage or configuration error, 3 revoked
(relay connect); a second Ctrl-C or SIGTERM during a graceful stop exits at
once with 130 or 143.";

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
    /// Upload to and download from the connector's media plane.
    #[command(subcommand)]
    Media(media::MediaCommand),
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
    let default = match cli.command {
        Command::Demo(_) if cli.verbose == 0 => "off",
        _ => logging::level(cli.verbose, cli.quiet),
    };
    logging::init(default);
    let code = match cli.command {
        Command::Token(command) => token::run(command),
        Command::Inspect(args) => inspect::run(&args),
        Command::Provision(args) => exit::block_on(provision::run(args)),
        Command::Enroll(args) => exit::block_on(enroll::run(args)),
        Command::Policy(args) => exit::block_on(policy::run(args)),
        Command::Media(command) => exit::block_on(media::run(command)),
        Command::Demo(args) => exit::block_on(demo::run(args)),
        Command::Connect(args) => exit::block_on(connect::run(args)),
        Command::Connector(args) => exit::block_on(connector::run(args)),
    };
    code.into()
}
