//! The compact JSON writer of the frames the gateway sends.
//!
//! The keys, punctuation and `type`/`op` values of a frame are known when
//! the crate is compiled, so each run of them is one literal copied whole;
//! only the strings that came from outside are scanned, sixteen bytes at a
//! time, and escaped where a byte needs it. The buffer is sized for the
//! whole frame before the first byte is written. The output is byte for
//! byte what `serde_json` writes through the frames' `Serialize` impls
//! (checked by the tests of this module and `core/tests/wire_encode.rs`).
//! It writes text (a `String`): every piece is valid UTF-8 already, so a
//! frame needs no check before it goes out as a WebSocket text message.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{Map, Value};

/// Appends JSON to a text buffer.
pub(crate) struct JsonOut<'a> {
    out: &'a mut String,
}

impl<'a> JsonOut<'a> {
    /// A writer appending to `out`. A buffer without room yet is sized for
    /// about `hint` bytes at once; one sized by the caller is left as it
    /// is (a buffer whose length ends equal to its capacity becomes a
    /// WebSocket message without another allocation).
    pub(crate) fn new(out: &'a mut String, hint: usize) -> Self {
        if out.capacity() == 0 {
            out.reserve_exact(hint);
        }
        JsonOut { out }
    }

    /// Text that is JSON already (keys and punctuation).
    #[inline]
    pub(crate) fn raw(&mut self, text: &str) {
        self.out.push_str(text);
    }

    /// A JSON string.
    #[inline]
    pub(crate) fn str(&mut self, s: &str) {
        self.out.push('"');
        escape_into(self.out, s);
        self.out.push('"');
    }

    /// A JSON string, or `null`.
    #[inline]
    pub(crate) fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.str(s),
            None => self.raw("null"),
        }
    }

    /// `true` or `false`.
    #[inline]
    pub(crate) fn bool(&mut self, b: bool) {
        self.raw(if b { "true" } else { "false" });
    }

    /// An object of any JSON values, in its order.
    pub(crate) fn map(&mut self, map: &Map<String, Value>) {
        if map.is_empty() {
            return self.raw("{}");
        }
        self.out.push('{');
        for (i, (key, value)) in map.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            self.str(key);
            self.out.push(':');
            self.value(value);
        }
        self.out.push('}');
    }

    /// Any JSON value.
    pub(crate) fn value(&mut self, value: &Value) {
        match value {
            Value::Null => self.raw("null"),
            Value::Bool(b) => self.bool(*b),
            Value::String(s) => self.str(s),
            Value::Object(map) => self.map(map),
            Value::Array(items) => {
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.value(item);
                }
                self.out.push(']');
            }
            // A number's text is what serde_json writes for it.
            Value::Number(n) => {
                let _ = write!(self.out, "{n}");
            }
        }
    }

    /// Anything through its `Serialize` impl (rare parts of rare frames).
    #[cold]
    pub(crate) fn serde<T: Serialize + ?Sized>(&mut self, value: &T) {
        // Writing these types cannot fail (string keys only, no I/O);
        // should it ever, `null` keeps the line valid JSON.
        match serde_json::to_string(value) {
            Ok(text) => self.out.push_str(&text),
            Err(_) => self.raw("null"),
        }
    }
}

/// Bytes of `map` when written, when it holds only strings (most metadata);
/// otherwise a guess. Only sizes the buffer.
pub(crate) fn map_hint(map: &Map<String, Value>) -> usize {
    map.iter()
        .map(|(k, v)| {
            k.len()
                + 4
                + match v {
                    Value::String(s) => s.len() + 2,
                    _ => 16,
                }
        })
        .sum::<usize>()
        + 2
}

/// Whether `b` must be escaped inside a JSON string.
#[inline(always)]
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Bytes scanned at once: the loop over one block has no early exit, so
/// the compiler turns it into vector compares.
const BLOCK: usize = 16;

/// The index of the first byte of `bytes` that must be escaped.
#[inline]
fn first_escape(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    for block in bytes.chunks_exact(BLOCK) {
        let mut hit = false;
        for &b in block {
            hit |= needs_escape(b);
        }
        if hit {
            return block.iter().position(|&b| needs_escape(b)).map(|i| at + i);
        }
        at += BLOCK;
    }
    bytes[at..]
        .iter()
        .position(|&b| needs_escape(b))
        .map(|i| at + i)
}

/// Appends `s` escaped as in a JSON string: `"` and `\` with a
/// backslash, control characters as `\b \t \n \f \r` or `\u00xx`; every
/// other character, non-ASCII included, as is.
fn escape_into(out: &mut String, mut s: &str) {
    while let Some(i) = first_escape(s.as_bytes()) {
        // The byte at `i` is ASCII: both sides are whole characters.
        let (clean, rest) = s.split_at(i);
        out.push_str(clean);
        let mut rest = rest.chars();
        if let Some(c) = rest.next() {
            escape_char(out, c);
        }
        s = rest.as_str();
    }
    out.push_str(s);
}

#[inline]
fn escape_char(out: &mut String, c: char) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = match c {
        '"' => '"',
        '\\' => '\\',
        '\n' => 'n',
        '\r' => 'r',
        '\t' => 't',
        '\u{8}' => 'b',
        '\u{c}' => 'f',
        _ => {
            let b = usize::from(c as u8);
            out.push_str("\\u00");
            out.push(char::from(HEX[b >> 4]));
            out.push(char::from(HEX[b & 0xf]));
            return;
        }
    };
    out.push('\\');
    out.push(short);
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn escaped(s: &str) -> String {
        let mut out = String::new();
        JsonOut::new(&mut out, 0).str(s);
        out
    }

    #[test]
    fn every_byte_escaped_as_serde_json_does() {
        for b in 0u8..=0x7f {
            let s = String::from(char::from(b));
            assert_eq!(escaped(&s), serde_json::to_string(&s).unwrap_or_default());
        }
        // At every position of a block and across block edges.
        for len in 0..40 {
            for at in 0..len {
                let mut s = "é".repeat(len);
                s.insert(at * 2, '\u{1}');
                s.insert(0, '"');
                assert_eq!(escaped(&s), serde_json::to_string(&s).unwrap_or_default());
            }
        }
    }

    #[test]
    fn values_written_as_serde_json_does() {
        let value = serde_json::json!({
            "a": null, "b": true, "c": false, "d": 1, "e": -2.5, "f": 1e300,
            "g": u64::MAX, "h": [1, "x\n", [], {}], "i": {"k\"": {"z": []}},
            "": "\u{7f}\u{10ffff}",
        });
        let mut out = String::new();
        JsonOut::new(&mut out, 0).value(&value);
        assert_eq!(out, serde_json::to_string(&value).unwrap_or_default());
    }

    proptest! {
        #[test]
        fn strings_escaped_as_serde_json_does(s in any::<String>()) {
            prop_assert_eq!(escaped(&s), serde_json::to_string(&s).unwrap_or_default());
        }

        #[test]
        fn mixed_strings_escaped_as_serde_json_does(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("\"".to_owned()), Just("\\".to_owned()), Just("\n".to_owned()),
                    Just("\u{0}".to_owned()), Just("\u{1f}".to_owned()), Just("\u{7f}".to_owned()),
                    Just("é".to_owned()), Just("🙏".to_owned()), Just("\u{2028}".to_owned()),
                    "[a-z ]{0,20}",
                ],
                0..40,
            )
        ) {
            let s: String = parts.concat();
            prop_assert_eq!(escaped(&s), serde_json::to_string(&s).unwrap_or_default());
        }
    }
}
