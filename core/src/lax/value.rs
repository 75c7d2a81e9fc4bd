//! [`Lax`]: one JSON value classified without failing on its type, and
//! object keys borrowed from the input.

use std::borrow::Cow;
use std::fmt;

use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::Value;

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

    /// [`into_text`](Self::into_text) of anything but a string (rare: out
    /// of line).
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

// Out of line: one copy serves every visitor (the values skipped are
// rare on the per-frame path).
#[inline(never)]
pub(super) fn consume_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<bool, A::Error> {
    let mut empty = true;
    while seq.next_element::<IgnoredAny>()?.is_some() {
        empty = false;
    }
    Ok(empty)
}

// Out of line: one copy serves every visitor (the values skipped are
// rare on the per-frame path).
#[inline(never)]
pub(super) fn consume_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<bool, A::Error> {
    let mut empty = true;
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {
        empty = false;
    }
    Ok(empty)
}

pub(super) struct LaxVisitor;

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

/// Where [`KeyInto`] left an object key: borrowed from the input, or (a key
/// with escapes, rare) written into the caller's scratch string. Nothing to
/// drop: the per-key loop of an object stays lean.
#[derive(Clone, Copy)]
pub(crate) enum KeyAt<'de> {
    Borrowed(&'de str),
    Scratch,
}

impl<'de> KeyAt<'de> {
    /// The key, given the scratch string [`KeyInto`] wrote into.
    #[inline(always)]
    pub(crate) fn get<'a>(self, scratch: &'a str) -> &'a str
    where
        'de: 'a,
    {
        match self {
            KeyAt::Borrowed(k) => k,
            KeyAt::Scratch => scratch,
        }
    }
}

/// Reads an object key: borrowed when it has no escapes, else copied into
/// the scratch string (reused from key to key).
pub(crate) struct KeyInto<'s>(pub(crate) &'s mut String);

impl<'de> DeserializeSeed<'de> for KeyInto<'_> {
    type Value = KeyAt<'de>;
    #[inline(always)]
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyInto<'_> {
    type Value = KeyAt<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }
    #[inline(always)]
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(KeyAt::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.0.clear();
        self.0.push_str(v);
        Ok(KeyAt::Scratch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
