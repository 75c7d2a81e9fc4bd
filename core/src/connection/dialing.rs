//! `Dialing`: waiting for the dial timer, or for the upgrade's outcome.

use super::in_state::InState;
use super::outcomes::AfterRefusedUpgrade;
use super::revocation::{self, Verdict};
use super::states::{Confirming, Dialing, Handshaking, Ordinary, Phase};

impl<P: Phase> InState<Dialing<P>> {
    /// Whether the dial was emitted and its outcome is awaited.
    pub(super) fn dial_in_flight(&self) -> bool {
        self.state.in_flight
    }

    /// Emits the dial now if one is due.
    pub(super) fn on_timeout(mut self) -> Self {
        if !self.state.in_flight && self.shared.dial_due() {
            self.dial_now()
        } else {
            self
        }
    }

    /// Emits the dial now (a fresh token is minted).
    pub(super) fn dial_now(mut self) -> Self {
        self.shared.dial();
        self.state.in_flight = true;
        self
    }

    /// The upgrade succeeded: say hello and wait for the descriptor.
    pub(super) fn on_opened(mut self) -> InState<Handshaking<P>> {
        self.shared.on_socket_opened();
        self.into_state(Handshaking::new())
    }

    /// The upgrade failed. HTTP 410 revokes; anything else retries.
    pub(super) fn on_refused(mut self, http_status: Option<u16>) -> AfterRefusedUpgrade<P> {
        match revocation::judge_refused_upgrade(http_status) {
            Verdict::Revoke => AfterRefusedUpgrade::Revoked(self.into_revoked()),
            Verdict::Retry | Verdict::Confirm => {
                self.state.in_flight = false;
                self.shared.schedule_backoff();
                AfterRefusedUpgrade::Dialing(self)
            }
        }
    }
}

impl InState<Dialing<Ordinary>> {
    /// Enters the confirming phase (used after a revocation signal).
    pub(super) fn into_confirming(self) -> InState<Dialing<Confirming>> {
        self.into_state(Dialing::new())
    }
}
