//! The bridge between the core's clock-free time and the system clocks.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use relay_core::{Instant, UnixTime};

/// Maps the core's millisecond [`Instant`]s to `std::time::Instant`s.
///
/// The core never reads a clock; the driver picks an epoch (the moment the
/// client started) and reports every `now` as milliseconds since then.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    epoch: std::time::Instant,
}

impl Clock {
    /// A clock whose epoch is now.
    pub fn start() -> Self {
        Clock {
            epoch: std::time::Instant::now(),
        }
    }

    /// The current core time.
    pub fn now(&self) -> Instant {
        // Seconds and milliseconds apart: `as_millis` divides a u128.
        let elapsed = self.epoch.elapsed();
        Instant::from_millis(
            elapsed
                .as_secs()
                .saturating_mul(1000)
                .saturating_add(u64::from(elapsed.subsec_millis())),
        )
    }

    /// The system instant of a core deadline. Deadlines too far away to
    /// represent become "in a year", which is as good as never.
    pub fn to_std(&self, at: Instant) -> std::time::Instant {
        self.epoch
            .checked_add(Duration::from_millis(at.as_millis()))
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
}
