//! A tiny seeded PRNG (SplitMix64).
//!
//! Request ids and backoff jitter need randomness, but `hermes-relay-core` must be
//! deterministic under simulation, so the generator is seeded by the driver
//! (from OS entropy) or by the simulator (from its master seed). Not for
//! cryptography: nothing secret is derived from it.

use crate::request_id::RequestId;

/// SplitMix64: small, fast, and good enough for ids and jitter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator seeded with `seed`. Equal seeds give equal sequences.
    pub const fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value uniformly drawn from `lo..=hi` (returns `lo` when `hi <= lo`).
    pub fn range_inclusive(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        let span = hi - lo;
        if span == u64::MAX {
            return self.next_u64();
        }
        // Lemire's multiply-shift; the tiny bias is irrelevant for jitter.
        let r = u128::from(self.next_u64()) * u128::from(span + 1);
        lo + (r >> 64) as u64
    }

    /// `true` with probability `numerator / denominator` (false when the
    /// denominator is zero).
    pub fn chance(&mut self, numerator: u64, denominator: u64) -> bool {
        denominator != 0 && self.range_inclusive(0, denominator - 1) < numerator
    }

    /// A fresh request id: 32 lowercase hex characters, the shape of the
    /// reference's `uuid4().hex` (version and variant nibbles set as in a v4
    /// UUID so connectors that parse it as one accept it).
    pub fn request_id(&mut self) -> RequestId {
        let hi = (self.next_u64() & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
        let lo = (self.next_u64() & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
        RequestId::from_halves(hi, lo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }

    #[test]
    fn range_is_inclusive_and_bounded() {
        let mut r = Rng::new(3);
        let mut seen_lo = false;
        let mut seen_hi = false;
        for _ in 0..10_000 {
            let v = r.range_inclusive(5, 8);
            assert!((5..=8).contains(&v));
            seen_lo |= v == 5;
            seen_hi |= v == 8;
        }
        assert!(seen_lo && seen_hi);
        assert_eq!(r.range_inclusive(9, 2), 9);
        let _ = r.range_inclusive(0, u64::MAX);
    }

    #[test]
    fn request_ids_look_like_uuid4_hex() {
        let mut r = Rng::new(42);
        let a = r.request_id();
        let b = r.request_id();
        assert_ne!(a, b);
        for id in [a, b] {
            let id = id.as_str();
            assert_eq!(id.len(), 32);
            assert!(id.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')));
            assert_eq!(&id[12..13], "4");
            assert!(matches!(&id[16..17], "8" | "9" | "a" | "b"));
        }
    }
}
