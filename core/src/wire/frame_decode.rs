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
    if let Some(frame) = compact_outbound_result(line) {
        return Ok(frame);
    }
    decode_connector_text_keyed(line, pool)
}

/// [`decode_connector_text_in`] key by key, whatever the line's layout.
fn decode_connector_text_keyed(
    line: &str,
    pool: &mut EventPool,
) -> Result<ConnectorFrame, DecodeError> {
    let mut env = ConnectorEnvelope::in_pool(pool);
    lax::parse_text_into(line, &mut env)?;
    decode_connector_envelope(&mut env)
}

/// How an `outbound_result` line starts as the connector writes it.
const COMPACT_RESULT_HEAD: &str = r#"{"type":"outbound_result","requestId":""#;

/// The frame of an `outbound_result` line in the connector's compact
/// layout (`type`, `requestId` without escapes, then `result` and the
/// closing brace, no blanks between), read without going through the
/// envelope key by key: the frame the keyed decode makes of the same line
/// (the tests compare the two). `None` for any other line, which the keyed
/// decode then reads, errors included.
#[inline]
fn compact_outbound_result(line: &str) -> Option<ConnectorFrame> {
    let rest = line.strip_prefix(COMPACT_RESULT_HEAD)?;
    let end = memchr::memchr2(b'"', b'\\', rest.as_bytes())?;
    let (request_id, rest) = rest.split_at(end);
    // JSON text has no raw control characters; a backslash fails here.
    let rest = rest.strip_prefix(r#"","result":"#)?;
    if request_id.bytes().any(|b| b < 0x20) || too_deep(rest) {
        return None;
    }
    let mut values =
        serde_json::Deserializer::from_str(rest).into_iter::<Shape<Box<ActionResult>>>();
    let result = match values.next()?.ok()? {
        Shape::Obj(r) => Some(r),
        Shape::Null | Shape::Other(_) => None,
    };
    let tail = rest.get(values.byte_offset()..)?.strip_prefix('}')?;
    if !tail
        .bytes()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        return None;
    }
    Some(ConnectorFrame::OutboundResult {
        request_id: request_id.to_owned(),
        result,
    })
}

/// Whether `result` may nest as deep as the JSON reader's limit: read
/// inside the envelope it has one level less than read alone, so such a
/// line is left to the keyed decode. Nesting that deep takes two bytes a
/// level; a shorter text is not looked at.
fn too_deep(result: &str) -> bool {
    const LEVELS: usize = 120;
    result.len() >= 2 * LEVELS
        && result.bytes().filter(|b| matches!(b, b'{' | b'[')).count() >= LEVELS
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    /// Both decodes of `line`: the compact one when it takes the line.
    fn both(line: &str) -> (Option<ConnectorFrame>, Result<ConnectorFrame, DecodeError>) {
        (
            compact_outbound_result(line),
            decode_connector_text_keyed(line, &mut EventPool::default()),
        )
    }

    fn same(line: &str) -> Result<(), TestCaseError> {
        let (compact, keyed) = both(line);
        if let Some(frame) = compact {
            prop_assert_eq!(Ok(frame), keyed, "{}", line);
        }
        Ok(())
    }

    #[test]
    fn the_connectors_layout_is_read_compactly_as_the_keyed_decode_reads_it() {
        let id = "0123456789ab4def80000000000000ff";
        for (result, tail) in [
            (r#"{"success":true,"message_id":"m0"}"#, "}"),
            (
                r#"{"success":false,"error":"x","ambiguous":1,"extra":[1,{"a":null}]}"#,
                "}\r\n",
            ),
            (r#"{}"#, "} "),
            ("null", "}"),
            ("[1,2]", "}"),
            (r#""ok""#, "}"),
            ("7", "}"),
        ] {
            let line =
                format!(r#"{{"type":"outbound_result","requestId":"{id}","result":{result}{tail}"#);
            let (compact, keyed) = both(&line);
            assert!(compact.is_some(), "{line}");
            assert_eq!(compact.map(Ok), Some(keyed), "{line}");
        }
    }

    #[test]
    fn other_layouts_are_left_to_the_keyed_decode() {
        for line in [
            // a blank, another key, a repeated key, an escaped or raw control
            // character in the id, a missing brace, trailing bytes
            r#"{"type": "outbound_result","requestId":"r","result":{}}"#,
            r#"{"type":"outbound_result","requestId":"r","result":{},"requestId":"s"}"#,
            r#"{"type":"outbound_result","requestId":"r\u0041","result":{}}"#,
            "{\"type\":\"outbound_result\",\"requestId\":\"r\u{1}\",\"result\":{}}",
            r#"{"type":"outbound_result","requestId":"r","result":{}"#,
            r#"{"type":"outbound_result","requestId":"r","result":{}}x"#,
            r#"{"type":"outbound_result","requestId":"r","result":{"success":tru}}"#,
            r#"{"type":"outbound_result","requestId":"r","result":}"#,
        ] {
            assert_eq!(compact_outbound_result(line), None, "{line}");
        }
        // Nesting at the reader's limit: the keyed decode's verdict stands.
        let deep = format!(
            r#"{{"type":"outbound_result","requestId":"r","result":{{"x":{}1{}}}}}"#,
            "[".repeat(126),
            "]".repeat(126)
        );
        assert_eq!(compact_outbound_result(&deep), None);
        assert!(decode_connector_text_in(&deep, &mut EventPool::default()).is_err());
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(json!(null)),
            any::<bool>().prop_map(|b| json!(b)),
            any::<i64>().prop_map(|i| json!(i)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| json!(f)),
            ".{0,8}".prop_map(|s| json!(s)),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
                proptest::collection::vec(
                    (
                        prop_oneof![
                            Just("success".to_owned()),
                            Just("message_id".to_owned()),
                            Just("thread_id".to_owned()),
                            Just("error".to_owned()),
                            Just("ambiguous".to_owned()),
                            Just("chat_info".to_owned()),
                            ".{0,6}"
                        ],
                        inner
                    ),
                    0..5
                )
                .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn compact_and_keyed_decodes_agree(
            id in prop_oneof![".{0,40}", "[0-9a-f]{32}"],
            result in json_value(),
            tail in prop_oneof![Just("}".to_owned()), Just("} \n".to_owned()), ".{0,4}"],
            cut in 0usize..4,
        ) {
            let mut line = format!(
                r#"{{"type":"outbound_result","requestId":{},"result":{}{tail}"#,
                serde_json::to_string(&id).unwrap_or_default(),
                result,
            );
            // Raw ids too (a quote, a backslash or a control character in them).
            same(&line)?;
            let raw = format!(r#"{{"type":"outbound_result","requestId":"{id}","result":{result}}}"#);
            same(&raw)?;
            for _ in 0..cut {
                line.pop();
            }
            same(&line)?;
        }
    }
}
