//! Deliberate mistakes, compiled only with the `planted-bugs` feature, that
//! prove the simulator catches real engine bugs (a mutation check of the
//! harness; see `docs/simulation.md`).
//!
//! A bug is chosen per client with `ClientOptions::plant`;
//! [`PlantedBug::None`] (the default) behaves exactly like a build without
//! the feature. Every hook is one `planted!(engine, Variant)` test marked
//! `PLANTED BUG` (`grep -rn 'planted!' engine/src`); without the feature
//! the macro is the constant `false`.

use std::fmt;
use std::str::FromStr;

/// One deliberate mistake the engine can be told to make.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum PlantedBug {
    /// Correct behaviour.
    #[default]
    None,
    /// Queues writes for the socket without the `write_queue` bound.
    UnboundedWriteQueue,
    /// Acks a buffered delivery when it is handed to the application,
    /// before the application acked it.
    AckBeforeApp,
    /// Dials the last target once more after the core turned `Revoked`.
    RedialAfterRevoked,
    /// Starts a dial without registering the task's waker with it, so its
    /// progress waits for some other wake-up.
    LostDialWake,
    /// Drops the callers waiting for results when the socket is lost,
    /// instead of handing them the core's failures.
    DropRepliesOnDisconnect,
    /// Keeps a spawned client's driver running after the application
    /// dropped every handle.
    KeepRunningWhenDropped,
    /// Wakes its own task whenever it has nothing to do (a busy loop).
    SpinWhenIdle,
}

impl PlantedBug {
    /// Every planted bug (without [`PlantedBug::None`]).
    pub const ALL: [PlantedBug; 7] = [
        PlantedBug::UnboundedWriteQueue,
        PlantedBug::AckBeforeApp,
        PlantedBug::RedialAfterRevoked,
        PlantedBug::LostDialWake,
        PlantedBug::DropRepliesOnDisconnect,
        PlantedBug::KeepRunningWhenDropped,
        PlantedBug::SpinWhenIdle,
    ];

    /// The kebab-case name (`unbounded-write-queue`, …; `none`).
    pub fn name(self) -> &'static str {
        match self {
            PlantedBug::None => "none",
            PlantedBug::UnboundedWriteQueue => "unbounded-write-queue",
            PlantedBug::AckBeforeApp => "ack-before-app",
            PlantedBug::RedialAfterRevoked => "redial-after-revoked",
            PlantedBug::LostDialWake => "lost-dial-wake",
            PlantedBug::DropRepliesOnDisconnect => "drop-replies-on-disconnect",
            PlantedBug::KeepRunningWhenDropped => "keep-running-when-dropped",
            PlantedBug::SpinWhenIdle => "spin-when-idle",
        }
    }
}

impl fmt::Display for PlantedBug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not a planted engine bug.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown planted engine bug {0:?} (known: none, unbounded-write-queue, ack-before-app, redial-after-revoked, lost-dial-wake, drop-replies-on-disconnect, keep-running-when-dropped, spin-when-idle)"
)]
pub struct UnknownPlantedBug(pub String);

impl FromStr for PlantedBug {
    type Err = UnknownPlantedBug;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        std::iter::once(PlantedBug::None)
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
        for bug in std::iter::once(PlantedBug::None).chain(PlantedBug::ALL) {
            assert_eq!(bug.name().parse::<PlantedBug>(), Ok(bug));
        }
        assert!("nope".parse::<PlantedBug>().is_err());
    }
}
