//! `relay demo`: a dev connector and a gateway in one process, and a scripted
//! tour of the protocol printed as a timeline.
//!
//! Every step states what the protocol requires and checks it with a bounded
//! wait; the first expectation that does not hold ends the tour with exit
//! code 1 and says which step failed and why.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use clap::Args;
use relay_connector::server::{ConnectorServer, DevServerStats};
use relay_connector::{Direction, LogEntry};
use relay_core::config::{IdleMode, RelayConfig, Timeouts};
use relay_core::connection::{DeliveryHandle, Stats};
use relay_core::message::{MessageEvent, SessionSource};
use relay_core::wire::PassthroughForward;
use relay_core::{Event, State};
use relay_engine::{ClientOptions, Events, RelayHandle};
use relay_tokio::RelayClient;
use relay_tokio::wake::WakeListener;
use serde_json::{Value, json};

use crate::common::Exit;

/// The demo gateway's id.
const GATEWAY: &str = "demo-gateway";
/// The demo gateway's secret (never printed).
const SECRET: &str = "demo-secret";
/// The chat the tour talks in.
const CHAT: &str = "chat-42";
/// Longest any single expectation may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the connector's frame log is read while waiting.
const LOG_POLL: Duration = Duration::from_millis(20);
/// Widest frame text shown on a text timeline line.
const TEXT_WIDTH: usize = 96;

/// Options of `relay demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Print one JSON object per line instead of the readable timeline.
    #[arg(long)]
    pub json: bool,
    /// Never colour the timeline (colour is also off when stdout is not a
    /// terminal or NO_COLOR is set).
    #[arg(long)]
    pub no_color: bool,
}

/// Runs the tour; 0 when every step behaved, 1 otherwise.
pub async fn run(args: DemoArgs) -> Exit {
    let color = !args.json
        && !args.no_color
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut out = Timeline {
        start: Instant::now(),
        json: args.json,
        color,
        state: None,
        step: "setup",
    };
    let server = match ConnectorServer::builder()
        .gateway(GATEWAY, &[SECRET])
        .start()
        .await
    {
        Ok(server) => server,
        Err(e) => {
            out.fail(&format!(
                "could not start the dev connector on 127.0.0.1: {e}; check that loopback networking is available"
            ));
            return Exit::Failed;
        }
    };
    out.note(&format!("dev connector listening on {}", server.url()));
    let config = match gateway_config(&server) {
        Ok(config) => config,
        Err(e) => {
            out.fail(&format!("the demo configuration is invalid: {e}"));
            return Exit::Failed;
        }
    };
    let options = ClientOptions {
        dial_timeout: Duration::from_secs(3),
        ..ClientOptions::default()
    };
    let (handle, events) = RelayClient::start_with(config, options);
    let mut tour = Tour {
        out,
        server,
        handle,
        events,
        wake: None,
        reconnects: 0,
        client_stats: None,
    };
    let result = tour.run().await;
    tour.flush_log().await;
    let exit = match result {
        Ok(()) => {
            tour.summary().await;
            Exit::Ok
        }
        Err(why) => {
            tour.out.fail(&why);
            Exit::Failed
        }
    };
    tour.handle.shutdown().await;
    if let Some(wake) = tour.wake.take() {
        wake.shutdown().await;
    }
    tour.server.shutdown().await;
    exit
}

/// The gateway's configuration: two platforms and short timers so the tour
/// takes seconds.
fn gateway_config(
    server: &ConnectorServer,
) -> Result<RelayConfig, relay_core::config::ConfigError> {
    RelayConfig::builder(server.url())
        .gateway_id(GATEWAY)
        .secret(SECRET)
        .identity("telegram", "telegram-bot")
        .identity("discord", "discord-bot")
        .timeouts(Timeouts {
            handshake: Duration::from_secs(3),
            request: Duration::from_secs(3),
            idle_ack: Duration::from_secs(2),
            backoff_initial: Duration::from_millis(150),
            backoff_max: Duration::from_millis(600),
            ..Timeouts::default()
        })
        .build()
}

/// A message from `chat` on telegram.
fn message(text: &str) -> MessageEvent {
    MessageEvent {
        text: text.to_owned(),
        source: SessionSource {
            platform: "telegram".to_owned(),
            chat_id: CHAT.to_owned(),
            user_name: Some("ada".to_owned()),
            ..SessionSource::default()
        },
        ..MessageEvent::default()
    }
}

/// Where the timeline goes and how it looks.
struct Timeline {
    start: Instant,
    json: bool,
    color: bool,
    state: Option<State>,
    step: &'static str,
}

/// What a timeline line is about.
#[derive(Clone, Copy)]
enum Kind {
    Step,
    Wire(Direction),
    Event,
    Action,
    Check,
    Note,
    Fail,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Step => "step",
            Kind::Wire(_) => "wire",
            Kind::Event => "event",
            Kind::Action => "action",
            Kind::Check => "check",
            Kind::Note => "note",
            Kind::Fail => "fail",
        }
    }

    /// The marker column of the text timeline.
    fn marker(self) -> &'static str {
        match self {
            Kind::Step => "==",
            Kind::Wire(Direction::In) => "gw→",
            Kind::Wire(Direction::Out) => "→gw",
            Kind::Event => "evt",
            Kind::Action => "app",
            Kind::Check => "ok",
            Kind::Note => "..",
            Kind::Fail => "FAIL",
        }
    }

    /// ANSI colour of the marker.
    fn color(self) -> &'static str {
        match self {
            Kind::Step => "1;36",
            Kind::Wire(Direction::In) => "33",
            Kind::Wire(Direction::Out) => "35",
            Kind::Event => "34",
            Kind::Action => "36",
            Kind::Check => "32",
            Kind::Note => "2",
            Kind::Fail => "1;31",
        }
    }
}

impl Timeline {
    fn elapsed_ms(&self) -> u128 {
        self.start.elapsed().as_millis()
    }

    fn state_name(&self) -> &'static str {
        self.state.map_or("-", State::as_str)
    }

    /// Prints one line; `extra` is merged into the JSON form.
    fn emit(&mut self, kind: Kind, text: &str, extra: Value) {
        let mut stdout = std::io::stdout().lock();
        let line = if self.json {
            let mut obj = json!({
                "t_ms": self.elapsed_ms() as u64,
                "state": self.state_name(),
                "step": self.step,
                "kind": kind.name(),
                "text": text,
            });
            if let (Some(obj), Value::Object(extra)) = (obj.as_object_mut(), extra) {
                obj.extend(extra);
            }
            obj.to_string()
        } else {
            let marker = kind.marker();
            let (on, off) = if self.color {
                (format!("\x1b[{}m", kind.color()), "\x1b[0m")
            } else {
                (String::new(), "")
            };
            let text = if matches!(kind, Kind::Step) && self.color {
                format!("\x1b[1m{text}\x1b[0m")
            } else {
                text.to_owned()
            };
            format!(
                "{:>6} ms  {:<11} {on}{marker:<4}{off} {text}",
                self.elapsed_ms(),
                self.state_name(),
            )
        };
        // A closed stdout (`relay demo | head`) is not worth a panic.
        let _ = writeln!(stdout, "{line}");
    }

    fn begin(&mut self, step: &'static str, what: &str) {
        self.step = step;
        self.emit(Kind::Step, &format!("{step}: {what}"), json!({}));
    }

    fn check(&mut self, what: &str) {
        self.emit(Kind::Check, what, json!({ "ok": true }));
    }

    fn note(&mut self, what: &str) {
        self.emit(Kind::Note, what, json!({}));
    }

    fn action(&mut self, what: &str) {
        self.emit(Kind::Action, what, json!({}));
    }

    fn fail(&mut self, why: &str) {
        let step = self.step;
        self.emit(
            Kind::Fail,
            &format!("step {step} failed: {why}"),
            json!({ "ok": false, "error": why }),
        );
    }
}

/// Shortens `text` to `width` characters for the text timeline.
fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// One line describing a client event.
fn describe(event: &Event) -> (String, Value) {
    match event {
        Event::StateChanged { from, to } => (
            format!("state {from} → {to}"),
            json!({ "event": "state", "from": from.as_str(), "to": to.as_str() }),
        ),
        Event::DialScheduled { attempt, .. } => (
            format!("re-dial scheduled after backoff (attempt {attempt})"),
            json!({ "event": "dial_scheduled", "attempt": attempt }),
        ),
        Event::Disconnected { code, reason } => (
            match code {
                Some(code) => format!("disconnected: close {code} {reason:?}"),
                None => "disconnected: link cut without a close frame".to_owned(),
            },
            json!({ "event": "disconnected", "code": code, "reason": reason }),
        ),
        Event::Descriptor(d) => (
            format!("descriptor for {}", d.platform),
            json!({ "event": "descriptor", "platform": d.platform }),
        ),
        Event::Inbound { event, delivery } => (
            match delivery {
                Some(d) => format!(
                    "inbound (buffered {}) from {}: {:?}",
                    d.buffer_id().as_str(),
                    event.source.chat_id,
                    event.text
                ),
                None => format!(
                    "inbound (live) from {}: {:?}",
                    event.source.chat_id, event.text
                ),
            },
            json!({
                "event": "inbound",
                "delivery": delivery.as_ref().map(|d| d.buffer_id().as_str()),
                "text": event.text,
            }),
        ),
        Event::Passthrough { forward, delivery } => (
            format!(
                "passthrough {} {} ({} body bytes)",
                forward.method,
                forward.path,
                forward.body.len()
            ),
            json!({
                "event": "passthrough",
                "delivery": delivery.as_ref().map(|d| d.buffer_id().as_str()),
                "path": forward.path,
            }),
        ),
        Event::Interrupt {
            session_key,
            chat_id,
        } => (
            format!("interrupt for {session_key} (chat {chat_id})"),
            json!({ "event": "interrupt", "session_key": session_key, "chat_id": chat_id }),
        ),
        Event::Response { result, .. } => (
            format!("response: success={}", result.success),
            json!({ "event": "response" }),
        ),
        Event::RequestFailed { error, .. } => (
            format!("request failed: {error}"),
            json!({ "event": "request_failed", "error": error.to_string() }),
        ),
        Event::FrameRejected { error } => (
            format!("frame rejected: {error}"),
            json!({ "event": "frame_rejected", "error": error.to_string() }),
        ),
        Event::IdleRefused { reason } => (
            format!("go idle refused: {reason:?}"),
            json!({ "event": "idle_refused", "reason": format!("{reason:?}") }),
        ),
        Event::Revoked => (
            "revoked: the gateway will never dial again".to_owned(),
            json!({ "event": "revoked" }),
        ),
        other => (format!("{other:?}"), json!({ "event": "other" })),
    }
}

/// The running tour: the server, the client and the timeline.
struct Tour {
    out: Timeline,
    server: ConnectorServer,
    handle: RelayHandle,
    events: Events,
    wake: Option<WakeListener>,
    reconnects: u64,
    client_stats: Option<Stats>,
}

/// A step's failure: what went wrong, for the `FAIL` line.
type StepResult<T = ()> = Result<T, String>;

fn stopped<E: std::fmt::Display>(e: E) -> String {
    format!("{e}; this is a bug in the demo, please report it")
}

impl Tour {
    async fn run(&mut self) -> StepResult {
        self.handshake().await?;
        self.message().await?;
        self.interrupt().await?;
        self.passthrough().await?;
        self.idle_wake_drain().await?;
        self.abrupt_drop().await?;
        self.revocation().await?;
        Ok(())
    }

    /// Prints the connector's frames logged since the last call.
    async fn flush_log(&mut self) {
        // The ring keeps 4096 entries; the tour logs far fewer between two
        // reads, so nothing falls off unseen.
        let fresh = self.server.with_model(|c, _| c.log_mut().take()).await;
        let Ok(entries) = fresh else {
            return;
        };
        for entry in entries {
            self.print_frame(&entry);
        }
    }

    fn print_frame(&mut self, entry: &LogEntry) {
        let who = match entry.direction {
            Direction::In => "gateway → connector",
            Direction::Out => "connector → gateway",
        };
        // JSON lines carry the frame itself; the text names its type only.
        let text = if self.out.json {
            entry.frame_type.clone()
        } else {
            format!("{:<18} {}", entry.frame_type, clip(&entry.text, TEXT_WIDTH))
        };
        let frame: Value = serde_json::from_str(&entry.text).unwrap_or(Value::Null);
        self.out.emit(
            Kind::Wire(entry.direction),
            &text,
            json!({
                "direction": who,
                "frame_type": entry.frame_type,
                "frame": frame,
            }),
        );
    }

    fn print_event(&mut self, event: &Event) {
        if let Event::StateChanged { to, .. } = event {
            self.out.state = Some(*to);
            if *to == State::Serving && self.out.step != "handshake" {
                self.reconnects += 1;
            }
        }
        let (text, extra) = describe(event);
        self.out.emit(Kind::Event, &text, extra);
    }

    /// The next client event within `timeout` (frames logged meanwhile are
    /// printed first). `Ok(None)` when the stream ended.
    async fn next_event(&mut self, deadline: tokio::time::Instant) -> StepResult<Option<Event>> {
        loop {
            let poll = tokio::time::sleep(LOG_POLL);
            tokio::select! {
                event = self.events.next_event() => {
                    self.flush_log().await;
                    if let Some(event) = &event {
                        self.print_event(event);
                    }
                    return Ok(event);
                }
                _ = poll => {
                    self.flush_log().await;
                    if tokio::time::Instant::now() >= deadline {
                        return Err("timed out".to_owned());
                    }
                }
            }
        }
    }

    /// Waits for the first event matching `pred`, printing everything seen.
    async fn expect(
        &mut self,
        what: &str,
        mut pred: impl FnMut(&Event) -> bool,
    ) -> StepResult<Event> {
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            match self.next_event(deadline).await {
                Ok(Some(event)) if pred(&event) => return Ok(event),
                Ok(Some(_)) => {}
                Ok(None) => return Err(format!("the client stopped while waiting for {what}")),
                Err(_) => {
                    return Err(format!("no {what} within {} s", STEP_TIMEOUT.as_secs()));
                }
            }
        }
    }

    async fn expect_state(&mut self, state: State) -> StepResult {
        self.expect(
            &format!("state {state}"),
            |e| matches!(e, Event::StateChanged { to, .. } if *to == state),
        )
        .await?;
        Ok(())
    }

    /// Prints events and frames for `millis` while nothing is expected.
    async fn settle(&mut self, millis: u64) -> StepResult<Vec<Event>> {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(millis);
        let mut seen = Vec::new();
        loop {
            match self.next_event(deadline).await {
                Ok(Some(event)) => seen.push(event),
                Ok(None) | Err(_) => return Ok(seen),
            }
        }
    }

    async fn stats(&self) -> StepResult<DevServerStats> {
        self.server.stats().await.map_err(stopped)
    }

    /// Step 1: one hello per platform, one descriptor each, serving.
    async fn handshake(&mut self) -> StepResult {
        self.out.begin(
            "handshake",
            "dial with a fresh HMAC token, hello ×2 (telegram, discord), a descriptor each",
        );
        let mut descriptors = BTreeSet::new();
        let mut serving = false;
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        while descriptors.len() < 2 || !serving {
            match self.next_event(deadline).await {
                Ok(Some(Event::Descriptor(d))) => {
                    descriptors.insert(d.platform.clone());
                }
                Ok(Some(Event::StateChanged {
                    to: State::Serving, ..
                })) => serving = true,
                Ok(Some(_)) => {}
                Ok(None) => return Err("the client stopped during the handshake".to_owned()),
                Err(_) => {
                    return Err(format!(
                        "not serving with two descriptors within {} s (got {descriptors:?})",
                        STEP_TIMEOUT.as_secs()
                    ));
                }
            }
        }
        let platforms: Vec<_> = descriptors.into_iter().collect();
        if platforms != ["discord", "telegram"] {
            return Err(format!(
                "descriptors for {platforms:?}, expected discord and telegram"
            ));
        }
        let hellos = self
            .server
            .with_model(|c, _| {
                c.sessions()
                    .first()
                    .map(|s| {
                        c.hellos(*s)
                            .iter()
                            .map(|h| h.platform.clone())
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            })
            .await
            .map_err(stopped)?;
        if hellos != ["telegram", "discord"] {
            return Err(format!(
                "the connector saw hellos {hellos:?}, expected telegram then discord"
            ));
        }
        self.out
            .check("serving: two hellos answered by two descriptors");
        Ok(())
    }

    /// Step 2: a live inbound message, answered with a send and its result.
    async fn message(&mut self) -> StepResult {
        self.out.begin(
            "message",
            "a user writes; the agent answers with a send and gets its result",
        );
        self.server
            .deliver(GATEWAY, message("hello, is anyone there?"))
            .await
            .map_err(stopped)?;
        let got = self
            .expect("inbound message", |e| matches!(e, Event::Inbound { .. }))
            .await?;
        let Event::Inbound { event, delivery } = got else {
            return Err("expected an inbound event".to_owned());
        };
        if delivery.is_some() {
            return Err("a live delivery carried a bufferId; only buffered ones may".to_owned());
        }
        self.out.action(&format!(
            "send to {}: \"hi ada, I'm here\"",
            event.source.chat_id
        ));
        let send = self
            .handle
            .send_text(event.source.chat_id.clone(), "hi ada, I'm here");
        let result = match tokio::time::timeout(STEP_TIMEOUT, send).await {
            Ok(Ok(result)) => result,
            Ok(Err(e)) => return Err(format!("the send failed: {e}")),
            Err(_) => return Err("no result for the send within 5 s".to_owned()),
        };
        self.flush_log().await;
        let result_json = serde_json::to_value(&result).unwrap_or(Value::Null);
        self.out.emit(
            Kind::Event,
            &format!("result: {result_json}"),
            json!({ "event": "result", "result": result_json }),
        );
        if !result.success || result.message_id.is_none() {
            return Err(format!("the send was not successful: {result_json}"));
        }
        self.out
            .check("the send was answered by its own outbound_result");
        Ok(())
    }

    /// Step 3: interrupts both ways. The session is bound to this gateway
    /// (`/dev/bind`); a user's stop on the platform side is pushed to it
    /// (`/dev/interrupt`), and an interrupt the gateway sends is routed by
    /// the connector back to the session's owner, this gateway.
    async fn interrupt(&mut self) -> StepResult {
        self.out.begin(
            "interrupt",
            "bind the session to this gateway; a user's stop arrives, and an interrupt is routed back to its owner",
        );
        let key = format!("agent:main:telegram:dm:{CHAT}");
        match self.server.bind(&key, GATEWAY).await.map_err(stopped)? {
            Ok(()) => {}
            Err(e) => return Err(format!("the connector refused the binding: {e}")),
        }
        self.out.action(&format!(
            "the user presses stop in {CHAT} (connector → gateway)"
        ));
        match self
            .server
            .push_interrupt(&key, CHAT)
            .await
            .map_err(stopped)?
        {
            Ok(_) => {}
            Err(e) => return Err(format!("the connector could not push the interrupt: {e}")),
        }
        let expected = Event::Interrupt {
            session_key: key.clone(),
            chat_id: CHAT.to_owned(),
        };
        let got = self
            .expect("interrupt", |e| matches!(e, Event::Interrupt { .. }))
            .await?;
        if got != expected {
            return Err(format!("got {got:?}, expected {expected:?}"));
        }
        self.out
            .action(&format!("interrupt {key} (\"user pressed stop\")"));
        match tokio::time::timeout(
            STEP_TIMEOUT,
            self.handle
                .interrupt(key.clone(), Some("user pressed stop".to_owned())),
        )
        .await
        {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(format!("the interrupt was refused: {e}")),
            Err(_) => return Err("the client did not take the interrupt within 5 s".to_owned()),
        }
        let got = self
            .expect("interrupt", |e| matches!(e, Event::Interrupt { .. }))
            .await?;
        if got != expected {
            return Err(format!("got {got:?}, expected {expected:?}"));
        }
        self.out
            .check("interrupts crossed both ways for the right session and chat");
        Ok(())
    }

    /// Step 4: a passthrough forward arrives byte for byte.
    async fn passthrough(&mut self) -> StepResult {
        self.out.begin(
            "passthrough",
            "a platform webhook is forwarded verbatim (base64 body)",
        );
        let body = br#"{"update_id":7,"callback_query":{"data":"approve"}}"#.to_vec();
        let forward = PassthroughForward {
            platform: "telegram".into(),
            bot_id: "telegram-bot".into(),
            method: "POST".into(),
            path: "/webhook/telegram".into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.clone(),
            ..PassthroughForward::default()
        };
        self.server
            .deliver_passthrough(GATEWAY, forward)
            .await
            .map_err(stopped)?;
        let got = self
            .expect("passthrough forward", |e| {
                matches!(e, Event::Passthrough { .. })
            })
            .await?;
        let Event::Passthrough { forward, .. } = got else {
            return Err("expected a passthrough event".to_owned());
        };
        if forward.body != body || forward.path != "/webhook/telegram" {
            return Err("the forwarded body or path differs from what was sent".to_owned());
        }
        self.out.check("the body arrived byte for byte");
        Ok(())
    }

    /// Step 5: idle, three items buffered, a real wake poke over HTTP, the
    /// re-dial and the drain, each item acked once.
    async fn idle_wake_drain(&mut self) -> StepResult {
        self.out.begin(
            "idle-wake-drain",
            "go idle; the connector buffers three messages, pokes the wake URL; reconnect and drain",
        );
        let wake = WakeListener::bind("127.0.0.1:0", self.handle.clone())
            .await
            .map_err(|e| format!("could not bind the wake listener on 127.0.0.1: {e}"))?;
        let wake_url = wake.url();
        self.wake = Some(wake);
        let url = wake_url.clone();
        self.server
            .with_model(move |c, _| c.set_wake_url(GATEWAY, &url))
            .await
            .map_err(stopped)?;
        self.out.note(&format!("wake listener at {wake_url}"));
        self.out.action("go idle");
        match tokio::time::timeout(
            STEP_TIMEOUT,
            // This gateway advertises a wake URL: rest until the poke.
            self.handle.go_idle_with(IdleMode::Close),
        )
        .await
        {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(format!("go idle was refused: {e}")),
            Err(_) => return Err("the client did not take go idle within 5 s".to_owned()),
        }
        self.expect_state(State::Buffered).await?;
        let pokes_before = self.stats().await?.wake_pokes_sent;
        // All three in one model call, so the poke the first one causes
        // cannot start the drain before the other two are buffered.
        let buffered = self
            .server
            .with_model(|c, now| {
                for i in 1..=3 {
                    c.deliver(GATEWAY, message(&format!("while you were away #{i}")), now);
                }
                c.buffer_len(GATEWAY)
            })
            .await
            .map_err(stopped)?;
        self.out.note(&format!(
            "connector buffered {buffered} messages for {GATEWAY}"
        ));
        if buffered != 3 {
            return Err(format!("{buffered} items buffered, expected 3"));
        }
        let mut seen: Vec<(String, DeliveryHandle)> = Vec::new();
        let mut poked = false;
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        while seen.len() < 3 {
            let event = match self.next_event(deadline).await {
                Ok(Some(event)) => event,
                Ok(None) => return Err("the client stopped during the drain".to_owned()),
                Err(_) => {
                    return Err(format!(
                        "{} of 3 buffered messages delivered within {} s",
                        seen.len(),
                        STEP_TIMEOUT.as_secs()
                    ));
                }
            };
            if !poked
                && matches!(
                    event,
                    Event::StateChanged {
                        from: State::Buffered,
                        ..
                    }
                )
            {
                // Nothing but the wake endpoint makes a buffered client
                // re-dial here (no dormant re-dial is configured).
                poked = true;
                self.out
                    .note(&format!("woken through GET {wake_url}; re-dialing"));
            }
            if let Event::Inbound { event, delivery } = event {
                let Some(delivery) = delivery else {
                    return Err("a drained item carried no bufferId".to_owned());
                };
                if seen.iter().any(|(_, d)| d == &delivery) {
                    return Err(format!(
                        "{} was delivered twice",
                        delivery.buffer_id().as_str()
                    ));
                }
                self.out
                    .action(&format!("ack {}", delivery.buffer_id().as_str()));
                match tokio::time::timeout(STEP_TIMEOUT, self.handle.ack(delivery.clone())).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return Err(format!("the ack was refused: {e}")),
                    Err(_) => return Err("the client did not take the ack within 5 s".to_owned()),
                }
                seen.push((event.text.clone(), delivery));
            }
        }
        if !poked {
            return Err("the drain started without the client leaving Buffered".to_owned());
        }
        // The poke is counted once its answer is back at the connector.
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        while self.stats().await?.wake_pokes_sent <= pokes_before {
            if tokio::time::Instant::now() >= deadline {
                return Err("the connector never saw its wake poke answered".to_owned());
            }
            tokio::time::sleep(LOG_POLL).await;
        }
        self.out
            .note("the connector's wake poke was answered by the wake listener");
        let texts: Vec<&str> = seen.iter().map(|(t, _)| t.as_str()).collect();
        if texts
            != [
                "while you were away #1",
                "while you were away #2",
                "while you were away #3",
            ]
        {
            return Err(format!(
                "drained {texts:?}, expected the three messages in order"
            ));
        }
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            let left = self.server.buffer_len(GATEWAY).await.map_err(stopped)?;
            if left == 0 {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(format!(
                    "{left} items still buffered 5 s after the last ack"
                ));
            }
            self.settle(30).await?;
        }
        self.settle(100).await?;
        let stats = self.stats().await?;
        if stats.model.acked < 3 || stats.model.acks_duplicate != 0 || stats.model.redelivered != 0
        {
            return Err(format!(
                "connector counted {} acks, {} duplicate acks, {} redeliveries; expected 3, 0, 0",
                stats.model.acked, stats.model.acks_duplicate, stats.model.redelivered
            ));
        }
        self.out
            .check("woken by the poke; 3 drained in order, each acked once; buffer empty");
        Ok(())
    }

    /// Step 6: the link is cut without a close frame; the client backs off
    /// and reconnects.
    async fn abrupt_drop(&mut self) -> StepResult {
        self.out.begin(
            "abrupt-drop",
            "the network drops the socket (no close frame); back off and reconnect",
        );
        let before = self.server.upgrade_count();
        let cut = self.server.drop_connections().await.map_err(stopped)?;
        self.out.note(&format!("connector cut {cut} socket(s)"));
        self.expect("abnormal disconnect", |e| {
            matches!(e, Event::Disconnected { code: None, .. })
        })
        .await?;
        self.expect_state(State::Serving).await?;
        if self.server.upgrade_count() <= before {
            return Err("serving again without a new dial".to_owned());
        }
        let send = self.handle.send_text(CHAT, "back online");
        self.out.action(&format!("send to {CHAT}: \"back online\""));
        match tokio::time::timeout(STEP_TIMEOUT, send).await {
            Ok(Ok(r)) if r.success => {}
            Ok(Ok(r)) => return Err(format!("the send after reconnecting failed: {:?}", r.error)),
            Ok(Err(e)) => return Err(format!("the send after reconnecting failed: {e}")),
            Err(_) => return Err("no result for the send after reconnecting within 5 s".to_owned()),
        }
        self.flush_log().await;
        self.out.check("reconnected and serving again");
        Ok(())
    }

    /// Step 7: 4401 after a handshake, one confirming re-dial, Revoked, and
    /// no further dials.
    async fn revocation(&mut self) -> StepResult {
        self.out.begin(
            "revocation",
            "the connector revokes the gateway: 4401, one confirming re-dial, then never again",
        );
        self.client_stats = self.handle.stats().await.ok();
        let before = self.server.upgrade_count();
        self.server.revoke(GATEWAY).await.map_err(stopped)?;
        self.expect("4401 close", |e| {
            matches!(
                e,
                Event::Disconnected {
                    code: Some(4401),
                    ..
                }
            )
        })
        .await?;
        self.expect("revocation", |e| matches!(e, Event::Revoked))
            .await?;
        // The stream ends once the client has stopped; keep printing until then.
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            match self.next_event(deadline).await {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => return Err("the client kept running after revocation".to_owned()),
            }
        }
        tokio::time::sleep(Duration::from_millis(600)).await;
        self.flush_log().await;
        let dials = self.server.upgrade_count().saturating_sub(before);
        if dials != 1 {
            return Err(format!(
                "{dials} dials after the 4401, expected exactly one confirming re-dial"
            ));
        }
        self.out
            .check("one confirming re-dial was refused; revoked, and no dial in the 600 ms after");
        Ok(())
    }

    /// The closing table.
    async fn summary(&mut self) {
        self.out.step = "summary";
        let Ok(stats) = self.server.stats().await else {
            return;
        };
        let client = self.client_stats.unwrap_or_default();
        let m = &stats.model;
        let reconnects = m.upgrades_accepted.saturating_sub(1);
        let n = Some;
        let rows: Vec<(&str, Option<u64>, Option<u64>)> = vec![
            (
                "frames gateway → connector",
                n(m.frames_in),
                n(client.frames_out),
            ),
            (
                "frames connector → gateway",
                n(m.frames_out),
                n(client.frames_in),
            ),
            (
                "requests (outbound)",
                n(m.outbound_requests),
                n(client.requests_sent),
            ),
            ("results", n(m.outbound_results), None),
            ("buffered acks", n(m.acked), n(client.acks_sent)),
            (
                "duplicate deliveries",
                n(m.redelivered),
                n(client.duplicate_deliveries),
            ),
            ("dials", n(stats.upgrades_attempted), n(client.dials)),
            ("sessions (upgrades accepted)", n(m.upgrades_accepted), None),
            ("wake pokes", n(stats.wake_pokes_sent), None),
            ("4401 closes", n(m.closes_4401), None),
            ("reconnects", n(reconnects), n(self.reconnects)),
        ];
        if self.out.json {
            let table: serde_json::Map<String, Value> = rows
                .iter()
                .map(|(k, c, g)| ((*k).to_owned(), json!({ "connector": c, "gateway": g })))
                .collect();
            self.out.emit(
                Kind::Note,
                "summary",
                json!({
                    "summary": table,
                    "reconnects": reconnects,
                    "ok": true,
                }),
            );
            return;
        }
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout);
        let _ = writeln!(
            stdout,
            "{:<30} {:>10} {:>10}",
            "summary", "connector", "gateway*"
        );
        let _ = writeln!(stdout, "{}", "-".repeat(52));
        let cell = |v: Option<u64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
        for (name, c, g) in rows {
            let (c, g) = (cell(c), cell(g));
            let _ = writeln!(stdout, "{name:<30} {c:>10} {g:>10}");
        }
        let _ = writeln!(
            stdout,
            "* the gateway's counters as of just before the revocation (a revoked client stops)"
        );
        let _ = writeln!(
            stdout,
            "\nevery step behaved as the protocol requires ({} ms)",
            self.out.elapsed_ms()
        );
    }
}
