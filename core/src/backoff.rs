//! Reconnect delays (docs/protocol.md, "Close codes"): attempt `n` waits a delay drawn
//! uniformly from `[d/2, d]` with `d = min(initial × 2^(n-1), max)`
//! ("equal jitter"). Short-lived connections count as failures; the ladder
//! resets only after a connection served for `stable_after`.

use core::time::Duration;

use crate::rng::Rng;
use crate::time::duration_to_millis;

/// The backoff ladder.
#[derive(Clone, Debug)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    pub(crate) fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max: max.max(initial),
            failures: 0,
        }
    }

    /// Consecutive failed attempts so far.
    pub(crate) fn failures(&self) -> u32 {
        self.failures
    }

    /// Back to the bottom rung (after a stable connection).
    pub(crate) fn reset(&mut self) {
        self.failures = 0;
    }

    /// The ceiling `d` for attempt `n` (1-based).
    pub(crate) fn ceiling(&self, attempt: u32) -> Duration {
        let shift = attempt.saturating_sub(1).min(32);
        let factor = 1u64 << shift;
        let d = duration_to_millis(self.initial).saturating_mul(factor);
        Duration::from_millis(d.min(duration_to_millis(self.max)))
    }

    /// Records one more failure and draws the delay before the next attempt.
    pub(crate) fn next_delay(&mut self, rng: &mut Rng) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let d = duration_to_millis(self.ceiling(self.failures));
        Duration::from_millis(rng.range_inclusive(d / 2, d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_then_cap() {
        let b = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        let secs: Vec<u64> = (1..=8).map(|n| b.ceiling(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn delays_use_equal_jitter_within_half_to_full() {
        let mut rng = Rng::new(9);
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        for n in 1..=10u32 {
            let d = b.next_delay(&mut rng);
            let ceil = b.ceiling(n);
            assert!(
                d >= ceil / 2 && d <= ceil,
                "attempt {n}: {d:?} not in [{:?}, {ceil:?}]",
                ceil / 2
            );
        }
        assert_eq!(b.failures(), 10);
        b.reset();
        assert_eq!(b.failures(), 0);
        assert!(b.next_delay(&mut rng) <= Duration::from_secs(1));
    }

    #[test]
    fn jitter_is_seeded() {
        let draw = |seed| {
            let mut rng = Rng::new(seed);
            let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
            (0..6).map(|_| b.next_delay(&mut rng)).collect::<Vec<_>>()
        };
        assert_eq!(draw(5), draw(5));
        assert_ne!(draw(5), draw(6));
    }
}
