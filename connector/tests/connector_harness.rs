//! Helpers shared by the connector tests (included with `#[path]`).
#![allow(dead_code)]

use relay_connector::{Accept, Connector, ConnectorConfig, ConnectorOutput, SessionId};
use relay_core::auth::mint_token;
use relay_core::message::MessageEvent;
use relay_core::{Instant, UnixTime};
use serde_json::Value;

/// The wall clock used for every token.
pub const WALL: UnixTime = UnixTime::from_secs(1_700_000_000);

pub fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

pub fn secs(n: u64) -> Instant {
    Instant::from_millis(n * 1000)
}

/// A connector knowing `gw-a` (secret `sa`) and `gw-b` (secret `sb`).
pub fn connector_with(config: ConnectorConfig) -> Connector {
    let mut c = Connector::new(config, 7);
    assert!(c.add_gateway("gw-a", &["sa"]));
    assert!(c.add_gateway("gw-b", &["sb"]));
    c
}

pub fn connector() -> Connector {
    connector_with(ConnectorConfig::default())
}

pub fn bearer(gateway: &str, secret: &str) -> Vec<(String, String)> {
    let token = mint_token(gateway, secret, 300, WALL);
    vec![
        ("Host".to_owned(), "connector.test".to_owned()),
        ("Authorization".to_owned(), format!("Bearer {token}")),
    ]
}

/// Accepts an authorized upgrade and checks nothing is pending.
pub fn open(c: &mut Connector, gateway: &str, secret: &str, now: Instant) -> SessionId {
    match c.accept(&bearer(gateway, secret), now, WALL) {
        Accept::Accepted(sid) => sid,
        other => panic!("upgrade refused: {other:?}"),
    }
}

/// Sends one gateway line (a `\n` is appended).
pub fn send(c: &mut Connector, sid: SessionId, line: &str, now: Instant) {
    c.handle_message(sid, format!("{line}\n").as_bytes(), now);
}

pub fn hello(platform: &str, bot: &str) -> String {
    format!(r#"{{"type": "hello", "platform": "{platform}", "botId": "{bot}"}}"#)
}

pub fn ack(id: &str) -> String {
    format!(r#"{{"type": "inbound_ack", "bufferId": "{id}"}}"#)
}

pub const GOING_IDLE: &str = r#"{"type": "going_idle"}"#;

pub fn event(text: &str) -> MessageEvent {
    let mut e = MessageEvent {
        text: text.to_owned(),
        ..Default::default()
    };
    e.source.platform = "discord".into();
    e.source.chat_id = "chan-1".into();
    e
}

/// Everything the connector emitted, sorted by kind.
#[derive(Debug, Default)]
pub struct Out {
    /// `(session, decoded frame)` in order.
    pub frames: Vec<(SessionId, Value)>,
    pub closes: Vec<(SessionId, u16, String)>,
    pub dropped: Vec<SessionId>,
    pub pokes: Vec<(String, String)>,
    pub wait: Option<Instant>,
}

impl Out {
    /// The `type`s of the frames, in order.
    pub fn types(&self) -> Vec<String> {
        self.frames
            .iter()
            .map(|(_, f)| f["type"].as_str().unwrap_or("?").to_owned())
            .collect()
    }

    /// `(type, bufferId or "", text)` for every inbound frame.
    pub fn inbound(&self) -> Vec<(String, String)> {
        self.frames
            .iter()
            .filter(|(_, f)| f["type"] == "inbound")
            .map(|(_, f)| {
                (
                    f["bufferId"].as_str().unwrap_or("").to_owned(),
                    f["event"]["text"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    }
}

/// Drains the connector until `Wait`, checking the framing of every
/// transmitted text (one JSON object per message, ending in `\n`).
pub fn drain(c: &mut Connector) -> Out {
    let mut out = Out::default();
    loop {
        match c.poll_output() {
            ConnectorOutput::Transmit { session, text } => {
                assert!(text.ends_with('\n'), "frame without newline: {text:?}");
                assert_eq!(text.matches('\n').count(), 1, "several lines: {text:?}");
                let v: Value = serde_json::from_str(text.trim_end()).expect("frame is JSON");
                assert!(v.is_object());
                out.frames.push((session, v));
            }
            ConnectorOutput::Close {
                session,
                code,
                reason,
            } => out.closes.push((session, code, reason)),
            ConnectorOutput::Dropped { session } => out.dropped.push(session),
            ConnectorOutput::WakePoke { instance, url } => out.pokes.push((instance, url)),
            ConnectorOutput::Wait(w) => {
                out.wait = w;
                return out;
            }
        }
    }
}

/// Opens a session for `gateway`, says hello on discord and returns the
/// session with whatever the handshake produced.
pub fn handshake(c: &mut Connector, gateway: &str, secret: &str, now: Instant) -> (SessionId, Out) {
    let sid = open(c, gateway, secret, now);
    send(c, sid, &hello("discord", "app-1"), now);
    let out = drain(c);
    (sid, out)
}
