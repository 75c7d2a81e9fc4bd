//! Decoding a line into a frame, in either direction. One flat envelope
//! per direction holds every top-level key any frame type may carry, each
//! read leniently; the frame is built after the whole object was read, by
//! matching on `type`.

use serde::Deserialize;
use serde::de::MapAccess;
use serde_json::Value;

use super::action_decode::ActionWire;
use super::action_result::ActionResult;
use super::frames::{
    BufferId, ConnectorFrame, GatewayFrame, Hello, ManifestCommand, Outbound, PassthroughForward,
};
use crate::descriptor::DescriptorWire;
use crate::lax::{
    self, DecodeError, FillObject, Finish, Lax, Many, Shape, ShapeFrom, TextSlot, WireObject,
    wire_object,
};
use crate::message::EventWire;
use crate::recycle::EventPool;

/// `bufferId` as the reference reads it: a truthy string or number (numbers
/// normalized to their decimal text); `""`, `0`, `false` and `null` mean
/// "live, not buffered".
fn buffer_id(v: Option<Lax<'_>>, frame: &'static str) -> Result<Option<BufferId>, DecodeError> {
    match v {
        None => Ok(None),
        Some(l) if !l.truthy() => Ok(None),
        Some(l @ (Lax::Str(_) | Lax::Int(_) | Lax::UInt(_) | Lax::Float(_))) => {
            Ok(l.into_text().map(BufferId))
        }
        Some(other) => Err(DecodeError::InvalidField {
            frame,
            field: "bufferId",
            detail: format!("expected a string or number, got {}", other.kind()),
        }),
    }
}

fn required_text(
    v: Option<Lax<'_>>,
    frame: &'static str,
    field: &'static str,
) -> Result<String, DecodeError> {
    match v {
        None | Some(Lax::Null) => Err(DecodeError::MissingField { frame, field }),
        Some(l) => {
            let kind = l.kind();
            l.into_text().ok_or_else(|| DecodeError::InvalidField {
                frame,
                field,
                detail: format!("expected a string, got {kind}"),
            })
        }
    }
}

fn frame_type(ty: Option<Lax<'_>>) -> Result<std::borrow::Cow<'_, str>, DecodeError> {
    match ty {
        Some(Lax::Str(s)) => Ok(s),
        _ => Err(DecodeError::MissingType),
    }
}

/// A connector frame's `type` as read. Read through the shared text
/// reader rather than as a [`Lax`], and `inbound` (almost every line) told
/// apart at once: the per-frame code stays small.
#[derive(Default)]
enum ConnectorType {
    /// Absent, or not a string.
    #[default]
    Missing,
    Inbound,
    /// Any other string; an unknown one is kept for its error.
    Other(OtherType),
}

/// A connector frame type other than `inbound`.
enum OtherType {
    Known(&'static str),
    Unknown(String),
}

impl TextSlot for ConnectorType {
    fn put_str(&mut self, s: &str) {
        *self = if s == "inbound" {
            ConnectorType::Inbound
        } else {
            ConnectorType::Other(other_type(s))
        };
    }
    fn put_other(&mut self, _: Lax<'_>) {
        *self = ConnectorType::Missing;
    }
}

/// The names of the connector frames [`decode_other_connector_frame`]
/// decodes: kept without a copy.
#[inline(never)]
fn other_type(s: &str) -> OtherType {
    const KNOWN: [&str; 5] = [
        "descriptor",
        "outbound_result",
        "interrupt_inbound",
        "going_idle_ack",
        "passthrough_forward",
    ];
    match KNOWN.iter().find(|k| **k == s) {
        Some(k) => OtherType::Known(k),
        None => OtherType::Unknown(s.to_owned()),
    }
}

impl OtherType {
    fn name(&self) -> &str {
        match self {
            OtherType::Known(k) => k,
            OtherType::Unknown(s) => s,
        }
    }
}

/// How the `result` key of an `outbound_result` was given.
enum ResultField {
    NotObject,
    Object(Box<ActionResult>),
}

#[derive(Default)]
struct ForwardWire<'de> {
    platform: Option<Lax<'de>>,
    bot_id: Option<Lax<'de>>,
    method: Option<Lax<'de>>,
    path: Option<Lax<'de>>,
    headers: Vec<(String, String)>,
    body_b64: Option<Lax<'de>>,
    profile: Option<Lax<'de>>,
}

/// One `[name, value]` header pair; anything else is dropped.
struct HeaderPair(Option<(String, String)>);

impl<'de> Deserialize<'de> for HeaderPair {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(HeaderPair(match Many::<Lax<'de>>::deserialize(d)? {
            Many::Items(items) => match <[Lax<'de>; 2]>::try_from(items) {
                Ok([Lax::Str(k), Lax::Str(v)]) => Some((k.into_owned(), v.into_owned())),
                _ => None,
            },
            _ => None,
        }))
    }
}

wire_object! {
    impl<'de> for ForwardWire<'de> |w, map| {
        "platform" => w.platform = Some(lax::lax(map)?),
        "botId" => w.bot_id = Some(lax::lax(map)?),
        "method" => w.method = Some(lax::lax(map)?),
        "path" => w.path = Some(lax::lax(map)?),
        "headers" => {
            w.headers = map
                .next_value::<Many<HeaderPair>>()?
                .items()
                .into_iter()
                .filter_map(|h| h.0)
                .collect()
        },
        "bodyB64" => w.body_b64 = Some(lax::lax(map)?),
        "profile" => w.profile = Some(lax::lax(map)?),
    }
}

impl ForwardWire<'_> {
    fn finish(self) -> PassthroughForward {
        let text = |v: Option<Lax<'_>>| v.and_then(Lax::into_text).unwrap_or_default();
        let (body, body_undecodable) = match self.body_b64 {
            None | Some(Lax::Null) => (Vec::new(), false),
            Some(Lax::Str(s)) => match lax::b64decode_lenient(&s) {
                Some(b) => (b, false),
                None => (Vec::new(), true),
            },
            // Python's b64decode raises on anything but text: empty body.
            Some(other) => (Vec::new(), other.truthy()),
        };
        PassthroughForward {
            platform: text(self.platform),
            bot_id: text(self.bot_id),
            method: text(self.method),
            path: text(self.path),
            headers: self.headers,
            body,
            body_undecodable,
            profile: self.profile.and_then(Lax::into_text),
        }
    }
}

/// Every top-level key a connector frame may carry.
#[derive(Default)]
struct ConnectorEnvelope<'de, 'p> {
    /// Handed-back messages an `event` is decoded into (see
    /// [`crate::recycle`]).
    pool: Option<&'p mut EventPool>,
    ty: ConnectorType,
    event: Option<Shape<EventWire>>,
    buffer_id: Option<Lax<'de>>,
    /// The keys of the other frames, set once one of them is read: the
    /// envelope of an inbound message (almost every line) then has only
    /// this one field to make and drop for all of them.
    other: Option<OtherKeys<'de>>,
}

/// The top-level keys of the frames other than `inbound`.
#[derive(Default)]
struct OtherKeys<'de> {
    // Boxed: the envelope stays small, so it is cheap to move.
    descriptor: Option<Shape<Box<DescriptorWire<'de>>>>,
    request_id: Option<Lax<'de>>,
    result: Option<ResultField>,
    session_key: Option<Lax<'de>>,
    chat_id: Option<Lax<'de>>,
    forward: Option<Shape<Box<ForwardWire<'de>>>>,
}

impl<'de> ConnectorEnvelope<'de, '_> {
    /// The keys of the other frames, made when the first one is read.
    fn other(&mut self) -> &mut OtherKeys<'de> {
        self.other.get_or_insert_with(OtherKeys::default)
    }
}

wire_object! {
    impl<'de> for ConnectorEnvelope<'de, '_> |w, map| {
        "type" => lax::text_into(map, &mut w.ty)?,
        "descriptor" => w.other().descriptor = Some(map.next_value()?),
        "event" => {
            let pool = w.pool.as_deref_mut();
            w.event = Some(map.next_value_seed(ShapeFrom(|| {
                EventWire::reusing(pool.and_then(EventPool::take_held))
            }))?);
        },
        "bufferId" => w.buffer_id = Some(lax::lax(map)?),
        "requestId" => w.other().request_id = Some(lax::lax(map)?),
        "result" => {
            w.other().result = Some(match map.next_value::<Shape<Box<ActionResult>>>()? {
                Shape::Obj(r) => ResultField::Object(r),
                _ => ResultField::NotObject,
            })
        },
        "session_key" => w.other().session_key = Some(lax::lax(map)?),
        "chat_id" => w.other().chat_id = Some(lax::lax(map)?),
        "forward" => w.other().forward = Some(map.next_value()?),
    }
}

/// Decodes one line (without its `\n`) sent by a connector.
///
/// Unknown keys are ignored. Gateway frame types echoed back are
/// [`DecodeError::UnknownType`], as is any other unknown type.
pub fn decode_connector_frame(line: &[u8]) -> Result<ConnectorFrame, DecodeError> {
    decode_connector_frame_in(line, &mut EventPool::default())
}

/// [`decode_connector_frame`] for a line that is already a `&str` (part of
/// a text message the WebSocket library has checked): the same decoding
/// without a second UTF-8 check.
pub fn decode_connector_text(line: &str) -> Result<ConnectorFrame, DecodeError> {
    decode_connector_text_in(line, &mut EventPool::default())
}

/// [`decode_connector_frame`], an inbound message decoded into a
/// handed-back one of `pool` when it has one.
pub(crate) fn decode_connector_frame_in(
    line: &[u8],
    pool: &mut EventPool,
) -> Result<ConnectorFrame, DecodeError> {
    let mut env = ConnectorEnvelope::in_pool(pool);
    lax::parse_line_into(line, &mut env)?;
    decode_connector_envelope(&mut env)
}

/// [`decode_connector_text`], an inbound message decoded into a
/// handed-back one of `pool` when it has one.
pub(crate) fn decode_connector_text_in(
    line: &str,
    pool: &mut EventPool,
) -> Result<ConnectorFrame, DecodeError> {
    let mut env = ConnectorEnvelope::in_pool(pool);
    lax::parse_text_into(line, &mut env)?;
    decode_connector_envelope(&mut env)
}

impl<'p> ConnectorEnvelope<'_, 'p> {
    fn in_pool(pool: &'p mut EventPool) -> Self {
        ConnectorEnvelope {
            pool: Some(pool),
            ..ConnectorEnvelope::default()
        }
    }
}

/// The envelope is read in place (it is large: moving it costs more than
/// reading most of its keys).
impl<'de> FillObject<'de> for ConnectorEnvelope<'de, '_> {
    /// A line holds one top-level object: there is nothing to reset.
    fn reset(&mut self) {}
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        WireObject::field(self, key, map)
    }
}

#[inline]
fn decode_connector_envelope(
    env: &mut ConnectorEnvelope<'_, '_>,
) -> Result<ConnectorFrame, DecodeError> {
    // The frame of almost every line first; the others out of line.
    match std::mem::take(&mut env.ty) {
        ConnectorType::Inbound => {}
        ConnectorType::Missing => return Err(DecodeError::MissingType),
        ConnectorType::Other(ty) => {
            return decode_other_connector_frame(ty.name(), std::mem::take(env));
        }
    }
    let event = match env.event.take() {
        Some(Shape::Obj(wire)) => wire.finish()?,
        other => return Err(no_event(other)),
    };
    // Most messages are live: no `bufferId` to read.
    let buffer_id = match env.buffer_id.take() {
        None => None,
        given => buffer_id(given, "inbound")?,
    };
    Ok(ConnectorFrame::Inbound { event, buffer_id })
}

/// The error for an `inbound` frame whose `event` is absent, `null` or not
/// an object (rare: out of line).
#[cold]
#[inline(never)]
fn no_event(event: Option<Shape<EventWire>>) -> DecodeError {
    match lax::object_field(event, "inbound", "event") {
        Err(e) => e,
        Ok(_) => DecodeError::MissingField {
            frame: "inbound",
            field: "event",
        },
    }
}

/// Every connector frame but `inbound`.
#[inline(never)]
fn decode_other_connector_frame(
    ty: &str,
    env: ConnectorEnvelope<'_, '_>,
) -> Result<ConnectorFrame, DecodeError> {
    let buffer_id_field = env.buffer_id;
    let env = env.other.unwrap_or_default();
    match ty {
        "descriptor" => {
            let wire = lax::object_field(env.descriptor, "descriptor", "descriptor")?
                .map_or_else(DescriptorWire::default, |w| *w);
            Ok(ConnectorFrame::Descriptor(Box::new(wire.finish()?)))
        }
        "outbound_result" => Ok(ConnectorFrame::OutboundResult {
            request_id: required_text(env.request_id, "outbound_result", "requestId")?,
            result: match env.result {
                None => Some(Box::default()),
                Some(ResultField::NotObject) => None,
                Some(ResultField::Object(r)) => Some(r),
            },
        }),
        "interrupt_inbound" => Ok(ConnectorFrame::InterruptInbound {
            session_key: env.session_key.and_then(Lax::into_text).unwrap_or_default(),
            chat_id: env.chat_id.and_then(Lax::into_text).unwrap_or_default(),
        }),
        "going_idle_ack" => Ok(ConnectorFrame::GoingIdleAck),
        "passthrough_forward" => {
            let forward = lax::object_field(env.forward, "passthrough_forward", "forward")?
                .ok_or(DecodeError::MissingField {
                    frame: "passthrough_forward",
                    field: "forward",
                })?
                .finish();
            Ok(ConnectorFrame::PassthroughForward {
                forward: Box::new(forward),
                buffer_id: buffer_id(buffer_id_field, "passthrough_forward")?,
            })
        }
        other => Err(DecodeError::UnknownType {
            type_name: other.to_owned(),
        }),
    }
}

#[derive(Default)]
struct ManifestWire<'de> {
    name: Option<Lax<'de>>,
    description: Option<Lax<'de>>,
    options: Option<Value>,
}

wire_object! {
    impl<'de> for ManifestWire<'de> |w, map| {
        "name" => w.name = Some(lax::lax(map)?),
        "description" => w.description = Some(lax::lax(map)?),
        "options" => {
            w.options = match lax::value(map)? {
                Value::Null => None,
                v => Some(v),
            }
        },
    }
}

/// Every top-level key a gateway frame may carry.
#[derive(Default)]
struct GatewayEnvelope<'de> {
    ty: Option<Lax<'de>>,
    platform: Option<Lax<'de>>,
    bot_id: Option<Lax<'de>>,
    command_manifest: Option<Many<Shape<ManifestWire<'de>>>>,
    request_id: Option<Lax<'de>>,
    action: Option<Shape<ActionWire<'de>>>,
    session_key: Option<Lax<'de>>,
    reason: Option<Lax<'de>>,
    buffer_id: Option<Lax<'de>>,
}

wire_object! {
    impl<'de> for GatewayEnvelope<'de> |w, map| {
        "type" => w.ty = Some(lax::lax(map)?),
        "platform" => w.platform = Some(lax::lax(map)?),
        "botId" => w.bot_id = Some(lax::lax(map)?),
        "command_manifest" => w.command_manifest = Some(map.next_value()?),
        "requestId" => w.request_id = Some(lax::lax(map)?),
        "action" => w.action = Some(map.next_value()?),
        "session_key" => w.session_key = Some(lax::lax(map)?),
        "reason" => w.reason = Some(lax::lax(map)?),
        "bufferId" => w.buffer_id = Some(lax::lax(map)?),
    }
}

/// Decodes one line (without its `\n`) sent by a gateway.
///
/// Used by the connector side. Unknown keys are ignored; connector frame
/// types echoed back are [`DecodeError::UnknownType`].
pub fn decode_gateway_frame(line: &[u8]) -> Result<GatewayFrame, DecodeError> {
    let env = lax::parse_line::<GatewayEnvelope<'_>>(line)?;
    let ty = frame_type(env.ty)?;
    match ty.as_ref() {
        "hello" => {
            let command_manifest = match env.command_manifest {
                None | Some(Many::Null) => None,
                Some(Many::Other(kind)) => {
                    return Err(DecodeError::InvalidField {
                        frame: "hello",
                        field: "command_manifest",
                        detail: format!("expected an array, got {kind}"),
                    });
                }
                Some(Many::Items(items)) => Some(
                    items
                        .into_iter()
                        .filter_map(Shape::obj)
                        .map(|m| ManifestCommand {
                            name: m.name.and_then(Lax::into_text).unwrap_or_default(),
                            description: m.description.and_then(Lax::into_text).unwrap_or_default(),
                            options: m.options,
                        })
                        .collect(),
                ),
            };
            Ok(GatewayFrame::Hello(Hello {
                platform: required_text(env.platform, "hello", "platform")?,
                bot_id: env.bot_id.and_then(Lax::into_text).unwrap_or_default(),
                command_manifest,
            }))
        }
        "outbound" => {
            let request_id = required_text(env.request_id, "outbound", "requestId")?;
            let action = lax::object_field(env.action, "outbound", "action")?
                .ok_or(DecodeError::MissingField {
                    frame: "outbound",
                    field: "action",
                })?
                .finish()?;
            Ok(GatewayFrame::Outbound(Box::new(Outbound {
                request_id,
                action,
                platform: env.platform.and_then(Lax::into_str),
                bot_id: env.bot_id.and_then(Lax::into_str),
            })))
        }
        "interrupt" => Ok(GatewayFrame::Interrupt {
            session_key: required_text(env.session_key, "interrupt", "session_key")?,
            reason: env.reason.and_then(Lax::into_text),
        }),
        "going_idle" => Ok(GatewayFrame::GoingIdle),
        "inbound_ack" => match buffer_id(env.buffer_id, "inbound_ack")? {
            Some(buffer_id) => Ok(GatewayFrame::InboundAck { buffer_id }),
            None => Err(DecodeError::MissingField {
                frame: "inbound_ack",
                field: "bufferId",
            }),
        },
        other => Err(DecodeError::UnknownType {
            type_name: other.to_owned(),
        }),
    }
}
