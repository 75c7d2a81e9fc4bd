//! The id of an outbound request.

/// The id of an outbound request (32 lowercase hex characters on the wire).
///
/// Held inline (no allocation): ids are copied into the request table and
/// handed to drivers without touching the heap.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RequestId([u8; 32]);

impl core::hash::Hash for RequestId {
    // The 32 bytes in one write: an array would hash its length first.
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        state.write(&self.0);
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
}
