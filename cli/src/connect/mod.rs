//! `relay connect`: a gateway bridge for agents in any language.
//!
//! The gateway runs in this process; the agent talks to it over stdin and
//! stdout, one JSON object per line. See [`ConnectArgs`]'s help text for
//! the shapes.

mod events;
mod request;
mod status;

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use relay_core::Event;
use relay_core::config::IdleMode;
use relay_core::connection::{DeliveryHandle, SendOptions};
use relay_core::wire::{Action, BufferId};
use relay_engine::{ClientError, RelayHandle};
use relay_tokio::RelayClient;
use relay_tokio::wake::WakeListener;
use serde_json::{Map, Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot, watch};

use crate::config::{self, RelayArgs};
use crate::exit::{Exit, fail};
use crate::lines::{Line, read_line};
use crate::signals;
use request::Request;

/// Default bound on one stdin line (1 MiB).
const DEFAULT_MAX_LINE_BYTES: usize = 1024 * 1024;
/// Lines queued for stdout before producers wait.
const OUTPUT_QUEUE: usize = 256;
/// Stdin lines read ahead of the bridge before the reader waits.
const STDIN_QUEUE: usize = 16;
/// Default bound on stdin lines being handled at once (actions awaiting
/// their result included).
pub const DEFAULT_MAX_IN_FLIGHT: usize = 128;

/// Options of `relay connect`.
#[derive(Debug, Args)]
#[command(after_help = CONNECT_HELP)]
pub struct ConnectArgs {
    /// Where the connector is and who the gateway is.
    #[command(flatten)]
    pub relay: RelayArgs,
    /// Dial without credentials, for a dev connector with auth off (without
    /// it, a missing GATEWAY_RELAY_ID or GATEWAY_RELAY_SECRET is an error)
    /// [env: GATEWAY_RELAY_RS_ALLOW_UNAUTHENTICATED=1].
    #[arg(long)]
    pub allow_unauthenticated: bool,
    /// Platforms fronted, comma-separated (`telegram,discord`)
    /// [default: $GATEWAY_RELAY_PLATFORMS].
    #[arg(long, value_name = "LIST")]
    pub platforms: Option<String>,
    /// Acknowledge buffered inbound as soon as its line is written to stdout
    /// (otherwise send `{"ack": "<bufferId>"}` once it is durably handled).
    #[arg(long)]
    pub auto_ack: bool,
    /// Serve the wake endpoint (`GET /wake`) on this address, e.g.
    /// 127.0.0.1:9000. Advertise it with GATEWAY_RELAY_WAKE_URL.
    #[arg(long, value_name = "ADDR")]
    pub wake_listen: Option<SocketAddr>,
    /// Longest accepted stdin line, in bytes; longer lines get an error line.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_LINE_BYTES)]
    pub max_line_bytes: usize,
    /// Most stdin lines handled at once (actions waiting for their result
    /// included). At the bound, stdin is not read until one is answered;
    /// nothing is dropped.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_IN_FLIGHT)]
    pub max_in_flight: usize,
    /// Before connecting, provision every fronted platform (unless
    /// GATEWAY_RELAY_SECRET is set; credentials stay in memory) and declare
    /// the relevance policies of GATEWAY_RELAY_RS_POLICY; failures are
    /// reported and the start goes on. The identity token comes from
    /// GATEWAY_RELAY_IDENTITY_TOKEN, else GATEWAY_RELAY_IDP_*.
    #[arg(
        long,
        env = "GATEWAY_RELAY_RS_SELF_PROVISION",
        value_parser = clap::builder::BoolishValueParser::new(),
        default_value_t = false,
        num_args = 0,
        default_missing_value = "true"
    )]
    pub self_provision: bool,
}

const CONNECT_HELP: &str = "\
Configuration: the GATEWAY_RELAY_* environment (GATEWAY_RELAY_URL, _ID,
_SECRET, _PLATFORMS, _WAKE_URL, ...); the flags above override it. The secret
is read from GATEWAY_RELAY_SECRET only, never from a flag.

stdout, one JSON object per line:
  {\"event\":\"state\",\"from\":\"handshaking\",\"to\":\"serving\"}
  {\"event\":\"inbound\",\"delivery\":\"buf-3\"|null,\"message\":{<MessageEvent>}}
  {\"event\":\"passthrough\",\"delivery\":...,\"forward\":{<passthrough forward>}}
  {\"event\":\"interrupt\",\"session_key\":\"...\",\"chat_id\":\"...\"}
  {\"event\":\"descriptor\",\"platform\":\"...\",\"descriptor\":{...}}
  {\"event\":\"disconnected\",\"code\":1000|null,\"reason\":\"...\"}
  {\"event\":\"dial_scheduled\",\"attempt\":2}
  {\"event\":\"revoked\"}
  {\"event\":\"redial_held\"}              a re-dial waits for release_redial
  {\"id\":<id>,\"result\":{\"success\":true,...}}    answer to an action
  {\"id\":<id>,\"result\":{...},\"declined\":true,\"decline\":\"<text>\"}
                                           the connector declined the destination
  {\"id\":<id>,\"ok\":true}                         answer to a command with an id
  {\"id\":<id or null>,\"error\":\"...\"}            a line that could not be done

stdin, one JSON object per line (\"id\" is optional and echoed back):
  {\"id\":\"1\",\"op\":\"send\",\"chat_id\":\"42\",\"content\":\"hi\"}   any action
  {\"op\":\"send\",\"chat_id\":\"home\",\"content\":\"hi\",\"platform\":\"discord\"}
                                           for a platform (a chat no inbound taught)
  {\"ack\":\"buf-3\"}                       acknowledge a buffered delivery
  {\"interrupt\":\"<session key>\",\"reason\":\"...\"}
  {\"command\":\"go_idle\"|\"go_dormant\"|\"wake\"|\"shutdown\"}
  {\"command\":\"go_idle\",\"mode\":\"keep\"|\"close\"|\"dormant\"}
  {\"command\":\"hold_redial\"|\"release_redial\"}
A key a line's shape does not know (an action's keys are its op's fields,
\"id\" and \"platform\") is refused with an error naming it; nothing is sent.
hold_redial holds the next re-dial that becomes due (a brokered suspend):
it waits for release_redial or wake, at most
GATEWAY_RELAY_RS_REDIAL_HOLD_MAX_SECS (60 s).
go_idle without a mode does what GATEWAY_RELAY_RS_IDLE_MODE says (default:
dormant, a re-dial every GATEWAY_RELAY_RS_DORMANT_REDIAL_SECS (1 s), without
a wake URL; close, waiting for the wake poke, with one); keep holds the
socket while the connector buffers; go_dormant is go_idle with mode dormant.
End of stdin shuts down gracefully. So do Ctrl-C and SIGTERM (what systemd,
Docker and Kubernetes send): actions already sent get up to
GATEWAY_RELAY_RS_SHUTDOWN_DRAIN_SECS (5 s) for their results (new ones fail
at once), what is still pending is answered as failed, queued acks are sent,
the socket is closed with 1000, the exit status is 0. A graceful stop
on a signal takes at most 15 s: if what is owed cannot be written by then
(stdout is not read), the bridge exits 0 without it. A second signal exits
at once (status 130 or 143).

Backpressure: at most --max-in-flight lines are handled at once; while that
many wait, stdin is not read. Nothing is dropped. docs/limits.md lists every
bound.

Exit codes: 0 shut down (EOF, shutdown command, Ctrl-C or SIGTERM), 2
configuration error, 3 the connector revoked this gateway's credential
(re-provision it; the bridge never dials again), 1 anything else.";

/// What the stdin thread hands over.
enum StdinLine {
    /// One line, without its newline.
    Line(String),
    /// A line longer than the limit (its bytes were discarded).
    TooLong,
    /// A line that is not UTF-8.
    NotUtf8,
    /// End of input (or a read error, reported on stderr).
    Eof,
}

/// One line for stdout, with an optional notice once it was written.
struct OutLine {
    value: Value,
    written: Option<oneshot::Sender<()>>,
}

/// Where lines for stdout go.
#[derive(Clone)]
struct Out {
    tx: mpsc::Sender<OutLine>,
}

impl Out {
    async fn send(&self, value: Value) {
        let _ = self
            .tx
            .send(OutLine {
                value,
                written: None,
            })
            .await;
    }

    /// Sends `value` and waits until it was written to stdout.
    async fn send_written(&self, value: Value) {
        let (tx, rx) = oneshot::channel();
        let line = OutLine {
            value,
            written: Some(tx),
        };
        if self.tx.send(line).await.is_ok() {
            let _ = rx.await;
        }
    }

    async fn error(&self, id: Value, error: impl Into<String>) {
        let error: String = error.into();
        self.send(json!({ "id": id, "error": error })).await;
    }
}

/// Runs the bridge until EOF on stdin, a shutdown command, Ctrl-C, SIGTERM
/// or revocation.
pub async fn run(args: ConnectArgs) -> Exit {
    let mut overrides = args.relay.overrides();
    overrides.push(("GATEWAY_RELAY_PLATFORMS", args.platforms.clone()));
    // Self-provisioning obtains the credentials: they may be missing here.
    if args.allow_unauthenticated || args.self_provision {
        overrides.push((
            "GATEWAY_RELAY_RS_ALLOW_UNAUTHENTICATED",
            Some("1".to_owned()),
        ));
    }
    let config = match config::load_config(&overrides) {
        Ok(config) => config,
        Err(exit) => return exit,
    };
    let config = if args.self_provision {
        let identity = std::env::var("GATEWAY_RELAY_IDENTITY_TOKEN").ok();
        if let Some(token) = &identity {
            crate::logging::register_secret(token);
        }
        crate::boot::run(config, identity.as_deref()).await
    } else {
        config
    };
    if args.max_line_bytes == 0 {
        return fail(
            Exit::Usage,
            "--max-line-bytes must be at least 1; leave it out for the 1 MiB default",
        );
    }
    let Some(max_in_flight) = u32::try_from(args.max_in_flight)
        .ok()
        .filter(|n| *n >= 1 && (*n as usize) <= Semaphore::MAX_PERMITS)
    else {
        return fail(
            Exit::Usage,
            format_args!(
                "--max-in-flight must be between 1 and {}; leave it out for the default of {DEFAULT_MAX_IN_FLIGHT}",
                u32::MAX
            ),
        );
    };
    let url = config.dial_url();
    let (handle, mut events) = RelayClient::start(config);

    let _wake = match args.wake_listen {
        Some(addr) => match WakeListener::bind(addr, handle.clone()).await {
            Ok(listener) => {
                eprintln!("wake endpoint at {}", listener.url());
                Some(listener)
            }
            Err(e) => {
                handle.shutdown().await;
                return fail(
                    Exit::Usage,
                    format_args!(
                        "could not listen on {addr} for wakes: {e}; pick another --wake-listen address"
                    ),
                );
            }
        },
        None => None,
    };

    let (out_tx, out_rx) = mpsc::channel(OUTPUT_QUEUE);
    let writer = std::thread::spawn(move || write_stdout(out_rx));
    let out = Out { tx: out_tx };

    let (line_tx, lines) = mpsc::channel(STDIN_QUEUE);
    let max = args.max_line_bytes;
    // A plain thread: a blocked read must not keep the runtime from ending.
    std::thread::spawn(move || read_stdin(max, line_tx));
    // Stdin is handled on its own task, so that events keep flowing while it
    // waits for room under the in-flight bound.
    let in_flight = Arc::new(Semaphore::new(max_in_flight as usize));
    let (stdin_done_tx, mut stdin_done) = oneshot::channel::<()>();
    let stdin_task = tokio::spawn(pump_stdin(
        lines,
        out.clone(),
        handle.clone(),
        Arc::clone(&in_flight),
        stdin_done_tx,
    ));

    let (status_tx, status_rx) = watch::channel(Some(format!("dialing {url}")));
    let spinner = std::io::stderr()
        .is_terminal()
        .then(|| tokio::spawn(status::spin(status_rx)));

    let mut revoked = false;
    let mut stdin_open = true;
    stop_on_signal(handle.clone());
    loop {
        tokio::select! {
            event = events.next_event() => {
                let Some(event) = event else { break };
                if matches!(event, Event::Revoked) {
                    revoked = true;
                }
                status_tx.send_replace(status::status_of(&event, &url));
                forward_event(event, &out, &handle, args.auto_ack).await;
            }
            _ = &mut stdin_done, if stdin_open => {
                stdin_open = false;
                tracing::debug!("stdin closed or shutdown requested; shutting down");
                let handle = handle.clone();
                tokio::spawn(async move { handle.shutdown().await });
            }
        }
    }
    status_tx.send_replace(None);
    if let Some(spinner) = spinner {
        spinner.abort();
        status::clear_status();
    }
    // No more stdin lines; actions still in flight were failed by the
    // shutdown: wait until every one has queued its answer, then end the
    // writer (which writes all of them).
    stdin_task.abort();
    let _ = stdin_task.await;
    if tokio::time::timeout(IN_FLIGHT_GRACE, in_flight.acquire_many(max_in_flight))
        .await
        .is_err()
    {
        tracing::warn!(
            "actions still in flight after {IN_FLIGHT_GRACE:?}; exiting without their answers"
        );
    }
    drop(out);
    let _ = tokio::task::spawn_blocking(move || writer.join()).await;
    if revoked {
        eprintln!(
            "error: the connector revoked this gateway's credential; provision a new one (relay provision / relay enroll) before connecting again"
        );
        return Exit::Revoked;
    }
    Exit::Ok
}

/// Writes queued lines to stdout, flushing each. A closed stdout drops
/// the rest (the reader has gone).
fn write_stdout(mut rx: mpsc::Receiver<OutLine>) {
    let mut broken = false;
    while let Some(line) = rx.blocking_recv() {
        if !broken {
            let mut stdout = std::io::stdout().lock();
            let text = line.value.to_string();
            if writeln!(stdout, "{text}")
                .and_then(|()| stdout.flush())
                .is_err()
            {
                tracing::warn!("stdout is closed; dropping output");
                broken = true;
            }
        }
        if let Some(written) = line.written.filter(|_| !broken) {
            let _ = written.send(());
        }
    }
}

/// Reads stdin line by line, each at most `max` bytes.
fn read_stdin(max: usize, tx: mpsc::Sender<StdinLine>) {
    let stdin = std::io::stdin();
    let mut reader = stdin.lock();
    let mut buf = Vec::new();
    loop {
        let line = match read_line(&mut reader, max, &mut buf) {
            Ok(Some(Line::Complete)) => match String::from_utf8(std::mem::take(&mut buf)) {
                Ok(text) => StdinLine::Line(text),
                Err(_) => StdinLine::NotUtf8,
            },
            Ok(Some(Line::TooLong(_))) => StdinLine::TooLong,
            Ok(None) => StdinLine::Eof,
            Err(e) => {
                eprintln!("error: reading stdin failed: {e}; shutting down");
                StdinLine::Eof
            }
        };
        let eof = matches!(line, StdinLine::Eof);
        if tx.blocking_send(line).is_err() || eof {
            return;
        }
    }
}

/// How long the end of the bridge waits for actions in flight to be
/// answered (they fail at once when the client has stopped).
const IN_FLIGHT_GRACE: Duration = Duration::from_secs(10);

/// The longest a graceful stop on a signal takes: the wait for answers
/// ([`IN_FLIGHT_GRACE`]) and the socket's close, with room to spare.
const STOP_GRACE: Duration = Duration::from_secs(15);

/// On the first Ctrl-C or SIGTERM, starts the graceful stop whatever the
/// bridge is waiting on (a stdout nobody reads holds the event loop), and
/// bounds it: after [`STOP_GRACE`] the process exits 0 without what it could
/// not write. A second signal exits at once ([`signals::stop_signals`]).
fn stop_on_signal(handle: RelayHandle) {
    let signals = signals::stop_signals();
    tokio::spawn(async move {
        // Without handlers (`Err`), EOF on stdin still shuts down.
        let Ok(signal) = signals.await else {
            return;
        };
        tracing::info!(%signal, "stopping gracefully; a second signal exits at once");
        tokio::spawn(async move { handle.shutdown().await });
        tokio::time::sleep(STOP_GRACE).await;
        tracing::warn!(
            "the graceful stop did not end within {STOP_GRACE:?} (is stdout read?); exiting without what is still owed"
        );
        std::process::exit(0);
    });
}

/// Hands stdin lines to [`handle_line`], each under a permit of `in_flight`:
/// with none left, the next line is not taken (and the reader thread, its
/// queue full, stops reading stdin). Signals `done` at EOF or a shutdown
/// command.
async fn pump_stdin(
    mut lines: mpsc::Receiver<StdinLine>,
    out: Out,
    handle: RelayHandle,
    in_flight: Arc<Semaphore>,
    done: oneshot::Sender<()>,
) {
    loop {
        let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
            break;
        };
        let line = lines.recv().await.unwrap_or(StdinLine::Eof);
        if !handle_line(line, &out, &handle, permit).await {
            break;
        }
    }
    let _ = done.send(());
}

/// Handles one stdin line under `permit` (released when the line is done,
/// for an action once its answer is queued); false when input is over (EOF
/// or shutdown).
async fn handle_line(
    line: StdinLine,
    out: &Out,
    handle: &RelayHandle,
    permit: OwnedSemaphorePermit,
) -> bool {
    let parsed = match line {
        StdinLine::Eof => return false,
        StdinLine::TooLong => Err((
            Value::Null,
            "line too long; keep each JSON object on one line under --max-line-bytes".to_owned(),
        )),
        StdinLine::NotUtf8 => Err((Value::Null, "line is not UTF-8; send UTF-8 JSON".to_owned())),
        StdinLine::Line(text) => request::parse(&text),
    };
    let (id, request) = match parsed {
        Ok(Some(parsed)) => parsed,
        Ok(None) => return true,
        Err((id, message)) => {
            out.error(id, message).await;
            return true;
        }
    };
    let result = match request {
        Request::Action {
            action: obj,
            platform,
        } => {
            action(obj, platform, id, out, handle, permit);
            return true;
        }
        Request::Ack(buffer_id) => {
            let delivery = DeliveryHandle::from_buffer_id(BufferId(buffer_id));
            handle.ack(delivery).await
        }
        Request::Interrupt { key, reason } => handle.interrupt(key, reason).await,
        Request::GoIdle(Some(mode)) => handle.go_idle_with(mode).await,
        Request::GoIdle(None) => handle.go_idle().await,
        Request::GoDormant => handle.go_idle_with(IdleMode::Dormant).await,
        Request::Wake => handle.wake().await,
        Request::HoldRedial => handle.hold_redial().await,
        Request::ReleaseRedial => handle.release_redial().await,
        Request::Shutdown => {
            command(id, out, Ok(())).await;
            return false;
        }
    };
    command(id, out, result).await;
    true
}

/// `{"id":..,"ok":true}` (only when the line had an id) or an error line.
async fn command(id: Value, out: &Out, result: Result<(), ClientError>) {
    match result {
        Ok(()) if id.is_null() => {}
        Ok(()) => out.send(json!({ "id": id, "ok": true })).await,
        Err(e) => out.error(id, command_error(&e)).await,
    }
}

/// A command's failure, with what to do about it.
fn command_error(e: &ClientError) -> String {
    match e {
        ClientError::Stopped => format!("{e}; the bridge is shutting down"),
        other => other.to_string(),
    }
}

/// Sends an action (for `platform` when given) on its own task and answers
/// `{"id":..,"result":..}`, with `"declined": true` and the connector's
/// `"decline"` text when it declined the destination; `permit` is held
/// until the answer is queued.
fn action(
    obj: Map<String, Value>,
    platform: Option<String>,
    id: Value,
    out: &Out,
    handle: &RelayHandle,
    permit: OwnedSemaphorePermit,
) {
    let out = out.clone();
    let action = match Action::from_value(&Value::Object(obj)) {
        Ok(action) => action,
        Err(e) => {
            tokio::spawn(async move {
                out.error(id, format!("invalid action: {e}")).await;
                drop(permit);
            });
            return;
        }
    };
    let handle = handle.clone();
    let options = match platform {
        Some(platform) => SendOptions::new().platform(platform),
        None => SendOptions::new(),
    };
    tokio::spawn(async move {
        let line = match handle.send_with(action, options).await {
            Ok(result) => json!({ "id": id, "result": to_json(&result) }),
            Err(ClientError::Declined(decline)) => json!({
                "id": id,
                "result": to_json(&decline.result),
                "declined": true,
                "decline": decline.text,
            }),
            Err(e) => json!({ "id": id, "result": to_json(&e.to_result()) }),
        };
        out.send(line).await;
        drop(permit);
    });
}

fn to_json(result: &relay_core::wire::ActionResult) -> Value {
    serde_json::to_value(result).unwrap_or(Value::Null)
}

/// Writes an event line; acks buffered deliveries once written when
/// `auto_ack`.
async fn forward_event(event: Event, out: &Out, handle: &RelayHandle, auto_ack: bool) {
    let (line, delivery) = events::event_json(&event);
    let Some(line) = line else { return };
    match delivery.filter(|_| auto_ack) {
        Some(delivery) => {
            out.send_written(line).await;
            if let Err(e) = handle.ack(delivery).await {
                tracing::warn!(error = %e, "auto-ack failed; the connector will redeliver");
            }
        }
        None => out.send(line).await,
    }
}
