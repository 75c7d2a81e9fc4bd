//! A tiny in-test driver for `Connection`: plays the connector frame by
//! frame, with a virtual clock and no sockets. Included with `#[path]`.
#![allow(dead_code)]

use relay_core::config::{PlatformIdentity, RelayConfig};
use relay_core::connection::{DeliveryHandle, Event, Input, Output, State};
use relay_core::wire::{Action, SendAction};
use relay_core::{Connection, Instant, UnixTime};
use serde_json::Value;

pub const WALL_SECS: u64 = 1_700_000_000;
pub const SECRET: &str = "s3cret";
pub const GATEWAY: &str = "gw-1";
pub const URL: &str = "wss://connector.example/relay";

pub const DISCORD_DESC: &str = "{\"type\":\"descriptor\",\"descriptor\":{\"contract_version\":1,\"platform\":\"discord\",\"label\":\"D\",\"max_message_length\":2000,\"supports_draft_streaming\":false,\"supports_edit\":true,\"supports_threads\":false,\"markdown_dialect\":\"discord\",\"len_unit\":\"chars\"}}\n";
pub const TELEGRAM_DESC: &str = "{\"type\":\"descriptor\",\"descriptor\":{\"contract_version\":1,\"platform\":\"telegram\",\"label\":\"T\",\"max_message_length\":4096,\"supports_draft_streaming\":false,\"supports_edit\":true,\"supports_threads\":false,\"markdown_dialect\":\"markdown\",\"len_unit\":\"utf16\"}}\n";
pub const IDLE_ACK: &str = "{\"type\":\"going_idle_ack\"}\n";

pub fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

/// A config with one discord identity and credentials.
pub fn cfg() -> RelayConfig {
    RelayConfig {
        relay_url: "https://connector.example".into(),
        identities: vec![PlatformIdentity::new("discord", "app-1")],
        gateway_id: Some(GATEWAY.into()),
        secret: Some(SECRET.into()),
        ..RelayConfig::default()
    }
}

/// A config fronting discord (`app-1`) and telegram (`bot-9`).
pub fn cfg_two() -> RelayConfig {
    RelayConfig {
        identities: vec![
            PlatformIdentity::new("discord", "app-1"),
            PlatformIdentity::new("telegram", "bot-9"),
        ],
        ..cfg()
    }
}

/// A descriptor line for `platform` with optional `supported_ops`.
pub fn desc_line(platform: &str, label: &str, ops: Option<&[&str]>) -> String {
    let mut d = serde_json::json!({
        "contract_version": 1, "platform": platform, "label": label,
        "max_message_length": 2000, "supports_draft_streaming": false,
        "supports_edit": true, "supports_threads": false,
        "markdown_dialect": "discord", "len_unit": "chars"
    });
    if let Some(ops) = ops {
        d["supported_ops"] = serde_json::json!(ops);
    }
    format!(
        "{}\n",
        serde_json::json!({"type": "descriptor", "descriptor": d})
    )
}

/// An inbound line; `source` is the JSON source object.
pub fn inbound_line(text: &str, source: Value, buffer_id: Option<&str>) -> String {
    let mut f = serde_json::json!({
        "type": "inbound",
        "event": {"text": text, "message_type": "text", "source": source}
    });
    if let Some(b) = buffer_id {
        f["bufferId"] = Value::String(b.into());
    }
    format!("{f}\n")
}

pub fn group_inbound(chat: &str, buffer_id: Option<&str>) -> String {
    inbound_line(
        "hi",
        serde_json::json!({"platform": "discord", "chat_id": chat, "chat_type": "group", "user_id": "u-1"}),
        buffer_id,
    )
}

pub fn result_line(request_id: &str, result: &str) -> String {
    format!("{{\"type\":\"outbound_result\",\"requestId\":\"{request_id}\",\"result\":{result}}}\n")
}

pub fn send_action(chat: &str) -> Action {
    Action::Send(SendAction {
        chat_id: chat.into(),
        content: "hello".into(),
        ..SendAction::default()
    })
}

/// The harness: a connection plus a virtual clock.
pub struct H {
    pub conn: Connection,
    pub now: u64,
    /// The deadline of the last `Wait`.
    pub deadline: Option<Instant>,
    /// Every output ever drained (Waits excluded).
    pub log: Vec<Output>,
}

impl H {
    /// A new connection at t=0; the outputs of construction are returned.
    pub fn new(config: RelayConfig, seed: u64) -> (H, Vec<Output>) {
        let conn = Connection::new(config, seed, ms(0), UnixTime::from_secs(WALL_SECS));
        let mut h = H {
            conn,
            now: 0,
            deadline: None,
            log: Vec::new(),
        };
        let out = h.drain();
        (h, out)
    }

    /// A connection with `cfg()`, already Serving (descriptor consumed).
    pub fn serving() -> H {
        Self::serving_with(cfg())
    }

    pub fn serving_with(config: RelayConfig) -> H {
        let (mut h, _) = H::new(config, 1);
        h.open();
        h.msg(DISCORD_DESC);
        assert_eq!(h.state(), State::Serving);
        h
    }

    pub fn at(&self) -> Instant {
        ms(self.now)
    }

    pub fn state(&self) -> State {
        self.conn.state()
    }

    /// Drains outputs until `Wait`.
    pub fn drain(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        for _ in 0..10_000 {
            match self.conn.poll_output() {
                Output::Wait(d) => {
                    self.deadline = d;
                    self.log.extend(out.iter().cloned());
                    return out;
                }
                o => out.push(o),
            }
        }
        panic!("poll_output never returned Wait");
    }

    pub fn input(&mut self, input: Input<'_>) -> Vec<Output> {
        let now = self.at();
        self.conn.handle_input(input, now);
        self.drain()
    }

    pub fn open(&mut self) -> Vec<Output> {
        self.input(Input::Opened)
    }

    pub fn msg(&mut self, line: &str) -> Vec<Output> {
        self.input(Input::Message(line.as_bytes()))
    }

    pub fn closed(&mut self, code: Option<u16>, reason: &str) -> Vec<Output> {
        self.input(Input::Closed {
            code,
            reason: reason.into(),
        })
    }

    pub fn dial_failed(&mut self, status: Option<u16>) -> Vec<Output> {
        self.input(Input::DialFailed {
            http_status: status,
            reason: "refused".into(),
        })
    }

    /// Moves the clock to `t` ms (no input).
    pub fn set_time(&mut self, t: u64) {
        self.now = t;
    }

    /// Moves the clock to `t` ms and feeds `Timeout`.
    pub fn timeout_at(&mut self, t: u64) -> Vec<Output> {
        self.now = t;
        self.input(Input::Timeout)
    }

    /// Advances to the current Wait deadline and feeds `Timeout`.
    pub fn fire(&mut self) -> Vec<Output> {
        let d = self.deadline.expect("a deadline to fire");
        self.now = self.now.max(d.as_millis());
        self.input(Input::Timeout)
    }

    pub fn send(&mut self, action: Action) -> Result<String, relay_core::connection::SendError> {
        let now = self.at();
        let r = self.conn.send(action, now).map(|id| id.as_str().to_owned());
        let _ = self.drain();
        r
    }

    /// Sends and returns (request id, outputs).
    pub fn send_out(&mut self, action: Action) -> (String, Vec<Output>) {
        let now = self.at();
        let id = self
            .conn
            .send(action, now)
            .expect("send accepted")
            .as_str()
            .to_owned();
        (id, self.drain())
    }

    pub fn go_idle(&mut self) -> Vec<Output> {
        let now = self.at();
        self.conn.go_idle(now).expect("go_idle accepted");
        self.drain()
    }

    pub fn wake(&mut self) -> Vec<Output> {
        let now = self.at();
        self.conn.wake(now).expect("wake accepted");
        self.drain()
    }

    pub fn ack(
        &mut self,
        d: DeliveryHandle,
    ) -> (
        Result<(), relay_core::connection::CommandError>,
        Vec<Output>,
    ) {
        let now = self.at();
        let r = self.conn.ack(d, now);
        (r, self.drain())
    }

    pub fn shutdown(&mut self) -> Vec<Output> {
        let now = self.at();
        self.conn.shutdown(now);
        self.drain()
    }
}

// ----- output filters ------------------------------------------------------

pub fn events(out: &[Output]) -> Vec<Event> {
    out.iter()
        .filter_map(|o| match o {
            Output::Event(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

/// Events other than `StateChanged`, `Disconnected` and `DialScheduled`.
pub fn app_events(out: &[Output]) -> Vec<Event> {
    events(out)
        .into_iter()
        .filter(|e| {
            !matches!(
                e,
                Event::StateChanged { .. }
                    | Event::Disconnected { .. }
                    | Event::DialScheduled { .. }
            )
        })
        .collect()
}

pub fn state_changes(out: &[Output]) -> Vec<(State, State)> {
    events(out)
        .into_iter()
        .filter_map(|e| match e {
            Event::StateChanged { from, to } => Some((from, to)),
            _ => None,
        })
        .collect()
}

pub fn transmits(out: &[Output]) -> Vec<String> {
    out.iter()
        .filter_map(|o| match o {
            Output::Transmit(t) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

pub fn dials(out: &[Output]) -> Vec<Vec<(String, String)>> {
    out.iter()
        .filter_map(|o| match o {
            Output::Dial { headers, .. } => Some(headers.clone()),
            _ => None,
        })
        .collect()
}

pub fn closes(out: &[Output]) -> Vec<(u16, String)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Close { code, reason } => Some((*code, reason.clone())),
            _ => None,
        })
        .collect()
}

pub fn is_dial(o: &Output) -> bool {
    matches!(o, Output::Dial { .. })
}

/// The bearer token of a dial's headers.
pub fn bearer(headers: &[(String, String)]) -> Option<String> {
    headers
        .iter()
        .find(|(k, _)| k == "Authorization")
        .and_then(|(_, v)| v.strip_prefix("Bearer ").map(str::to_owned))
}

pub fn json(t: &str) -> Value {
    serde_json::from_str(t.trim_end()).expect("valid JSON")
}

pub fn deliveries(out: &[Output]) -> Vec<Option<DeliveryHandle>> {
    events(out)
        .into_iter()
        .filter_map(|e| match e {
            Event::Inbound { delivery, .. } => Some(delivery),
            Event::Passthrough { delivery, .. } => Some(delivery),
            _ => None,
        })
        .collect()
}

/// The `DialScheduled` delay (ms from `now`) in `out`.
pub fn scheduled_delay(out: &[Output], now: u64) -> Option<u64> {
    events(out).into_iter().find_map(|e| match e {
        Event::DialScheduled { at, .. } => Some(at.as_millis() - now),
        _ => None,
    })
}
