//! A text read straight into the string that keeps it: what
//! [`Lax::into_text`] makes of the value, without building the [`Lax`]
//! first (the fields of every inbound message, read into buffers that are
//! reused when a message is handed back).

use std::fmt;

use compact_str::CompactString;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::value::{Lax, LaxVisitor};

/// A field a text is read into: a string, or a value named by a text (an
/// enum), read without building a [`Lax`] first.
pub(crate) trait TextSlot {
    /// Holds `s` from now on, in the buffer it has when that is large
    /// enough.
    fn put_str(&mut self, s: &str);
    /// Holds what [`Lax::into_text`] makes of `l` (not a string).
    fn put_other(&mut self, l: Lax<'_>);
    /// [`put_other`](Self::put_other) of `null`, which many optional
    /// fields carry: a slot can take it without building a [`Lax`].
    fn put_null(&mut self) {
        self.put_other(Lax::Null);
    }
    /// The list an array's strings go to, for a slot that holds a list of
    /// texts (see [`strings`]); `None` for a single text.
    fn list(&mut self) -> Option<&mut Vec<String>> {
        None
    }
}

/// A list of texts: the strings of an array (other items dropped); any
/// other value is an empty list.
struct TextList<'a>(&'a mut Vec<String>);

impl TextSlot for TextList<'_> {
    fn put_str(&mut self, _: &str) {
        self.0.clear();
    }
    fn put_other(&mut self, _: Lax<'_>) {
        self.0.clear();
    }
    fn list(&mut self) -> Option<&mut Vec<String>> {
        Some(self.0)
    }
}

/// `None` when the value is not a text.
impl TextSlot for Option<String> {
    #[inline]
    fn put_str(&mut self, s: &str) {
        match self {
            Some(buf) if buf.capacity() >= s.len() => {
                buf.clear();
                buf.push_str(s);
            }
            _ => *self = Some(s.to_owned()),
        }
    }
    fn put_other(&mut self, l: Lax<'_>) {
        *self = l.into_text();
    }
    #[inline]
    fn put_null(&mut self) {
        *self = None;
    }
}

/// Empty when the value is not a text.
impl TextSlot for String {
    #[inline]
    fn put_str(&mut self, s: &str) {
        if self.capacity() >= s.len() {
            self.clear();
            self.push_str(s);
        } else {
            *self = s.to_owned();
        }
    }
    fn put_other(&mut self, l: Lax<'_>) {
        *self = l.into_text().unwrap_or_default();
    }
}

/// `None` when the value is not a text (see `CompactString`).
impl TextSlot for Option<CompactString> {
    #[inline]
    fn put_str(&mut self, s: &str) {
        match self {
            Some(buf) => buf.put_str(s),
            None => *self = Some(CompactString::new(s)),
        }
    }
    fn put_other(&mut self, l: Lax<'_>) {
        *self = l.into_text().map(CompactString::from);
    }
    #[inline]
    fn put_null(&mut self) {
        *self = None;
    }
}

/// The longest text a `CompactString` keeps inline.
const MAX_INLINE: usize = std::mem::size_of::<CompactString>();

/// Empty when the value is not a text. A short text replacing an inline
/// one is written inline, with no call; a heap buffer large enough (a
/// handed-back message's) is reused.
impl TextSlot for CompactString {
    #[inline]
    fn put_str(&mut self, s: &str) {
        if s.len() <= MAX_INLINE && !self.is_heap_allocated() {
            *self = CompactString::new(s);
        } else {
            put_long(self, s);
        }
    }
    fn put_other(&mut self, l: Lax<'_>) {
        *self = l.into_text().map(CompactString::from).unwrap_or_default();
    }
}

/// [`CompactString::put_str`](TextSlot::put_str) of a long text, or into a
/// heap buffer (out of line: the usual short text makes no call).
#[inline(never)]
fn put_long(slot: &mut CompactString, s: &str) {
    if slot.is_heap_allocated() && slot.capacity() >= s.len() {
        // Keeps the heap buffer's capacity.
        slot.clear();
        slot.push_str(s);
    } else {
        *slot = CompactString::new(s);
    }
}

/// Reads one value into its slot (see the [module docs](self)). The slot
/// is a trait object: the JSON reading is compiled once for every kind of
/// slot, not once per kind, which keeps the per-message decoder small in
/// the instruction cache.
struct TextInto<'a>(&'a mut dyn TextSlot);

impl<'de> Visitor<'de> for TextInto<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<(), E> {
        self.0.put_str(v);
        Ok(())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.0.put_str(v);
        Ok(())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<(), E> {
        self.0.put_str(&v);
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.0.put_other(Lax::Bool(v));
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.0.put_other(Lax::Int(v));
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.0.put_other(Lax::UInt(v));
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.0.put_other(Lax::Float(v));
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.0.put_null();
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        match self.0.list() {
            Some(list) => {
                list.clear();
                while let Some(item) = seq.next_element::<Lax<'de>>()? {
                    if let Some(s) = item.into_str() {
                        list.push(s);
                    }
                }
            }
            None => self.0.put_other(LaxVisitor.visit_seq(seq)?),
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.0.put_other(LaxVisitor.visit_map(map)?);
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for TextInto<'_> {
    type Value = ();
    /// Inlined into [`text_into`], its one caller on the decoder's path:
    /// one call and one save of registers fewer for each text read.
    #[inline(always)]
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// Reads the next map value into `slot` as text (see the
/// [module docs](self)). Not inlined, like [`lax`](super::lax).
#[inline(never)]
pub(crate) fn text_into<'de, A: MapAccess<'de>>(
    map: &mut A,
    slot: &mut dyn TextSlot,
) -> Result<(), A::Error> {
    map.next_value_seed(TextInto(slot))
}

/// Reads a list of texts into `list` (its room reused): the strings of an
/// array, items of any other kind dropped; any other value is an empty
/// list. Read by the same code as a single text, which keeps the decoder
/// small.
pub(crate) fn strings_into<'de, A: MapAccess<'de>>(
    map: &mut A,
    list: &mut Vec<String>,
) -> Result<(), A::Error> {
    text_into(map, &mut TextList(list))
}

/// [`strings_into`] a new list.
pub(crate) fn strings<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Vec<String>, A::Error> {
    let mut list = Vec::new();
    strings_into(map, &mut list)?;
    Ok(list)
}

#[cfg(test)]
mod tests {
    use serde::de::DeserializeSeed;

    use super::*;

    /// What the slot holds after reading `json` into it, and what
    /// `Lax::into_text` makes of the same value.
    fn both<T: TextSlot + Clone>(json: &str, start: T) -> (T, Option<String>) {
        let mut slot = start;
        let mut de = serde_json::Deserializer::from_str(json);
        TextInto(&mut slot).deserialize(&mut de).unwrap();
        de.end().unwrap();
        let lax: Lax<'_> = serde_json::from_str(json).unwrap();
        (slot, lax.into_text())
    }

    const VALUES: [&str; 12] = [
        r#""plain""#,
        r#""esc\"aped\n""#,
        r#""""#,
        "null",
        "true",
        "false",
        "-12",
        "18446744073709551615",
        "1.5e3",
        "[1, [2]]",
        r#"{"a": {"b": 1}}"#,
        r#""a longer text than the buffer it is written into holds""#,
    ];

    #[test]
    fn an_optional_slot_holds_what_into_text_makes() {
        for json in VALUES {
            for start in [None, Some(String::new()), Some("old text".to_owned())] {
                let (slot, want) = both(json, start);
                assert_eq!(slot, want, "{json}");
            }
        }
    }

    #[test]
    fn a_slot_reuses_its_buffer_and_keeps_nothing_of_the_old_text() {
        for json in VALUES {
            let (slot, want) = both(json, String::from("an old value, longer than most"));
            assert_eq!(slot, want.unwrap_or_default(), "{json}");
        }
        let mut slot = Some(String::with_capacity(64));
        slot.as_mut().unwrap().push_str("0123456789");
        let at = slot.as_ref().unwrap().as_ptr();
        let mut de = serde_json::Deserializer::from_str(r#""abc""#);
        TextInto(&mut slot).deserialize(&mut de).unwrap();
        assert_eq!(slot.as_deref(), Some("abc"));
        assert_eq!(slot.as_ref().unwrap().as_ptr(), at, "the buffer was reused");
    }

    #[test]
    fn a_short_text_slot_holds_what_into_text_makes() {
        let heap = CompactString::from("an old value, longer than the inline room");
        assert!(heap.is_heap_allocated());
        for json in VALUES {
            for start in [None, Some(CompactString::default()), Some(heap.clone())] {
                let (slot, want) = both(json, start);
                assert_eq!(slot.as_deref(), want.as_deref(), "{json}");
            }
            let (slot, want) = both(json, heap.clone());
            assert_eq!(slot, want.unwrap_or_default(), "{json}");
        }
    }

    /// A handed-back heap buffer stays in use, whatever the length of the
    /// text read into it (an inline one would fit, too).
    #[test]
    fn a_short_text_slot_keeps_its_heap_buffer() {
        let mut slot = Some(CompactString::from("x".repeat(100)));
        let (at, capacity) = {
            let s = slot.as_ref().unwrap();
            (s.as_ptr(), s.capacity())
        };
        for json in [
            r#""abc""#,
            r#""a text of more than twenty-four bytes""#,
            r#""""#,
        ] {
            let mut de = serde_json::Deserializer::from_str(json);
            TextInto(&mut slot).deserialize(&mut de).unwrap();
            let s = slot.as_ref().unwrap();
            assert_eq!(s.as_str(), serde_json::from_str::<String>(json).unwrap());
            assert_eq!((s.as_ptr(), s.capacity()), (at, capacity), "{json}");
        }
        // A short text into an inline slot stays inline.
        let mut slot = CompactString::from("old");
        let mut de = serde_json::Deserializer::from_str(r#""new text""#);
        TextInto(&mut slot).deserialize(&mut de).unwrap();
        assert_eq!(slot, "new text");
        assert!(!slot.is_heap_allocated());
    }
}
