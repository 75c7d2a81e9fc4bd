//! `Handshaking`: the socket is open and the hellos are sent; waiting for the
//! first descriptor.

use core::marker::PhantomData;

use super::link::CLOSE_NORMAL;
use super::revocation::{self, Verdict};
use super::{Confirming, Dialing, Ordinary, Phase, RelayConnection, Revoked, Serving};
use crate::timer::Timer;

/// Socket open, hellos sent, no descriptor yet. `P` is [`Ordinary`] or
/// [`Confirming`] (this connection is the fresh-token re-dial that confirms a
/// possible revocation).
#[derive(Debug)]
pub struct Handshaking<P> {
    _phase: PhantomData<P>,
}

impl<P> Handshaking<P> {
    pub(crate) fn new() -> Self {
        Handshaking {
            _phase: PhantomData,
        }
    }
}

/// Where a close during an ordinary handshake leads: never to `Revoked`.
#[derive(Debug)]
pub enum AfterOrdinaryHandshakeClose {
    /// Retry on the backoff ladder.
    Dialing(RelayConnection<Dialing<Ordinary>>),
    /// A 4401 on a link that served before: confirm at once with a fresh token.
    Confirming(RelayConnection<Dialing<Confirming>>),
}

/// Where a close during the confirming handshake leads.
#[derive(Debug)]
pub enum AfterConfirmingHandshakeClose {
    /// Not a 4401: keep confirming, on the backoff ladder.
    Dialing(RelayConnection<Dialing<Confirming>>),
    /// A second 4401: revoked.
    Revoked(RelayConnection<Revoked>),
}

impl<P: Phase> RelayConnection<Handshaking<P>> {
    /// The first descriptor arrived.
    pub fn on_descriptor(mut self) -> RelayConnection<Serving> {
        self.link.on_served();
        let serving = if P::CONFIRMING {
            Serving::confirming()
        } else {
            Serving::new()
        };
        self.into_state(serving)
    }

    /// Whether the handshake deadline passed.
    pub fn handshake_expired(&mut self) -> bool {
        let now = self.link.now();
        self.link.timers.expire(Timer::Handshake, now)
    }

    /// Gives up on this socket (handshake timeout, oversized frame, keepalive)
    /// and retries on the backoff ladder, keeping the phase.
    pub fn abandon(mut self, code: u16, reason: &str) -> RelayConnection<Dialing<P>> {
        self.link.lose_socket(Some(code), reason, true);
        self.link.schedule_backoff();
        self.into_state(Dialing::new())
    }

    /// The handshake timed out.
    pub fn on_handshake_timeout(self) -> RelayConnection<Dialing<P>> {
        self.abandon(CLOSE_NORMAL, "handshake timeout")
    }

    fn lost(&mut self, code: Option<u16>, reason: &str) {
        self.link.lose_socket(code, reason, false);
    }
}

impl RelayConnection<Handshaking<Ordinary>> {
    /// The socket closed before the descriptor. A 4401 here cannot revoke.
    pub fn on_closed(mut self, code: Option<u16>, reason: &str) -> AfterOrdinaryHandshakeClose {
        self.lost(code, reason);
        let ever_served = self.link.ever_served;
        match revocation::judge_close_before_descriptor(code, reason, ever_served, false) {
            Verdict::Confirm => {
                let d: RelayConnection<Dialing<Ordinary>> = self.into_state(Dialing::new());
                AfterOrdinaryHandshakeClose::Confirming(d.into_confirming().dial_now())
            }
            Verdict::Retry | Verdict::Revoke => {
                self.link.schedule_backoff();
                AfterOrdinaryHandshakeClose::Dialing(self.into_state(Dialing::new()))
            }
        }
    }
}

impl RelayConnection<Handshaking<Confirming>> {
    /// The confirming connection closed before its descriptor: a 4401 revokes.
    pub fn on_closed(mut self, code: Option<u16>, reason: &str) -> AfterConfirmingHandshakeClose {
        self.lost(code, reason);
        let ever_served = self.link.ever_served;
        match revocation::judge_close_before_descriptor(code, reason, ever_served, true) {
            Verdict::Revoke => AfterConfirmingHandshakeClose::Revoked(self.into_revoked()),
            Verdict::Retry | Verdict::Confirm => {
                self.link.schedule_backoff();
                AfterConfirmingHandshakeClose::Dialing(self.into_state(Dialing::new()))
            }
        }
    }
}
