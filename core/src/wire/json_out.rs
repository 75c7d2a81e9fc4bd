//! The compact JSON writer of the frames the gateway sends.
//!
//! The keys, punctuation and `type`/`op` values of a frame are known when
//! the crate is compiled, so each run of them is one literal copied whole;
//! only the strings that came from outside are scanned, sixteen bytes at a
//! time, and escaped where a byte needs it. The buffer is sized for the
//! whole frame before the first byte is written. The output is byte for
//! byte what `serde_json` writes through the frames' `Serialize` impls
//! (checked by the tests of this module and `core/tests/wire_encode.rs`).

use serde::Serialize;
use serde_json::{Map, Value};

/// Appends JSON to a byte buffer.
pub(crate) struct JsonOut<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> JsonOut<'a> {
    /// A writer appending to `out`. A buffer without room yet is sized for
    /// about `hint` bytes at once; one sized by the caller is left as it
    /// is (a buffer whose length ends equal to its capacity becomes a
    /// WebSocket message without another allocation).
    pub(crate) fn new(out: &'a mut Vec<u8>, hint: usize) -> Self {
        if out.capacity() == 0 {
            out.reserve_exact(hint);
        }
        JsonOut { out }
    }

    /// Bytes that are JSON already (keys and punctuation).
    #[inline]
    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    /// A JSON string.
    #[inline]
    pub(crate) fn str(&mut self, s: &str) {
        self.out.push(b'"');
        escape_into(self.out, s.as_bytes());
        self.out.push(b'"');
    }

    /// A JSON string, or `null`.
    #[inline]
    pub(crate) fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.str(s),
            None => self.raw(b"null"),
        }
    }

    /// `true` or `false`.
    #[inline]
    pub(crate) fn bool(&mut self, b: bool) {
        self.raw(if b { b"true" } else { b"false" });
    }

    /// An object of any JSON values, in its order.
    pub(crate) fn map(&mut self, map: &Map<String, Value>) {
        if map.is_empty() {
            return self.raw(b"{}");
        }
        self.out.push(b'{');
        for (i, (key, value)) in map.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            self.str(key);
            self.out.push(b':');
            self.value(value);
        }
        self.out.push(b'}');
    }

    /// Any JSON value.
    pub(crate) fn value(&mut self, value: &Value) {
        match value {
            Value::Null => self.raw(b"null"),
            Value::Bool(b) => self.bool(*b),
            Value::String(s) => self.str(s),
            Value::Object(map) => self.map(map),
            Value::Array(items) => {
                self.out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    self.value(item);
                }
                self.out.push(b']');
            }
            Value::Number(_) => self.serde(value),
        }
    }

    /// Anything through its `Serialize` impl (rare parts of rare frames).
    #[cold]
    pub(crate) fn serde<T: Serialize + ?Sized>(&mut self, value: &T) {
        let start = self.out.len();
        // Writing these types into a Vec cannot fail (string keys only, no
        // I/O); should it ever, `null` keeps the line valid JSON.
        if serde_json::to_writer(&mut *self.out, value).is_err() {
            self.out.truncate(start);
            self.raw(b"null");
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

/// Appends `bytes` (UTF-8) escaped as in a JSON string: `"` and `\` with a
/// backslash, control characters as `\b \t \n \f \r` or `\u00xx`; every
/// other byte, non-ASCII included, as is.
fn escape_into(out: &mut Vec<u8>, mut bytes: &[u8]) {
    while let Some(i) = first_escape(bytes) {
        out.extend_from_slice(&bytes[..i]);
        escape_byte(out, bytes[i]);
        bytes = &bytes[i + 1..];
    }
    out.extend_from_slice(bytes);
}

#[inline]
fn escape_byte(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = match b {
        b'"' => b'"',
        b'\\' => b'\\',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        0x08 => b'b',
        0x0c => b'f',
        _ => {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]);
            return;
        }
    };
    out.extend_from_slice(&[b'\\', short]);
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn escaped(s: &str) -> String {
        let mut out = Vec::new();
        JsonOut::new(&mut out, 0).str(s);
        String::from_utf8(out).unwrap_or_default()
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
        let mut out = Vec::new();
        JsonOut::new(&mut out, 0).value(&value);
        assert_eq!(out, serde_json::to_vec(&value).unwrap_or_default());
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
