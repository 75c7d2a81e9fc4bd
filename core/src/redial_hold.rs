//! A held re-dial: while the application holds it (a brokered suspend of
//! the machine is in flight, and a re-dial now would undo the connector's
//! flip to buffering), a re-dial that becomes due waits, for at most a cap,
//! then dials. The wait consumes the hold; a release (or a wake) ends it at
//! once. Only re-dials that wait on the dial timer (backoff and the dormant
//! cadence) are held; the immediate fresh-token re-dial that confirms a
//! possible revocation is not.

use crate::time::Instant;

/// Where a hold stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum RedialHold {
    /// Not held: due re-dials dial.
    #[default]
    Free,
    /// Held; no re-dial has become due yet.
    Held,
    /// A due re-dial waits until `until` (or a release).
    Parked {
        /// When it dials anyway.
        until: Instant,
    },
}

/// What a due dial timer means under a hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WhenDue {
    /// Dial now.
    Dial,
    /// Wait: re-arm the dial timer for `until`.
    Park {
        /// The end of the wait.
        until: Instant,
    },
}

impl RedialHold {
    /// The dial timer fired at `now`; `cap` is the longest wait.
    pub(crate) fn on_due(&mut self, now: Instant, cap: core::time::Duration) -> WhenDue {
        match *self {
            RedialHold::Free => WhenDue::Dial,
            RedialHold::Held => {
                let until = now.saturating_add(cap);
                *self = RedialHold::Parked { until };
                WhenDue::Park { until }
            }
            // The cap passed: the hold is consumed by this wait.
            RedialHold::Parked { .. } => {
                *self = RedialHold::Free;
                WhenDue::Dial
            }
        }
    }

    /// Holds the next due re-dial (a hold already in place is kept).
    pub(crate) fn hold(&mut self) {
        if *self == RedialHold::Free {
            *self = RedialHold::Held;
        }
    }

    /// Ends the hold; `true` when a re-dial was waiting (it should dial now).
    pub(crate) fn release(&mut self) -> bool {
        let parked = matches!(self, RedialHold::Parked { .. });
        *self = RedialHold::Free;
        parked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;

    #[test]
    fn a_hold_parks_one_due_dial_until_the_cap() {
        let cap = Duration::from_secs(60);
        let mut h = RedialHold::default();
        assert_eq!(h.on_due(Instant::from_millis(5), cap), WhenDue::Dial);
        h.hold();
        let until = Instant::from_millis(60_010);
        assert_eq!(
            h.on_due(Instant::from_millis(10), cap),
            WhenDue::Park { until }
        );
        h.hold(); // kept as it is
        assert_eq!(h, RedialHold::Parked { until });
        assert_eq!(h.on_due(until, cap), WhenDue::Dial, "the cap passed");
        assert_eq!(h, RedialHold::Free, "consumed");
        h.hold();
        assert!(!h.release(), "nothing was waiting");
        h.hold();
        h.on_due(Instant::ZERO, cap);
        assert!(h.release(), "a waiting dial goes now");
        assert_eq!(h, RedialHold::Free);
    }
}
