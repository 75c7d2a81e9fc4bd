//! Frame types in both directions, and their encoding.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::Value;

use super::action::Action;
use super::action_result::ActionResult;
use crate::descriptor::CapabilityDescriptor;
use crate::message::MessageEvent;

/// The id of a buffered delivery, always a string on the wire we send
/// (numbers received are normalized to their decimal string).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BufferId(pub String);

impl BufferId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl core::fmt::Display for BufferId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One entry of a Discord hello's `command_manifest`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ManifestCommand {
    /// Command name.
    pub name: String,
    /// Command description.
    pub description: String,
    /// Options, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Value>,
}

/// `hello`: announce one fronted identity.
#[derive(Clone, Debug, PartialEq)]
pub struct Hello {
    /// Platform name.
    pub platform: String,
    /// Bot id (may be empty).
    pub bot_id: String,
    /// Slash-command manifest (Discord).
    pub command_manifest: Option<Vec<ManifestCommand>>,
}

/// `outbound`: one request.
#[derive(Clone, Debug, PartialEq)]
pub struct Outbound {
    /// 32 lowercase hex characters.
    pub request_id: String,
    /// What to do.
    pub action: Action,
    /// Per-frame platform tag.
    pub platform: Option<String>,
    /// Per-frame bot id tag.
    pub bot_id: Option<String>,
}

/// A frame the gateway sends to the connector.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum GatewayFrame {
    /// `hello`.
    Hello(Hello),
    /// `outbound`.
    Outbound(Box<Outbound>),
    /// `interrupt` (fire-and-forget).
    Interrupt {
        /// Session to interrupt.
        session_key: String,
        /// Why (`null` on the wire when absent).
        reason: Option<String>,
    },
    /// `going_idle`.
    GoingIdle,
    /// `inbound_ack`.
    InboundAck {
        /// The acknowledged delivery.
        buffer_id: BufferId,
    },
}

/// A passthrough forward (a platform webhook the connector relays).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct PassthroughForward {
    /// Platform name.
    pub platform: String,
    /// Bot id.
    pub bot_id: String,
    /// HTTP method.
    pub method: String,
    /// HTTP path.
    pub path: String,
    /// Header pairs, in order (malformed entries dropped).
    pub headers: Vec<(String, String)>,
    /// The exact body bytes (empty when `bodyB64` did not decode).
    pub body: Vec<u8>,
    /// `bodyB64` was present but not valid base64.
    pub body_undecodable: bool,
    /// Profile name.
    pub profile: Option<String>,
}

/// A frame the connector sends to the gateway.
// Large payloads are boxed: the frame stays small to move, and a result
// decoded into its box reaches the application's event in that box.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ConnectorFrame {
    /// `descriptor`.
    Descriptor(Box<CapabilityDescriptor>),
    /// `inbound`.
    Inbound {
        /// The message.
        event: Box<MessageEvent>,
        /// Present when the connector buffered it (ack after handoff).
        buffer_id: Option<BufferId>,
    },
    /// `outbound_result`.
    OutboundResult {
        /// The request this answers.
        request_id: String,
        /// `None` when `result` was `null` or not an object.
        result: Option<Box<ActionResult>>,
    },
    /// `interrupt_inbound`.
    InterruptInbound {
        /// Session to interrupt.
        session_key: String,
        /// Chat of the session.
        chat_id: String,
    },
    /// `going_idle_ack`.
    GoingIdleAck,
    /// `passthrough_forward`.
    PassthroughForward {
        /// The forward.
        forward: Box<PassthroughForward>,
        /// Present when the connector buffered it.
        buffer_id: Option<BufferId>,
    },
}

impl ConnectorFrame {
    /// The wire `type`.
    pub fn type_name(&self) -> &'static str {
        match self {
            ConnectorFrame::Descriptor(_) => "descriptor",
            ConnectorFrame::Inbound { .. } => "inbound",
            ConnectorFrame::OutboundResult { .. } => "outbound_result",
            ConnectorFrame::InterruptInbound { .. } => "interrupt_inbound",
            ConnectorFrame::GoingIdleAck => "going_idle_ack",
            ConnectorFrame::PassthroughForward { .. } => "passthrough_forward",
        }
    }
}

impl GatewayFrame {
    /// The wire `type`.
    pub fn type_name(&self) -> &'static str {
        match self {
            GatewayFrame::Hello(_) => "hello",
            GatewayFrame::Outbound(_) => "outbound",
            GatewayFrame::Interrupt { .. } => "interrupt",
            GatewayFrame::GoingIdle => "going_idle",
            GatewayFrame::InboundAck { .. } => "inbound_ack",
        }
    }
}

// ---------------------------------------------------------------------------
// Encoding

struct Base64Body<'a>(&'a [u8], bool);

impl Serialize for Base64Body<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.1 {
            // An undecodable body stays undecodable: one dangling base64
            // character is rejected by every decoder.
            return s.serialize_str("A");
        }
        s.collect_str(&data_encoding::BASE64.encode_display(self.0))
    }
}

struct Headers<'a>(&'a [(String, String)]);

impl Serialize for Headers<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|(k, v)| [k, v]))
    }
}

impl Serialize for PassthroughForward {
    /// Keys: `platform, botId, method, path, headers, bodyB64`, then
    /// `profile` when set.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("platform", &self.platform)?;
        m.serialize_entry("botId", &self.bot_id)?;
        m.serialize_entry("method", &self.method)?;
        m.serialize_entry("path", &self.path)?;
        m.serialize_entry("headers", &Headers(&self.headers))?;
        m.serialize_entry("bodyB64", &Base64Body(&self.body, self.body_undecodable))?;
        if let Some(p) = &self.profile {
            m.serialize_entry("profile", p)?;
        }
        m.end()
    }
}

impl Serialize for GatewayFrame {
    /// The reference's key order (docs/protocol.md, "Gateway → connector").
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", self.type_name())?;
        match self {
            GatewayFrame::Hello(h) => {
                m.serialize_entry("platform", &h.platform)?;
                m.serialize_entry("botId", &h.bot_id)?;
                if let Some(cm) = &h.command_manifest {
                    m.serialize_entry("command_manifest", cm)?;
                }
            }
            GatewayFrame::Outbound(o) => {
                let o = OutboundRef {
                    request_id: &o.request_id,
                    action: &o.action,
                    platform: o.platform.as_deref(),
                    bot_id: o.bot_id.as_deref(),
                };
                o.entries(&mut m)?;
            }
            GatewayFrame::Interrupt {
                session_key,
                reason,
            } => {
                m.serialize_entry("session_key", session_key)?;
                m.serialize_entry("reason", reason)?;
            }
            GatewayFrame::GoingIdle => {}
            GatewayFrame::InboundAck { buffer_id } => {
                m.serialize_entry("bufferId", buffer_id.as_str())?;
            }
        }
        m.end()
    }
}

impl Serialize for ConnectorFrame {
    /// The reference's key order (docs/protocol.md, "Connector → gateway").
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", self.type_name())?;
        match self {
            ConnectorFrame::Descriptor(d) => m.serialize_entry("descriptor", d)?,
            ConnectorFrame::Inbound { event, buffer_id } => {
                m.serialize_entry("event", event)?;
                if let Some(b) = buffer_id {
                    m.serialize_entry("bufferId", b.as_str())?;
                }
            }
            ConnectorFrame::OutboundResult { request_id, result } => {
                m.serialize_entry("requestId", request_id)?;
                m.serialize_entry("result", result)?;
            }
            ConnectorFrame::InterruptInbound {
                session_key,
                chat_id,
            } => {
                m.serialize_entry("session_key", session_key)?;
                m.serialize_entry("chat_id", chat_id)?;
            }
            ConnectorFrame::GoingIdleAck => {}
            ConnectorFrame::PassthroughForward { forward, buffer_id } => {
                m.serialize_entry("forward", forward)?;
                if let Some(b) = buffer_id {
                    m.serialize_entry("bufferId", b.as_str())?;
                }
            }
        }
        m.end()
    }
}

/// An `outbound` frame's fields, borrowed.
struct OutboundRef<'a> {
    request_id: &'a str,
    action: &'a Action,
    platform: Option<&'a str>,
    bot_id: Option<&'a str>,
}

impl OutboundRef<'_> {
    /// The entries after `type`, in the reference's order.
    fn entries<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("requestId", self.request_id)?;
        m.serialize_entry("action", self.action)?;
        if let Some(p) = self.platform {
            m.serialize_entry("platform", p)?;
        }
        if let Some(b) = self.bot_id {
            m.serialize_entry("botId", b)?;
        }
        Ok(())
    }
}

fn push_line<T: Serialize>(v: &T, out: &mut Vec<u8>) {
    let start = out.len();
    // Serializing these types into a Vec cannot fail (no map keys other than
    // strings, no I/O); should it ever, the partial output is removed.
    if serde_json::to_writer(&mut *out, v).is_err() {
        out.truncate(start);
        return;
    }
    out.push(b'\n');
}

/// Appends `frame` as one compact JSON line (with `\n`) to `out`.
pub fn encode_connector_frame(frame: &ConnectorFrame, out: &mut Vec<u8>) {
    push_line(frame, out);
}

impl ConnectorFrame {
    /// The frame as one line of text, `\n` included.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self)
            .map(|mut s| {
                s.push('\n');
                s
            })
            .unwrap_or_default()
    }
}
