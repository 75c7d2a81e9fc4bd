//! `Dialing`: waiting for the dial timer, or for the upgrade's outcome.

use core::marker::PhantomData;

use super::revocation::{self, Verdict};
use super::{Confirming, Handshaking, Ordinary, Phase, RelayConnection, Revoked};

/// Waiting to dial (a backoff or immediate dial is scheduled), or waiting for
/// the upgrade's outcome once the dial was emitted. `P` is [`Ordinary`] or,
/// while a possible revocation is being confirmed, [`Confirming`].
#[derive(Debug)]
pub struct Dialing<P> {
    pub(crate) in_flight: bool,
    _phase: PhantomData<P>,
}

impl<P> Dialing<P> {
    pub(crate) fn new() -> Self {
        Dialing {
            in_flight: false,
            _phase: PhantomData,
        }
    }
}

/// Where a refused upgrade leads.
#[derive(Debug)]
pub enum AfterRefusedUpgrade<P> {
    /// Retry on the backoff ladder.
    Dialing(RelayConnection<Dialing<P>>),
    /// HTTP 410: the credential is gone.
    Revoked(RelayConnection<Revoked>),
}

impl<P: Phase> RelayConnection<Dialing<P>> {
    /// Whether the dial was emitted and its outcome is awaited.
    pub fn dial_in_flight(&self) -> bool {
        self.state.in_flight
    }

    /// Emits the dial now if one is due.
    pub fn on_timeout(mut self) -> Self {
        if !self.state.in_flight && self.link.dial_due() {
            self.dial_now()
        } else {
            self
        }
    }

    /// Emits the dial now (a fresh token is minted).
    pub fn dial_now(mut self) -> Self {
        self.link.dial();
        self.state.in_flight = true;
        self
    }

    /// The upgrade succeeded: say hello and wait for the descriptor.
    pub fn on_opened(mut self) -> RelayConnection<Handshaking<P>> {
        self.link.on_socket_opened();
        self.into_state(Handshaking::new())
    }

    /// The upgrade failed. HTTP 410 revokes; anything else retries.
    pub fn on_refused(mut self, http_status: Option<u16>) -> AfterRefusedUpgrade<P> {
        match revocation::judge_refused_upgrade(http_status) {
            Verdict::Revoke => AfterRefusedUpgrade::Revoked(self.into_revoked()),
            Verdict::Retry | Verdict::Confirm => {
                self.state.in_flight = false;
                self.link.schedule_backoff();
                AfterRefusedUpgrade::Dialing(self)
            }
        }
    }
}

impl RelayConnection<Dialing<Ordinary>> {
    /// Enters the confirming phase (used after a revocation signal).
    pub(crate) fn into_confirming(self) -> RelayConnection<Dialing<Confirming>> {
        self.into_state(Dialing::new())
    }
}
