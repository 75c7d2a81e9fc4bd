//! Frame types in both directions, with encode and decode.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Action, ActionResult, DecodeError};
use crate::descriptor::CapabilityDescriptor;
use crate::source::MessageEvent;

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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
        result: Option<ActionResult>,
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

fn obj(ty: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("type".into(), Value::String(ty.into()));
    m
}

fn push_line(v: &Value, out: &mut Vec<u8>) {
    // Serializing a `Value` into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, v);
    out.push(b'\n');
}

/// Appends `frame` as one compact JSON line (with `\n`) to `out`.
pub fn encode_gateway_frame(frame: &GatewayFrame, out: &mut Vec<u8>) {
    let mut m;
    match frame {
        GatewayFrame::Hello(h) => {
            m = obj("hello");
            m.insert("platform".into(), Value::String(h.platform.clone()));
            m.insert("botId".into(), Value::String(h.bot_id.clone()));
            if let Some(cm) = &h.command_manifest {
                m.insert(
                    "command_manifest".into(),
                    serde_json::to_value(cm).unwrap_or(Value::Null),
                );
            }
        }
        GatewayFrame::Outbound(o) => {
            m = obj("outbound");
            m.insert("requestId".into(), Value::String(o.request_id.clone()));
            m.insert(
                "action".into(),
                serde_json::to_value(&o.action).unwrap_or(Value::Null),
            );
            if let Some(p) = &o.platform {
                m.insert("platform".into(), Value::String(p.clone()));
            }
            if let Some(b) = &o.bot_id {
                m.insert("botId".into(), Value::String(b.clone()));
            }
        }
        GatewayFrame::Interrupt {
            session_key,
            reason,
        } => {
            m = obj("interrupt");
            m.insert("session_key".into(), Value::String(session_key.clone()));
            m.insert(
                "reason".into(),
                reason.clone().map_or(Value::Null, Value::String),
            );
        }
        GatewayFrame::GoingIdle => m = obj("going_idle"),
        GatewayFrame::InboundAck { buffer_id } => {
            m = obj("inbound_ack");
            m.insert("bufferId".into(), Value::String(buffer_id.0.clone()));
        }
    }
    push_line(&Value::Object(m), out);
}

/// Appends `frame` as one compact JSON line (with `\n`) to `out`.
pub fn encode_connector_frame(frame: &ConnectorFrame, out: &mut Vec<u8>) {
    let mut m;
    match frame {
        ConnectorFrame::Descriptor(d) => {
            m = obj("descriptor");
            m.insert(
                "descriptor".into(),
                serde_json::to_value(d).unwrap_or(Value::Null),
            );
        }
        ConnectorFrame::Inbound { event, buffer_id } => {
            m = obj("inbound");
            m.insert(
                "event".into(),
                serde_json::to_value(event).unwrap_or(Value::Null),
            );
            if let Some(b) = buffer_id {
                m.insert("bufferId".into(), Value::String(b.0.clone()));
            }
        }
        ConnectorFrame::OutboundResult { request_id, result } => {
            m = obj("outbound_result");
            m.insert("requestId".into(), Value::String(request_id.clone()));
            m.insert(
                "result".into(),
                result.as_ref().map_or(Value::Null, |r| {
                    serde_json::to_value(r).unwrap_or(Value::Null)
                }),
            );
        }
        ConnectorFrame::InterruptInbound {
            session_key,
            chat_id,
        } => {
            m = obj("interrupt_inbound");
            m.insert("session_key".into(), Value::String(session_key.clone()));
            m.insert("chat_id".into(), Value::String(chat_id.clone()));
        }
        ConnectorFrame::GoingIdleAck => m = obj("going_idle_ack"),
        ConnectorFrame::PassthroughForward { forward, buffer_id } => {
            use base64::Engine as _;
            m = obj("passthrough_forward");
            let mut f = Map::new();
            f.insert("platform".into(), Value::String(forward.platform.clone()));
            f.insert("botId".into(), Value::String(forward.bot_id.clone()));
            f.insert("method".into(), Value::String(forward.method.clone()));
            f.insert("path".into(), Value::String(forward.path.clone()));
            f.insert(
                "headers".into(),
                Value::Array(
                    forward
                        .headers
                        .iter()
                        .map(|(k, v)| {
                            Value::Array(vec![Value::String(k.clone()), Value::String(v.clone())])
                        })
                        .collect(),
                ),
            );
            f.insert(
                "bodyB64".into(),
                Value::String(base64::engine::general_purpose::STANDARD.encode(&forward.body)),
            );
            if let Some(p) = &forward.profile {
                f.insert("profile".into(), Value::String(p.clone()));
            }
            m.insert("forward".into(), Value::Object(f));
            if let Some(b) = buffer_id {
                m.insert("bufferId".into(), Value::String(b.0.clone()));
            }
        }
    }
    push_line(&Value::Object(m), out);
}

impl GatewayFrame {
    /// The frame as one line of text, `\n` included.
    pub fn to_line(&self) -> String {
        let mut out = Vec::with_capacity(128);
        encode_gateway_frame(self, &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl ConnectorFrame {
    /// The frame as one line of text, `\n` included.
    pub fn to_line(&self) -> String {
        let mut out = Vec::with_capacity(256);
        encode_connector_frame(self, &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------
// Decoding

fn parse_object(line: &[u8]) -> Result<(String, Map<String, Value>), DecodeError> {
    let text = core::str::from_utf8(line).map_err(|_| DecodeError::NotUtf8)?;
    let v: Value = serde_json::from_str(text).map_err(|e| DecodeError::NotJson {
        detail: e.to_string(),
    })?;
    let Value::Object(m) = v else {
        return Err(DecodeError::NotAnObject);
    };
    let ty = match m.get("type") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(DecodeError::MissingType),
    };
    Ok((ty, m))
}

fn field_str(
    m: &Map<String, Value>,
    frame: &'static str,
    field: &'static str,
) -> Result<String, DecodeError> {
    match m.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        None => Err(DecodeError::MissingField { frame, field }),
        Some(_) => Err(DecodeError::InvalidField {
            frame,
            field,
            detail: "expected a string".into(),
        }),
    }
}

fn opt_str_default(m: &Map<String, Value>, field: &str) -> String {
    match m.get(field) {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    }
}

fn buffer_id(m: &Map<String, Value>, frame: &'static str) -> Result<Option<BufferId>, DecodeError> {
    match m.get("bufferId") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(BufferId(s.clone()))),
        Some(Value::Number(n)) => Ok(Some(BufferId(n.to_string()))),
        Some(_) => Err(DecodeError::InvalidField {
            frame,
            field: "bufferId",
            detail: "expected a string or number".into(),
        }),
    }
}

fn typed<T: serde::de::DeserializeOwned>(
    v: Value,
    frame: &'static str,
    field: &'static str,
) -> Result<T, DecodeError> {
    serde_json::from_value(v).map_err(|e| DecodeError::InvalidField {
        frame,
        field,
        detail: e.to_string(),
    })
}

/// Decodes one line (without its `\n`) sent by a connector.
pub fn decode_connector_frame(line: &[u8]) -> Result<ConnectorFrame, DecodeError> {
    let (ty, mut m) = parse_object(line)?;
    match ty.as_str() {
        "descriptor" => {
            let d = m.remove("descriptor").unwrap_or(Value::Object(Map::new()));
            Ok(ConnectorFrame::Descriptor(Box::new(typed(
                d,
                "descriptor",
                "descriptor",
            )?)))
        }
        "inbound" => {
            let buffer_id = buffer_id(&m, "inbound")?;
            let e = m.remove("event").ok_or(DecodeError::MissingField {
                frame: "inbound",
                field: "event",
            })?;
            Ok(ConnectorFrame::Inbound {
                event: Box::new(typed(e, "inbound", "event")?),
                buffer_id,
            })
        }
        "outbound_result" => {
            let request_id = field_str(&m, "outbound_result", "requestId")?;
            let result = match m.remove("result") {
                None => Some(ActionResult::default()),
                Some(v @ Value::Object(_)) => Some(typed(v, "outbound_result", "result")?),
                Some(_) => None,
            };
            Ok(ConnectorFrame::OutboundResult { request_id, result })
        }
        "interrupt_inbound" => Ok(ConnectorFrame::InterruptInbound {
            session_key: opt_str_default(&m, "session_key"),
            chat_id: opt_str_default(&m, "chat_id"),
        }),
        "going_idle_ack" => Ok(ConnectorFrame::GoingIdleAck),
        "passthrough_forward" => {
            use base64::Engine as _;
            let buffer_id = buffer_id(&m, "passthrough_forward")?;
            let Some(Value::Object(f)) = m.remove("forward") else {
                return Err(DecodeError::MissingField {
                    frame: "passthrough_forward",
                    field: "forward",
                });
            };
            let headers = match f.get("headers") {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(|h| match h.as_array().map(Vec::as_slice) {
                        Some([Value::String(k), Value::String(v)]) => Some((k.clone(), v.clone())),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let b64 = opt_str_default(&f, "bodyB64");
            let (body, body_undecodable) =
                match base64::engine::general_purpose::STANDARD.decode(b64.as_bytes()) {
                    Ok(b) => (b, false),
                    Err(_) => (Vec::new(), true),
                };
            let profile = match f.get("profile") {
                Some(Value::String(s)) => Some(s.clone()),
                _ => None,
            };
            Ok(ConnectorFrame::PassthroughForward {
                forward: Box::new(PassthroughForward {
                    platform: opt_str_default(&f, "platform"),
                    bot_id: opt_str_default(&f, "botId"),
                    method: opt_str_default(&f, "method"),
                    path: opt_str_default(&f, "path"),
                    headers,
                    body,
                    body_undecodable,
                    profile,
                }),
                buffer_id,
            })
        }
        _ => Err(DecodeError::UnknownType { type_name: ty }),
    }
}

/// Decodes one line (without its `\n`) sent by a gateway.
pub fn decode_gateway_frame(line: &[u8]) -> Result<GatewayFrame, DecodeError> {
    let (ty, mut m) = parse_object(line)?;
    match ty.as_str() {
        "hello" => {
            let command_manifest = match m.remove("command_manifest") {
                None | Some(Value::Null) => None,
                Some(v) => Some(typed(v, "hello", "command_manifest")?),
            };
            Ok(GatewayFrame::Hello(Hello {
                platform: field_str(&m, "hello", "platform")?,
                bot_id: opt_str_default(&m, "botId"),
                command_manifest,
            }))
        }
        "outbound" => {
            let request_id = field_str(&m, "outbound", "requestId")?;
            let a = m.remove("action").ok_or(DecodeError::MissingField {
                frame: "outbound",
                field: "action",
            })?;
            let action = typed(a, "outbound", "action")?;
            let platform = match m.get("platform") {
                Some(Value::String(s)) => Some(s.clone()),
                _ => None,
            };
            let bot_id = match m.get("botId") {
                Some(Value::String(s)) => Some(s.clone()),
                _ => None,
            };
            Ok(GatewayFrame::Outbound(Box::new(Outbound {
                request_id,
                action,
                platform,
                bot_id,
            })))
        }
        "interrupt" => Ok(GatewayFrame::Interrupt {
            session_key: field_str(&m, "interrupt", "session_key")?,
            reason: match m.get("reason") {
                Some(Value::String(s)) => Some(s.clone()),
                _ => None,
            },
        }),
        "going_idle" => Ok(GatewayFrame::GoingIdle),
        "inbound_ack" => match buffer_id(&m, "inbound_ack")? {
            Some(buffer_id) => Ok(GatewayFrame::InboundAck { buffer_id }),
            None => Err(DecodeError::MissingField {
                frame: "inbound_ack",
                field: "bufferId",
            }),
        },
        _ => Err(DecodeError::UnknownType { type_name: ty }),
    }
}
