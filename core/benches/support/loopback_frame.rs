//! The `inbound` frame of the loopback benchmark (`io-tokio/benches/loopback/`)
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
        message_id: Some("81234".into()),
        source: SessionSource {
            platform: platform.into(),
            chat_id: chat_id().into(),
            chat_name: Some("Release crew".into()),
            user_id: Some("55501234".into()),
            user_name: Some("Anna Schmidt".into()),
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

/// The zero-copy floor's view of an `inbound` frame: the same fields as
/// [`RawInbound`], borrowed from the message (copied only where the JSON
/// string has an escape).
#[derive(Deserialize)]
#[allow(dead_code)]
pub struct RawInboundRef<'a> {
    #[serde(rename = "type", borrow)]
    pub ty: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    pub event: RawEventRef<'a>,
}

/// The event of a [`RawInboundRef`].
#[derive(Deserialize)]
#[allow(dead_code)]
pub struct RawEventRef<'a> {
    #[serde(borrow)]
    pub text: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    pub message_type: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    pub message_id: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    pub source: RawSourceRef<'a>,
}

/// The source of a [`RawEventRef`].
#[derive(Deserialize)]
#[allow(dead_code)]
pub struct RawSourceRef<'a> {
    #[serde(borrow)]
    pub platform: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    pub chat_id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    pub chat_type: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    pub chat_name: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    pub user_id: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    pub user_name: Option<std::borrow::Cow<'a, str>>,
}
