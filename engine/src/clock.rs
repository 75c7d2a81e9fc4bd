//! The system clocks, for runtimes that run on real time.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use relay_core::{Instant, UnixTime};

/// The system's monotonic and wall clocks in the core's units: what
/// [`Runtime::now`](super::Runtime::now),
/// [`Runtime::wall_clock`](super::Runtime::wall_clock) and
/// [`Runtime::seed`](super::Runtime::seed) return on a runtime that runs on
/// real time.
///
/// The monotonic clock counts milliseconds from the first reading in the
/// process; [`Clock::deadline`] maps one of its instants back to a
/// `std::time::Instant` for the runtime's timer.
#[derive(Clone, Copy, Debug)]
pub struct Clock;

/// The first reading of the monotonic clock in this process.
fn epoch() -> std::time::Instant {
    static EPOCH: OnceLock<std::time::Instant> = OnceLock::new();
    *EPOCH.get_or_init(std::time::Instant::now)
}

impl Clock {
    /// Milliseconds since the process's first reading.
    pub fn now() -> Instant {
        // Seconds and milliseconds apart: `as_millis` divides a u128.
        let elapsed = epoch().elapsed();
        Instant::from_millis(
            elapsed
                .as_secs()
                .saturating_mul(1000)
                .saturating_add(u64::from(elapsed.subsec_millis())),
        )
    }

    /// The system instant of `at`: the end of its millisecond, so a timer
    /// set for `now() + d` never fires before `d` has passed since the
    /// reading ([`Clock::now`] drops the sub-millisecond part). Instants too
    /// far away to represent become "in a year", which is as good as never.
    pub fn deadline(at: Instant) -> std::time::Instant {
        epoch()
            .checked_add(Duration::from_millis(at.as_millis().saturating_add(1)))
            .unwrap_or_else(|| std::time::Instant::now() + Duration::from_secs(365 * 24 * 3600))
    }

    /// Wall-clock time for minting tokens (the epoch if the system clock is
    /// set before 1970).
    pub fn wall() -> UnixTime {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        UnixTime::from_secs(secs)
    }

    /// A seed from the process's hash keys (drawn from the OS once per
    /// thread) and the clock.
    pub fn seed() -> u64 {
        RandomState::new().hash_one(Self::now().as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_map_back_to_the_system_clock() {
        let now = Clock::now();
        let at = now.saturating_add(Duration::from_millis(1500));
        let deadline = Clock::deadline(at);
        let ahead = deadline.saturating_duration_since(std::time::Instant::now());
        assert!(ahead <= Duration::from_millis(1501), "{ahead:?}");
        assert!(ahead >= Duration::from_millis(1000), "{ahead:?}");
        // "Never" stays representable.
        assert!(Clock::deadline(Instant::MAX) > std::time::Instant::now());
    }

    #[test]
    fn a_deadline_is_never_before_the_reading_it_was_computed_from() {
        // `now()` drops the sub-millisecond part of the reading: mapped back
        // as is, `now() + d` would fire up to a millisecond before `d` had
        // passed since the reading (a 300 ms delay answered in 299.1 ms).
        for _ in 0..1000 {
            let before = std::time::Instant::now();
            let now = Clock::now();
            assert!(Clock::deadline(now) >= before);
        }
    }
}
