//! Deliberately wrong behaviours, compiled only with the `planted-bugs`
//! feature, that prove the simulator catches real mistakes (a mutation check
//! of the harness; see `docs/simulation.md`).
//!
//! A bug is chosen at runtime per connection with
//! [`Connection::with_planted_bug`](super::Connection::with_planted_bug);
//! [`PlantedBug::None`] (the default, and what [`Connection::new`](super::Connection::new)
//! uses) behaves exactly like a build without the feature. Every hook in the
//! state machine is one `planted!(link, Variant)` test, so they are easy to
//! find with `grep -rn 'planted!' core/src`.

use core::fmt;
use core::str::FromStr;

/// One deliberate mistake the connection can be told to make.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum PlantedBug {
    /// Correct behaviour.
    #[default]
    None,
    /// Emits a dial right after becoming `Revoked`.
    RedialAfterRevoked,
    /// Sends `inbound_ack` as soon as a buffered delivery reaches the
    /// application, instead of after the application acked it.
    AckOnDelivery,
    /// Keeps pending requests when the socket is lost (they only fail at
    /// their deadline).
    KeepRequestsOnDisconnect,
    /// Treats a 4401 on the handshake of a link that never served as a
    /// revocation (the cold-start race must retry).
    ColdStart4401Revokes,
    /// Hands a replayed message to the application again.
    HandReplays,
    /// Parks a held re-dial for twice its cap.
    HoldPastCap,
    /// Drains for ten times the shutdown's budget.
    DrainPastBudget,
}

impl PlantedBug {
    /// Every planted bug (without [`PlantedBug::None`]).
    pub const ALL: [PlantedBug; 7] = [
        PlantedBug::RedialAfterRevoked,
        PlantedBug::AckOnDelivery,
        PlantedBug::KeepRequestsOnDisconnect,
        PlantedBug::ColdStart4401Revokes,
        PlantedBug::HandReplays,
        PlantedBug::HoldPastCap,
        PlantedBug::DrainPastBudget,
    ];

    /// The kebab-case name (`redial-after-revoked`, …; `none`).
    pub fn name(self) -> &'static str {
        match self {
            PlantedBug::None => "none",
            PlantedBug::RedialAfterRevoked => "redial-after-revoked",
            PlantedBug::AckOnDelivery => "ack-on-delivery",
            PlantedBug::KeepRequestsOnDisconnect => "keep-requests-on-disconnect",
            PlantedBug::ColdStart4401Revokes => "cold-start-4401-revokes",
            PlantedBug::HandReplays => "hand-replays",
            PlantedBug::HoldPastCap => "hold-past-cap",
            PlantedBug::DrainPastBudget => "drain-past-budget",
        }
    }
}

impl fmt::Display for PlantedBug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not a planted bug.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown planted bug {0:?} (known: none, redial-after-revoked, ack-on-delivery, keep-requests-on-disconnect, cold-start-4401-revokes, hand-replays, hold-past-cap, drain-past-budget)"
)]
pub struct UnknownPlantedBug(pub String);

impl FromStr for PlantedBug {
    type Err = UnknownPlantedBug;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        core::iter::once(PlantedBug::None)
            .chain(PlantedBug::ALL)
            .find(|b| b.name() == s)
            .ok_or_else(|| UnknownPlantedBug(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for bug in core::iter::once(PlantedBug::None).chain(PlantedBug::ALL) {
            assert_eq!(bug.name().parse::<PlantedBug>(), Ok(bug));
        }
        assert!("redial".parse::<PlantedBug>().is_err());
    }
}
