//! How the tour looks: one timeline line per step, frame, event, action
//! and check, as readable text or JSON lines, and the closing table.

use std::io::Write;
use std::time::Instant;

use relay_connector::{Direction, LogEntry};
use relay_core::{Event, State};
use serde_json::{Value, json};

/// Widest frame text shown on a text timeline line.
const TEXT_WIDTH: usize = 96;

/// Where the timeline goes and how it looks.
pub(super) struct Timeline {
    start: Instant,
    json: bool,
    color: bool,
    /// The link state the lines are stamped with.
    pub(super) state: Option<State>,
    /// The step the lines belong to.
    pub(super) step: &'static str,
}

/// What a timeline line is about.
#[derive(Clone, Copy)]
pub(super) enum Kind {
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
    /// A timeline that starts now, in JSON lines or readable text (in
    /// colour when `color`).
    pub(super) fn new(json: bool, color: bool) -> Self {
        Timeline {
            start: Instant::now(),
            json,
            color,
            state: None,
            step: "setup",
        }
    }

    pub(super) fn elapsed_ms(&self) -> u128 {
        self.start.elapsed().as_millis()
    }

    fn state_name(&self) -> &'static str {
        self.state.map_or("-", State::as_str)
    }

    /// Prints one line; `extra` is merged into the JSON form.
    pub(super) fn emit(&mut self, kind: Kind, text: &str, extra: Value) {
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

    pub(super) fn begin(&mut self, step: &'static str, what: &str) {
        self.step = step;
        self.emit(Kind::Step, &format!("{step}: {what}"), json!({}));
    }

    pub(super) fn check(&mut self, what: &str) {
        self.emit(Kind::Check, what, json!({ "ok": true }));
    }

    pub(super) fn note(&mut self, what: &str) {
        self.emit(Kind::Note, what, json!({}));
    }

    pub(super) fn action(&mut self, what: &str) {
        self.emit(Kind::Action, what, json!({}));
    }

    pub(super) fn fail(&mut self, why: &str) {
        let step = self.step;
        self.emit(
            Kind::Fail,
            &format!("step {step} failed: {why}"),
            json!({ "ok": false, "error": why }),
        );
    }

    /// Prints a frame from the connector's log.
    pub(super) fn frame(&mut self, entry: &LogEntry) {
        let who = match entry.direction {
            Direction::In => "gateway → connector",
            Direction::Out => "connector → gateway",
        };
        // JSON lines carry the frame itself; the text names its type only.
        let text = if self.json {
            entry.frame_type.clone()
        } else {
            format!("{:<18} {}", entry.frame_type, clip(&entry.text, TEXT_WIDTH))
        };
        let frame: Value = serde_json::from_str(&entry.text).unwrap_or(Value::Null);
        self.emit(
            Kind::Wire(entry.direction),
            &text,
            json!({
                "direction": who,
                "frame_type": entry.frame_type,
                "frame": frame,
            }),
        );
    }

    /// Prints a client event (and follows the link state it reports).
    pub(super) fn event(&mut self, event: &Event) {
        if let Event::StateChanged { to, .. } = event {
            self.state = Some(*to);
        }
        let (text, extra) = describe(event);
        self.emit(Kind::Event, &text, extra);
    }

    /// Prints the closing table: `(what, connector's count, gateway's)`
    /// rows, and the sessions past the first.
    pub(super) fn summary(&mut self, rows: &[(&str, Option<u64>, Option<u64>)], reconnects: u64) {
        self.step = "summary";
        if self.json {
            let table: serde_json::Map<String, Value> = rows
                .iter()
                .map(|(k, c, g)| ((*k).to_owned(), json!({ "connector": c, "gateway": g })))
                .collect();
            self.emit(
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
        for &(name, c, g) in rows {
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
            self.elapsed_ms()
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
