//! The `inbound` frame of the loopback benchmark (`io-tokio/benches/loopback.rs`)
//! and the derived serde structs its raw client decodes it into, shared with
//! `core/examples/inbound_decode.rs` (which times the decode alone).

use relay_core::message::{MessageEvent, SessionSource};
use serde::Deserialize;

/// The chat of every benchmark frame.
pub fn chat_id() -> &'static str {
    "-1001234567890"
}

/// The inbound message streamed to clients.
pub fn inbound_event(platform: &str) -> MessageEvent {
    MessageEvent {
        text: "Hi! Could you summarise yesterday's thread about the release plan? \
               Ich brauche nur die wichtigsten Punkte 🙏"
            .to_owned(),
        message_id: Some("81234".to_owned()),
        source: SessionSource {
            platform: platform.to_owned(),
            chat_id: chat_id().to_owned(),
            chat_name: Some("Release crew".to_owned()),
            user_id: Some("55501234".to_owned()),
            user_name: Some("Anna Schmidt".to_owned()),
            ..SessionSource::default()
        },
        ..MessageEvent::default()
    }
}

/// An `inbound` frame as the raw client reads it: owned strings, only the
/// fields it looks at.
#[derive(Deserialize)]
#[allow(dead_code)]
pub struct RawInbound {
    #[serde(rename = "type")]
    pub ty: String,
    pub event: RawEvent,
}

/// The event of a [`RawInbound`].
#[derive(Deserialize)]
#[allow(dead_code)]
pub struct RawEvent {
    pub text: String,
    pub message_type: Option<String>,
    pub message_id: Option<String>,
    pub source: RawSource,
}

/// The source of a [`RawEvent`].
#[derive(Deserialize)]
#[allow(dead_code)]
pub struct RawSource {
    pub platform: String,
    pub chat_id: String,
    pub chat_type: Option<String>,
    pub chat_name: Option<String>,
    pub user_id: Option<String>,
    pub user_name: Option<String>,
}
