//! The id of an outbound request.

/// The id of an outbound request (32 lowercase hex characters on the wire).
///
/// Held inline (no allocation): ids are copied into the request table and
/// handed to drivers without touching the heap.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RequestId([u8; 32]);

impl core::hash::Hash for RequestId {
    // The first 16 bytes as one integer: the core's ids are random hex, so
    // they carry 60 random bits, and a fixed-size write hashes in a few
    // instructions where a 32-byte slice takes the hasher's long path.
    // Equal ids hash equal; ids a peer made up are only looked up, never
    // stored, so they cannot crowd a table.
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        let mut head = [0u8; 16];
        head.copy_from_slice(&self.0[..16]);
        state.write_u128(u128::from_le_bytes(head));
    }
}

impl RequestId {
    /// An id from the seeded core RNG: two 64-bit halves as 32 hex digits.
    pub(crate) fn from_halves(hi: u64, lo: u64) -> Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let n = (u128::from(hi) << 64) | u128::from(lo);
        let mut hex = [0u8; 32];
        for (i, digit) in hex.iter_mut().enumerate() {
            *digit = HEX[((n >> (124 - 4 * i)) & 0xf) as usize];
        }
        RequestId(hex)
    }

    /// The id a connector echoed, if it can be one of ours (32 bytes).
    pub(crate) fn from_wire(id: &str) -> Option<Self> {
        <[u8; 32]>::try_from(id.as_bytes()).ok().map(RequestId)
    }

    /// The id as sent in `requestId`.
    pub fn as_str(&self) -> &str {
        // Built from hex digits or from a `&str` of exactly 32 bytes.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl core::fmt::Display for RequestId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::fmt::Debug for RequestId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("RequestId").field(&self.as_str()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_32_hex_digits_and_round_trip() {
        let a = RequestId::from_halves(0x0123_4567_89ab_4def, 0x8000_0000_0000_00ff);
        assert_eq!(a.as_str(), "0123456789ab4def80000000000000ff");
        assert_eq!(RequestId::from_wire(a.as_str()), Some(a));
        assert_eq!(RequestId::from_wire("short"), None);
        assert_eq!(a.to_string(), a.as_str());
    }

    #[test]
    fn ids_differing_only_in_their_tail_are_distinct_keys() {
        use std::collections::HashMap;
        // Same first 16 digits (what is hashed), different last 16.
        let a = RequestId::from_halves(7, 1);
        let b = RequestId::from_halves(7, 2);
        let mut m = HashMap::new();
        m.insert(a, "a");
        m.insert(b, "b");
        assert_eq!((m.len(), m.get(&a), m.get(&b)), (2, Some(&"a"), Some(&"b")));
        assert_eq!(m.remove(&a), Some("a"));
        assert_eq!(m.get(&b), Some(&"b"));
    }
}
