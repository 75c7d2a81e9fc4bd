//! `Handshaking`: the socket is open and the hellos are sent; waiting for the
//! first descriptor.

use super::in_state::InState;
use super::outcomes::{AfterConfirmingHandshakeClose, AfterOrdinaryHandshakeClose};
use super::revocation::{self, Verdict};
use super::states::{Confirming, Dialing, Handshaking, Ordinary, Phase, Serving};
use super::types::CLOSE_NORMAL;
use crate::timer::Timer;

impl<P: Phase> InState<Handshaking<P>> {
    /// The first descriptor arrived.
    pub(super) fn on_descriptor(mut self) -> InState<Serving> {
        self.shared.on_served();
        let serving = if P::CONFIRMING {
            Serving::confirming()
        } else {
            Serving::new()
        };
        self.into_state(serving)
    }

    /// Whether the handshake deadline passed.
    pub(super) fn handshake_expired(&mut self) -> bool {
        let now = self.shared.now();
        self.shared.timers.expire(Timer::Handshake, now)
    }

    /// Gives up on this socket (handshake timeout, oversized frame, keepalive)
    /// and retries on the backoff ladder, keeping the phase.
    pub(super) fn abandon(mut self, code: u16, reason: &str) -> InState<Dialing<P>> {
        self.shared.lose_socket(Some(code), reason, true);
        self.shared.schedule_backoff();
        self.into_state(Dialing::new())
    }

    /// The handshake timed out.
    pub(super) fn on_handshake_timeout(self) -> InState<Dialing<P>> {
        self.abandon(CLOSE_NORMAL, "handshake timeout")
    }

    pub(super) fn lost(&mut self, code: Option<u16>, reason: &str) {
        self.shared.lose_socket(code, reason, false);
    }
}

impl InState<Handshaking<Ordinary>> {
    /// The socket closed before the descriptor. A 4401 here cannot revoke.
    pub(super) fn on_closed(
        mut self,
        code: Option<u16>,
        reason: &str,
    ) -> AfterOrdinaryHandshakeClose {
        self.lost(code, reason);
        let ever_served = self.shared.ever_served;
        match revocation::judge_close_before_descriptor(code, reason, ever_served, false) {
            Verdict::Confirm => {
                let d: InState<Dialing<Ordinary>> = self.into_state(Dialing::new());
                AfterOrdinaryHandshakeClose::Confirming(d.into_confirming().dial_now())
            }
            Verdict::Retry | Verdict::Revoke => {
                self.shared.schedule_backoff();
                AfterOrdinaryHandshakeClose::Dialing(self.into_state(Dialing::new()))
            }
        }
    }
}

impl InState<Handshaking<Confirming>> {
    /// The confirming connection closed before its descriptor: a 4401 revokes.
    pub(super) fn on_closed(
        mut self,
        code: Option<u16>,
        reason: &str,
    ) -> AfterConfirmingHandshakeClose {
        self.lost(code, reason);
        let ever_served = self.shared.ever_served;
        match revocation::judge_close_before_descriptor(code, reason, ever_served, true) {
            Verdict::Revoke => AfterConfirmingHandshakeClose::Revoked(self.into_revoked()),
            Verdict::Retry | Verdict::Confirm => {
                self.shared.schedule_backoff();
                AfterConfirmingHandshakeClose::Dialing(self.into_state(Dialing::new()))
            }
        }
    }
}
