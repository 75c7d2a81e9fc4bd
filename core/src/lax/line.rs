//! One NDJSON line parsed into its top-level object, with the typed errors
//! for bytes that are not UTF-8, not JSON, or not an object.

use serde::de::{self, IgnoredAny};

use super::error::DecodeError;
use super::object::{FillObject, Shape, ShapeFrom, ShapeInto, WireObject};

fn json_error(e: &serde_json::Error) -> DecodeError {
    DecodeError::NotJson {
        detail: e.to_string(),
    }
}

/// The line as text: the typed error for bytes that are not UTF-8.
fn utf8(line: &[u8]) -> Result<&str, DecodeError> {
    // SIMD validation: chat text is often mostly non-ASCII, where the
    // standard library's check falls off its ASCII fast path.
    simdutf8::basic::from_utf8(line).map_err(|_| DecodeError::NotUtf8)
}

/// The error for a line whose first non-blank byte is not `{`, or `None`
/// when it is.
#[inline]
fn not_an_object(text: &str) -> Option<DecodeError> {
    // Almost every line starts with its brace.
    if text.as_bytes().first() == Some(&b'{') {
        return None;
    }
    not_an_object_after_blanks(text)
}

/// [`not_an_object`] past leading blanks (rare: out of line).
#[cold]
#[inline(never)]
fn not_an_object_after_blanks(text: &str) -> Option<DecodeError> {
    let first = text
        .bytes()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    if first == Some(b'{') {
        return None;
    }
    Some(match serde_json::from_str::<IgnoredAny>(text) {
        Ok(_) => DecodeError::NotAnObject,
        Err(e) => json_error(&e),
    })
}

/// Reads one value with `seed`, then checks that nothing but blanks
/// follows it.
fn read_whole<'de, S: de::DeserializeSeed<'de, Value = Shape<V>>, V>(
    text: &'de str,
    seed: S,
) -> Result<V, DecodeError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let shape = seed
        .deserialize(&mut de)
        .and_then(|shape| de.end().map(|()| shape));
    match shape {
        Ok(Shape::Obj(v)) => Ok(v),
        Ok(_) => Err(DecodeError::NotAnObject),
        Err(e) => Err(json_error(&e)),
    }
}

/// Parses one line into the top-level object `T`, with the typed errors for
/// bytes that are not UTF-8, not JSON, or not an object.
pub(crate) fn parse_line<'de, T: WireObject<'de>>(line: &'de [u8]) -> Result<T, DecodeError> {
    let text = utf8(line)?;
    if let Some(e) = not_an_object(text) {
        return Err(e);
    }
    read_whole(text, ShapeFrom(T::empty))
}

/// [`parse_line`] read in place into `target`: a large top-level object is
/// then never moved.
pub(crate) fn parse_line_into<'de, T: FillObject<'de>>(
    line: &'de [u8],
    target: &mut T,
) -> Result<(), DecodeError> {
    parse_text_into(utf8(line)?, target)
}

/// [`parse_line_into`] for a line already known to be UTF-8.
pub(crate) fn parse_text_into<'de, T: FillObject<'de>>(
    text: &'de str,
    target: &mut T,
) -> Result<(), DecodeError> {
    if let Some(e) = not_an_object(text) {
        return Err(e);
    }
    read_whole(text, ShapeInto(target))
}
