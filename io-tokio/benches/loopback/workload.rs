//! What the clients and servers exchange: the workload's sizes, the frames
//! both sides send, and the raw client's typed serde view of them.

use std::time::Duration;

use relay_core::descriptor::CapabilityDescriptor;
use relay_core::wire::{ConnectorFrame, encode_connector_frame};
use serde::{Deserialize, Serialize};

use crate::loopback_frame::{chat_id, inbound_event};

pub const PLATFORM: &str = "telegram";
pub const BOT: &str = "telegram-bot";
pub const SECRET: &str = "bench-secret";
pub const GATEWAYS: usize = 1100;
pub const RTT_WARMUP: usize = 500;
pub const RTT_ITERS: usize = 5000;
/// Long enough (1–2 s a round) that one stream is not dominated by its
/// start: with 100,000 frames a relay client's CPU per frame spread over
/// 2.0–3.4 µs between rounds, with 400,000 over 3.1–3.4 µs.
pub const STREAM_FRAMES: usize = 400_000;
/// Short, so that a lost reply costs little time; failures are counted.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);

/// The text of the `send` action: sized so that the outbound frame is about
/// 340 bytes.
pub fn send_content() -> String {
    let base = "Thanks, that works — I have moved the meeting to Thursday at 10:00 and sent \
                the invitation to everyone on the list. Let me know if the room is too small; I can book the larger one.";
    base.to_owned()
}

/// What the relay client writes for one send (for sizing the raw frame).
pub fn outbound_sample() -> Vec<u8> {
    let frame = RawOutbound {
        ty: "outbound",
        request_id: "00000000000000000000000000000001".to_owned(),
        action: RawSend {
            op: "send",
            chat_id: chat_id(),
            content: &send_content(),
            reply_to: None,
            metadata: serde_json::Map::new(),
        },
    };
    let mut line = serde_json::to_vec(&frame).unwrap();
    line.push(b'\n');
    line
}

/// The inbound frame as the connector encodes it.
pub fn inbound_line() -> String {
    inbound_line_numbered(0)
}

/// Distinct streamed messages, more than the client's replay memory
/// (`Limits::replay_window`, 512) remembers: a stream of one message
/// repeated would be dropped as replays after its first frame.
pub const STREAM_IDS: usize = 1024;

/// The streamed message with its own 5-digit message id (`n` below
/// [`STREAM_IDS`]): every frame has the same size.
pub fn inbound_event_numbered(n: usize) -> relay_core::message::MessageEvent {
    let mut event = inbound_event(PLATFORM);
    event.message_id = Some(format!("{}", 81_234 + n).into());
    event
}

pub fn inbound_line_numbered(n: usize) -> String {
    let frame = ConnectorFrame::Inbound {
        event: Box::new(inbound_event_numbered(n)),
        buffer_id: None,
    };
    let mut out = Vec::new();
    encode_connector_frame(&frame, &mut out);
    String::from_utf8(out).unwrap()
}

pub fn descriptor_line() -> String {
    let frame = ConnectorFrame::Descriptor(Box::new(CapabilityDescriptor::minimal(PLATFORM)));
    let mut out = Vec::new();
    encode_connector_frame(&frame, &mut out);
    String::from_utf8(out).unwrap()
}

// Raw client frames: typed serde structs, encoded and decoded with serde_json.

#[derive(Serialize)]
pub struct RawOutbound<'a> {
    #[serde(rename = "type")]
    pub ty: &'a str,
    #[serde(rename = "requestId")]
    pub request_id: String,
    pub action: RawSend<'a>,
}

#[derive(Serialize)]
pub struct RawSend<'a> {
    pub op: &'a str,
    pub chat_id: &'a str,
    pub content: &'a str,
    pub reply_to: Option<&'a str>,
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
pub struct RawResult {
    #[serde(rename = "type")]
    pub ty: String,
    #[serde(rename = "requestId")]
    pub request_id: String,
    pub result: RawResultBody,
}

#[derive(Deserialize)]
#[allow(dead_code)]
pub struct RawResultBody {
    pub success: bool,
    pub message_id: Option<String>,
}

/// The zero-copy floor's view of a result: the same fields, borrowed.
#[derive(Deserialize)]
#[allow(dead_code)]
pub struct RawResultRef<'a> {
    #[serde(rename = "type", borrow)]
    pub ty: std::borrow::Cow<'a, str>,
    #[serde(rename = "requestId", borrow)]
    pub request_id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    pub result: RawResultBodyRef<'a>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
pub struct RawResultBodyRef<'a> {
    pub success: bool,
    #[serde(borrow)]
    pub message_id: Option<std::borrow::Cow<'a, str>>,
}
