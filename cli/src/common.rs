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
            for warning in warnings {
                eprintln!("warning: {warning}");
            }
            Ok(config)
        }
        Err(e) => Err(fail(Exit::Usage, e)),
    }
}

/// One line read with a bound (stdin of `relay inspect` and `relay connect`).
pub enum Line {
    /// The line's bytes (without `\n`, nor a `\r` before it).
    Complete,
    /// The line was longer than the bound; this many bytes were seen.
    TooLong(usize),
}

/// Reads one line into `buf` (cleared first), keeping at most `max` bytes
/// of it. `None` at the end of the input.
pub fn read_line(
    input: &mut impl std::io::BufRead,
    max: usize,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<Line>> {
    buf.clear();
    let mut seen = 0usize;
    let mut any = false;
    loop {
        let chunk = match input.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            break;
        }
        any = true;
        let (part, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (chunk.get(..i).unwrap_or_default(), Some(i + 1)),
            None => (chunk, None),
        };
        seen = seen.saturating_add(part.len());
        if buf.len() < max.saturating_add(1) {
            let room = max.saturating_add(1) - buf.len();
            buf.extend_from_slice(part.get(..room.min(part.len())).unwrap_or_default());
        }
        let used = done.unwrap_or(chunk.len());
        input.consume(used);
        if done.is_some() {
            break;
        }
    }
    if !any {
        return Ok(None);
    }
    if buf.last() == Some(&b'\r') && seen <= max.saturating_add(1) {
        buf.pop();
        seen = seen.saturating_sub(1);
    }
    if seen > max {
        buf.clear();
        return Ok(Some(Line::TooLong(seen)));
    }
    Ok(Some(Line::Complete))
}

/// A stop signal received: SIGINT (Ctrl-C) or SIGTERM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StopSignal {
    /// `SIGINT` or `SIGTERM`.
    pub name: &'static str,
    /// Its number (the exit status of a forced exit is 128 + this).
    pub number: i32,
}

impl std::fmt::Display for StopSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// Listens for SIGINT and SIGTERM (tokio's signal handling). The first one
/// is handed over through the returned receiver, for a graceful stop; a
/// second one exits the process at once with status 128 + its number. If the
/// handlers cannot be installed a warning is printed and the receiver
/// reports an error (the process then stops on EOF or a command only).
pub fn stop_signals() -> tokio::sync::oneshot::Receiver<StopSignal> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut signals = match Signals::install() {
            Ok(signals) => signals,
            Err(e) => {
                eprintln!("warning: cannot listen for Ctrl-C or SIGTERM ({e})");
                return;
            }
        };
        let first = signals.recv().await;
        if tx.send(first).is_err() {
            return;
        }
        let second = signals.recv().await;
        eprintln!("{second} again: exiting without waiting for the graceful stop");
        std::process::exit(128 + second.number);
    });
    rx
}

/// The installed handlers.
struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }

    #[cfg(not(unix))]
    fn install() -> std::io::Result<Self> {
        Ok(Signals {})
    }

    #[cfg(unix)]
    async fn recv(&mut self) -> StopSignal {
        tokio::select! {
            _ = self.int.recv() => StopSignal { name: "SIGINT", number: 2 },
            _ = self.term.recv() => StopSignal { name: "SIGTERM", number: 15 },
        }
    }

    #[cfg(not(unix))]
    async fn recv(&mut self) -> StopSignal {
        let _ = tokio::signal::ctrl_c().await;
        StopSignal {
            name: "Ctrl-C",
            number: 2,
        }
    }
}

/// Whether a status line (the spinner of `relay connect`) is on stderr now.
static STATUS_LINE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Tells the log writer whether a status line is shown on stderr.
pub fn status_line(shown: bool) {
    STATUS_LINE.store(shown, std::sync::atomic::Ordering::Relaxed);
}

/// Clears the status line, if one is shown, so that the next text starts on
/// a clean line (the spinner redraws it on its next tick).
pub fn clear_status_line(stderr: &mut impl std::io::Write) {
    if STATUS_LINE.swap(false, std::sync::atomic::Ordering::Relaxed) {
        let _ = stderr.write_all(b"\r\x1b[2K");
    }
}

/// The log writer: stderr, with the status line cleared before each line.
pub struct LogWriter;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = std::io::StderrLock<'static>;

    fn make_writer(&'a self) -> Self::Writer {
        let mut stderr = std::io::stderr().lock();
        clear_status_line(&mut stderr);
        stderr
    }
}
