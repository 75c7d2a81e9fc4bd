//! One NDJSON line parsed into its top-level object, with the typed errors
//! for bytes that are not UTF-8, not JSON, or not an object.

use serde::de::{self, IgnoredAny};

use super::error::DecodeError;
use super::object::{Shape, ShapeFrom, WireObject};

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
