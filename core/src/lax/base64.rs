//! `bodyB64` read as the reference reads it.

/// Decodes `bodyB64` as Python's non-strict `base64.b64decode` does:
/// characters outside the standard alphabet are discarded, decoding stops at
/// the first complete padding, and a dangling partial quantum is an error.
/// Non-ASCII input is an error (Python refuses it before decoding).
pub(crate) fn b64decode_lenient(s: &str) -> Option<Vec<u8>> {
    // Canonical base64 (the common case) decodes the same under both rules;
    // the strict engine is much faster than the byte loop below.
    // (data-encoding reads padding inside the text as the end of a block
    // and goes on, where Python stops: only trailing padding is canonical.)
    if !s.trim_end_matches('=').contains('=')
        && let Ok(bytes) = data_encoding::BASE64.decode(s.as_bytes())
    {
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
        for len in 0..64usize {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let enc = data_encoding::BASE64.encode(&data);
            assert_eq!(b64decode_lenient(&enc), Some(data.clone()));
            // non-canonical forms fall through to the lenient rules
            let junk = format!(" {enc}\n");
            assert_eq!(b64decode_lenient(&junk), Some(data));
        }
        // non-zero trailing bits: rejected by the strict engine, decoded
        // leniently as Python does
        assert_eq!(b64decode_lenient("YR=="), Some(b"a".to_vec()));
    }
}
