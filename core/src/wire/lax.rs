//! Lenient, single-pass JSON reading used by every decoder in this crate.
//!
//! The decoders never ask serde to check a field's type: each value is read
//! into a small classifier ([`Lax`], [`Shape`], [`Many`]) and the decoder
//! decides afterwards what a wrong type means (a default, a dropped value or a
//! typed [`DecodeError`]). The only errors that can come out of serde are
//! therefore syntax errors (and the recursion limit), which map to
//! [`DecodeError::NotJson`]. Strings without escapes are borrowed from the
//! input; objects are visited key by key (no buffering, duplicates: last wins).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::DecodeError;

/// A JSON value classified without failing on its type. Arrays and objects
/// are consumed but not kept.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lax<'de> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(Cow<'de, str>),
    Array { empty: bool },
    Object { empty: bool },
}

impl<'de> Lax<'de> {
    /// What kind of value this is, for error details.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Lax::Null => "null",
            Lax::Bool(_) => "a boolean",
            Lax::Int(_) | Lax::UInt(_) | Lax::Float(_) => "a number",
            Lax::Str(_) => "a string",
            Lax::Array { .. } => "an array",
            Lax::Object { .. } => "an object",
        }
    }

    /// A string, or a number rendered as its decimal text (ids sent as
    /// numbers); `None` for anything else.
    pub(crate) fn into_text(self) -> Option<String> {
        match self {
            Lax::Str(s) => Some(s.into_owned()),
            Lax::Null => None,
            other => other.number_text(),
        }
    }

    /// [`into_text`](Self::into_text) of anything but a string: rare, so
    /// kept out of the decoders' hot code.
    #[cold]
    #[inline(never)]
    fn number_text(self) -> Option<String> {
        match self {
            Lax::Int(i) => Some(i.to_string()),
            Lax::UInt(u) => Some(u.to_string()),
            Lax::Float(f) => serde_json::Number::from_f64(f).map(|n| n.to_string()),
            _ => None,
        }
    }

    /// Only a string.
    pub(crate) fn into_str(self) -> Option<String> {
        match self {
            Lax::Str(s) => Some(s.into_owned()),
            _ => None,
        }
    }

    /// Python truthiness.
    pub(crate) fn truthy(&self) -> bool {
        match self {
            Lax::Null => false,
            Lax::Bool(b) => *b,
            Lax::Int(i) => *i != 0,
            Lax::UInt(u) => *u != 0,
            Lax::Float(f) => *f != 0.0,
            Lax::Str(s) => !s.is_empty(),
            Lax::Array { empty } | Lax::Object { empty } => !*empty,
        }
    }
}

/// A string or a number as text, from a full JSON value.
pub(crate) fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn consume_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<bool, A::Error> {
    let mut empty = true;
    while seq.next_element::<IgnoredAny>()?.is_some() {
        empty = false;
    }
    Ok(empty)
}

fn consume_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<bool, A::Error> {
    let mut empty = true;
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {
        empty = false;
    }
    Ok(empty)
}

struct LaxVisitor;

impl<'de> Visitor<'de> for LaxVisitor {
    type Value = Lax<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Lax::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Lax::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Lax::UInt(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Lax::Float(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Lax::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Lax::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Lax::Str(Cow::Owned(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Lax::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Lax::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(LaxVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Ok(Lax::Array {
            empty: consume_seq(seq)?,
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Ok(Lax::Object {
            empty: consume_map(map)?,
        })
    }
}

impl<'de> Deserialize<'de> for Lax<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LaxVisitor)
    }
}

/// An object key, borrowed when it has no escapes.
pub(crate) struct Key<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// A type filled from a JSON object one key at a time.
pub(crate) trait WireObject<'de>: Sized {
    /// The value before any key was seen.
    fn empty() -> Self;
    /// Reads the value of `key` from `map` (must consume exactly one value).
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error>;
}

/// A value expected to be an object.
#[derive(Debug)]
pub(crate) enum Shape<T> {
    Obj(T),
    Null,
    Other(&'static str),
}

impl<T> Shape<T> {
    /// The object, if it was one.
    pub(crate) fn obj(self) -> Option<T> {
        match self {
            Shape::Obj(t) => Some(t),
            _ => None,
        }
    }
}

/// The value of a key that should hold an object: `None` when the key is
/// absent or `null`, the typed error for any other value.
pub(crate) fn object_field<T>(
    value: Option<Shape<T>>,
    frame: &'static str,
    field: &'static str,
) -> Result<Option<T>, DecodeError> {
    match value {
        None | Some(Shape::Null) => Ok(None),
        Some(Shape::Obj(t)) => Ok(Some(t)),
        Some(Shape::Other(kind)) => Err(not_an_object(frame, field, kind)),
    }
}

/// The error for a key that should hold an object and holds `kind`.
#[cold]
#[inline(never)]
pub(crate) fn not_an_object(frame: &'static str, field: &'static str, kind: &str) -> DecodeError {
    DecodeError::InvalidField {
        frame,
        field,
        detail: format!("expected an object, got {kind}"),
    }
}

fn lax_kind<'de, E: de::Error, T>(
    r: Result<Lax<'de>, E>,
    f: impl FnOnce(&'static str) -> T,
) -> Result<T, E> {
    r.map(|l| f(l.kind()))
}

macro_rules! other_scalars {
    ($wrap:expr) => {
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            lax_kind(LaxVisitor.visit_bool(v), $wrap)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            lax_kind(LaxVisitor.visit_i64(v), $wrap)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            lax_kind(LaxVisitor.visit_u64(v), $wrap)
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            lax_kind(LaxVisitor.visit_f64(v), $wrap)
        }
        fn visit_str<E: de::Error>(self, _v: &str) -> Result<Self::Value, E> {
            Ok(($wrap)("a string"))
        }
    };
}

/// A value expected to be an object, filled from the value its function
/// makes (made only when the value is an object): [`WireObject::empty`] for
/// [`Shape<T>`], or a starting value of the caller's.
pub(crate) struct ShapeFrom<F>(pub(crate) F);

impl<'de, T: WireObject<'de>, F: FnOnce() -> T> Visitor<'de> for ShapeFrom<F> {
    type Value = Shape<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    other_scalars!(Shape::Other);
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Shape::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Shape::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        consume_seq(seq)?;
        Ok(Shape::Other("an array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut t = (self.0)();
        while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
            t.field(&k, &mut map)?;
        }
        Ok(Shape::Obj(t))
    }
}

impl<'de, T: WireObject<'de>, F: FnOnce() -> T> de::DeserializeSeed<'de> for ShapeFrom<F> {
    type Value = Shape<T>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: WireObject<'de>> Deserialize<'de> for Shape<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ShapeFrom(T::empty))
    }
}

/// A large wire object read straight into its heap slot: the envelope that
/// holds it stays small, so nothing large is moved between visitor layers.
impl<'de, T: WireObject<'de>> WireObject<'de> for Box<T> {
    fn empty() -> Self {
        Box::new(T::empty())
    }
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        (**self).field(key, map)
    }
}

/// A type whose fields are read in place into storage it borrows.
pub(crate) trait FillObject<'de> {
    /// Back to the state before any key was seen (an object given again
    /// replaces the earlier one whole).
    fn reset(&mut self);
    /// Reads the value of `key` from `map` (must consume exactly one value).
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error>;
    /// Called once the object's last key was read.
    fn done(&mut self) {}
}

/// A value expected to be an object, read in place into `T`: `Shape<()>`
/// tells what it was. On `null` the target is reset (and finished); on any
/// other non-object it is left alone.
pub(crate) struct ShapeInto<'a, T>(pub(crate) &'a mut T);

impl<'de, T: FillObject<'de>> Visitor<'de> for ShapeInto<'_, T> {
    type Value = Shape<()>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    other_scalars!(Shape::Other);
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.reset();
        self.0.done();
        Ok(Shape::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.visit_unit()
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        consume_seq(seq)?;
        Ok(Shape::Other("an array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        self.0.reset();
        while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
            self.0.field(&k, &mut map)?;
        }
        self.0.done();
        Ok(Shape::Obj(()))
    }
}

impl<'de, T: FillObject<'de>> de::DeserializeSeed<'de> for ShapeInto<'_, T> {
    type Value = Shape<()>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// A value expected to be an array of `T`.
#[derive(Debug)]
pub(crate) enum Many<T> {
    Items(Vec<T>),
    Null,
    Other(&'static str),
}

impl<T> Many<T> {
    /// The items, or nothing when it was not an array.
    pub(crate) fn items(self) -> Vec<T> {
        match self {
            Many::Items(v) => v,
            _ => Vec::new(),
        }
    }
}

struct ManyVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ManyVisitor<T> {
    type Value = Many<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }
    other_scalars!(Many::Other);
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Many::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Many::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element::<T>()? {
            items.push(item);
        }
        Ok(Many::Items(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        consume_map(map)?;
        Ok(Many::Other("an object"))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Many<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ManyVisitor(PhantomData))
    }
}

/// Reads the next map value as [`Lax`]. One copy for all the fields that
/// call it (per map type), for the instruction cache's sake.
#[inline(never)]
pub(crate) fn lax<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Lax<'de>, A::Error> {
    map.next_value::<Lax<'de>>()
}

/// Reads the next map value as a full JSON value (unknown keys: rare).
#[inline(never)]
pub(crate) fn value<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Value, A::Error> {
    map.next_value::<Value>()
}

/// A list of strings, read item by item: what `Many<Lax>` keeps of its
/// strings, without the intermediate list (non-strings dropped, anything
/// but an array gives an empty list).
struct Strings(Vec<String>);

struct StringsVisitor;

impl<'de> Visitor<'de> for StringsVisitor {
    type Value = Strings;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }
    other_scalars!(|_| Strings(Vec::new()));
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Strings(Vec::new()))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Strings(Vec::new()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Lax<'de>>()? {
            if let Some(s) = item.into_str() {
                items.push(s);
            }
        }
        Ok(Strings(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        consume_map(map)?;
        Ok(Strings(Vec::new()))
    }
}

impl<'de> Deserialize<'de> for Strings {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StringsVisitor)
    }
}

/// Reads the next map value as a list of strings (non-strings dropped,
/// non-arrays give an empty list).
#[inline(never)]
pub(crate) fn strings<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Vec<String>, A::Error> {
    map.next_value::<Strings>().map(|s| s.0)
}

/// Reads the next map value as a list of objects (items that are not
/// objects dropped, non-arrays give an empty list).
pub(crate) fn objects<'de, A: MapAccess<'de>, T: WireObject<'de>>(
    map: &mut A,
) -> Result<Vec<T>, A::Error> {
    Ok(map
        .next_value::<Many<Shape<T>>>()?
        .items()
        .into_iter()
        .filter_map(Shape::obj)
        .collect())
}

fn json_error(e: &serde_json::Error) -> DecodeError {
    DecodeError::NotJson {
        detail: e.to_string(),
    }
}

/// Parses one line into the top-level object `T`, with the typed errors for
/// bytes that are not UTF-8, not JSON, or not an object.
pub(crate) fn parse_line<'de, T: WireObject<'de>>(line: &'de [u8]) -> Result<T, DecodeError> {
    parse_line_from(line, T::empty)
}

/// [`parse_line`] filled from the starting value `init` makes.
pub(crate) fn parse_line_from<'de, T: WireObject<'de>>(
    line: &'de [u8],
    init: impl FnOnce() -> T,
) -> Result<T, DecodeError> {
    // SIMD validation: chat text is often mostly non-ASCII, where the
    // standard library's check falls off its ASCII fast path.
    let text = simdutf8::basic::from_utf8(line).map_err(|_| DecodeError::NotUtf8)?;
    parse_text_from(text, init)
}

/// [`parse_line_from`] for a line already known to be UTF-8 (the starting
/// value is made only when the line is an object).
pub(crate) fn parse_text_from<'de, T: WireObject<'de>>(
    text: &'de str,
    init: impl FnOnce() -> T,
) -> Result<T, DecodeError> {
    let first = text
        .bytes()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    if first != Some(b'{') {
        return match serde_json::from_str::<IgnoredAny>(text) {
            Ok(_) => Err(DecodeError::NotAnObject),
            Err(e) => Err(json_error(&e)),
        };
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let shape = de::DeserializeSeed::deserialize(ShapeFrom(init), &mut de)
        .and_then(|shape| de.end().map(|()| shape));
    match shape {
        Ok(Shape::Obj(t)) => Ok(t),
        Ok(_) => Err(DecodeError::NotAnObject),
        Err(e) => Err(json_error(&e)),
    }
}

/// Decodes `bodyB64` as Python's non-strict `base64.b64decode` does:
/// characters outside the standard alphabet are discarded, decoding stops at
/// the first complete padding, and a dangling partial quantum is an error.
/// Non-ASCII input is an error (Python refuses it before decoding).
pub(crate) fn b64decode_lenient(s: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    // Canonical base64 (the common case) decodes the same under both rules;
    // the strict engine is much faster than the byte loop below.
    if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(s) {
        return Some(bytes);
    }
    if !s.is_ascii() {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() / 4 * 3 + 2);
    let mut quad = 0u8;
    let mut left = 0u32;
    let mut pads = 0u8;
    for &c in s.as_bytes() {
        if c == b'=' {
            if quad >= 2 {
                pads += 1;
                if quad + pads >= 4 {
                    return Some(out);
                }
            }
            continue;
        }
        let v = u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        });
        pads = 0;
        match quad {
            0 => {
                left = v;
                quad = 1;
            }
            1 => {
                out.push(((left << 2) | (v >> 4)) as u8);
                left = v & 0xf;
                quad = 2;
            }
            2 => {
                out.push(((left << 4) | (v >> 2)) as u8);
                left = v & 0x3;
                quad = 3;
            }
            _ => {
                out.push(((left << 6) | v) as u8);
                left = 0;
                quad = 0;
            }
        }
    }
    if quad == 0 { Some(out) } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b64_matches_python_non_strict() {
        assert_eq!(
            b64decode_lenient("eyJ0eXBlIjogMn0="),
            Some(b"{\"type\": 2}".to_vec())
        );
        assert_eq!(b64decode_lenient(""), Some(vec![]));
        assert_eq!(b64decode_lenient("YQ=="), Some(b"a".to_vec()));
        assert_eq!(b64decode_lenient("YWI="), Some(b"ab".to_vec()));
        assert_eq!(b64decode_lenient("YWJj"), Some(b"abc".to_vec()));
        // whitespace, newlines and other junk are discarded
        assert_eq!(b64decode_lenient("YW\nJj\r\n"), Some(b"abc".to_vec()));
        assert_eq!(b64decode_lenient(" Y*W-J_j "), Some(b"abc".to_vec()));
        // data after a complete padding is ignored
        assert_eq!(b64decode_lenient("YQ==YWJj"), Some(b"a".to_vec()));
        // missing padding
        assert_eq!(b64decode_lenient("YQ"), None);
        assert_eq!(b64decode_lenient("YWI"), None);
        // one dangling character
        assert_eq!(b64decode_lenient("A"), None);
        assert_eq!(b64decode_lenient("not base64!"), None);
        // padding too early is skipped, not terminal
        assert_eq!(b64decode_lenient("=YWJj"), Some(b"abc".to_vec()));
        // non-ASCII
        assert_eq!(b64decode_lenient("YWJj\u{e9}"), None);
    }

    #[test]
    fn strict_fast_path_agrees_with_the_lenient_loop() {
        use base64::Engine as _;
        for len in 0..64usize {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let enc = base64::engine::general_purpose::STANDARD.encode(&data);
            assert_eq!(b64decode_lenient(&enc), Some(data.clone()));
            // non-canonical forms fall through to the lenient rules
            let junk = format!(" {enc}\n");
            assert_eq!(b64decode_lenient(&junk), Some(data));
        }
        // non-zero trailing bits: rejected by the strict engine, decoded
        // leniently as Python does
        assert_eq!(b64decode_lenient("YR=="), Some(b"a".to_vec()));
    }

    #[test]
    fn truthiness() {
        assert!(!Lax::Str(Cow::Borrowed("")).truthy());
        assert!(Lax::Str(Cow::Borrowed("false")).truthy());
        assert!(!Lax::Int(0).truthy());
        assert!(Lax::Float(0.5).truthy());
        assert!(!Lax::Array { empty: true }.truthy());
        assert!(Lax::Object { empty: false }.truthy());
    }
}
