//! `relay`: the relay-rs command line.
//!
//! Subcommands live one per module; add a variant to [`Command`] and a
//! module to add one. Exit codes: 0 success, 1 failure, 2 usage or
//! configuration error, 3 revoked (`relay connect`). Logs go to stderr,
//! filtered by `RUST_LOG`, else by `-v`/`-q` (default `warn`; `off` for
//! `relay demo`, whose timeline says it all), in colour only when stderr is
//! a terminal (and `NO_COLOR` is unset).

#![forbid(unsafe_code)]

mod config;
mod connect;
mod connector;
mod demo;
mod enroll;
mod exit;
mod inspect;
mod lines;
mod policy;
mod provision;
mod signals;
mod stderr;
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
Colour is used only when stderr is a terminal and NO_COLOR is unset.

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
        _ => level(cli.verbose, cli.quiet),
    };
    init_logging(default);
    let code = match cli.command {
        Command::Token(command) => token::run(command),
        Command::Inspect(args) => inspect::run(&args),
        Command::Provision(args) => exit::block_on(provision::run(args)),
        Command::Enroll(args) => exit::block_on(enroll::run(args)),
        Command::Policy(args) => exit::block_on(policy::run(args)),
        Command::Demo(args) => exit::block_on(demo::run(args)),
        Command::Connect(args) => exit::block_on(connect::run(args)),
        Command::Connector(args) => exit::block_on(connector::run(args)),
    };
    code.into()
}

/// The default log filter for `-v` and `-q` counts.
fn level(verbose: u8, quiet: u8) -> &'static str {
    match (verbose, quiet) {
        (0, 0) => "warn",
        (1, _) => "info",
        (2, _) => "debug",
        (v, _) if v >= 3 => "trace",
        (_, 1) => "error",
        _ => "off",
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default `default_filter`), in
/// colour only on a terminal; every line first clears a status line drawn
/// by `relay connect` (see [`stderr::status_line`]).
fn init_logging(default_filter: &str) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(stderr::LogWriter)
        .try_init();
}
