//! Time as an input.
//!
//! `hermes-relay-core` never reads a clock. Drivers pass [`Instant`] (monotonic
//! milliseconds since an epoch of their choosing; the simulator starts at 0)
//! with every call, and [`UnixTime`] (wall-clock seconds) where tokens are
//! minted or verified. All arithmetic saturates: no input can make it panic.

use core::fmt;
use core::time::Duration;

/// A point on the driver's monotonic clock, in milliseconds since an epoch the
/// driver chooses.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

impl Instant {
    /// The epoch itself.
    pub const ZERO: Instant = Instant(0);
    /// The latest representable instant; used as "never".
    pub const MAX: Instant = Instant(u64::MAX);

    /// An instant `millis` milliseconds after the epoch.
    pub const fn from_millis(millis: u64) -> Self {
        Instant(millis)
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating at [`Instant::MAX`].
    pub fn saturating_add(self, d: Duration) -> Self {
        Instant(self.0.saturating_add(duration_to_millis(d)))
    }

    /// `self + d`, or `None` on overflow.
    pub fn checked_add(self, d: Duration) -> Option<Self> {
        self.0.checked_add(duration_to_millis(d)).map(Instant)
    }

    /// `self - d`, saturating at [`Instant::ZERO`].
    pub fn saturating_sub(self, d: Duration) -> Self {
        Instant(self.0.saturating_sub(duration_to_millis(d)))
    }

    /// Time elapsed from `earlier` to `self`; zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    /// Time elapsed from `earlier` to `self`, or `None` if `earlier` is later.
    pub fn checked_duration_since(self, earlier: Instant) -> Option<Duration> {
        self.0.checked_sub(earlier.0).map(Duration::from_millis)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

/// Whole milliseconds in `d`, saturating at `u64::MAX`.
pub(crate) fn duration_to_millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Wall-clock time in whole seconds since the Unix epoch (used for token
/// expiry, which is defined in wall-clock seconds on the wire).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug)]
pub struct UnixTime(u64);

impl UnixTime {
    /// The Unix epoch.
    pub const EPOCH: UnixTime = UnixTime(0);

    /// `secs` seconds after the Unix epoch.
    pub const fn from_secs(secs: u64) -> Self {
        UnixTime(secs)
    }

    /// Seconds since the Unix epoch.
    pub const fn as_secs(self) -> u64 {
        self.0
    }

    /// `self + secs`, saturating.
    pub const fn saturating_add_secs(self, secs: u64) -> Self {
        UnixTime(self.0.saturating_add(secs))
    }

    /// `self - secs`, saturating at the epoch.
    pub const fn saturating_sub_secs(self, secs: u64) -> Self {
        UnixTime(self.0.saturating_sub(secs))
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instant_arithmetic_saturates() {
        let t = Instant::from_millis(10);
        assert_eq!(t.saturating_add(Duration::from_millis(5)).as_millis(), 15);
        assert_eq!(
            Instant::MAX.saturating_add(Duration::from_secs(1)),
            Instant::MAX
        );
        assert_eq!(t.checked_add(Duration::MAX), None);
        assert_eq!(t.saturating_sub(Duration::from_secs(1)), Instant::ZERO);
        assert_eq!(
            t.saturating_duration_since(Instant::from_millis(20)),
            Duration::ZERO
        );
        assert_eq!(t.checked_duration_since(Instant::from_millis(20)), None);
        assert_eq!(
            Instant::from_millis(20).checked_duration_since(t),
            Some(Duration::from_millis(10))
        );
    }

    #[test]
    fn huge_durations_do_not_overflow() {
        assert_eq!(duration_to_millis(Duration::MAX), u64::MAX);
        assert_eq!(
            Instant::from_millis(1).saturating_add(Duration::MAX),
            Instant::MAX
        );
    }

    #[test]
    fn unix_time_saturates() {
        assert_eq!(
            UnixTime::from_secs(u64::MAX)
                .saturating_add_secs(1)
                .as_secs(),
            u64::MAX
        );
        assert_eq!(
            UnixTime::from_secs(3).saturating_sub_secs(5),
            UnixTime::EPOCH
        );
    }
}
