//! [`AnyState`]: the typed state a connection is in, as one enum; what each
//! input does in each state.

use super::in_state::InState;
use super::outcomes::{
    AfterConfirmingHandshakeClose, AfterOrdinaryHandshakeClose, AfterRefusedUpgrade,
    AfterServingClose,
};
use super::receiving::Unread;
use super::revocation;
use super::shared::Shared;
use super::states::{
    Buffered, Closed, Confirming, Dialing, GoingIdle, Handshaking, Ordinary, Revoked, Serving,
};
use super::types::{
    CLOSE_ABNORMAL, CLOSE_NORMAL, CLOSE_TOO_BIG, CLOSE_TRY_AGAIN_LATER, Event, IdleRefusal, Output,
    State,
};
use crate::time::Instant;

/// Close reason when the bound of outstanding buffered deliveries is reached.
const TOO_MANY_UNACKED: &str = "too many unacked deliveries";

/// Whichever typed state a connection is in.
#[derive(Debug)]
pub(super) enum AnyState {
    Dialing(InState<Dialing<Ordinary>>),
    ConfirmDialing(InState<Dialing<Confirming>>),
    Handshaking(InState<Handshaking<Ordinary>>),
    ConfirmHandshaking(InState<Handshaking<Confirming>>),
    Serving(InState<Serving>),
    GoingIdle(InState<GoingIdle>),
    Buffered(InState<Buffered>),
    Revoked(InState<Revoked>),
    Closed(InState<Closed>),
}

macro_rules! each {
    ($inner:expr, $c:ident => $body:expr) => {
        match $inner {
            AnyState::Dialing($c) => $body,
            AnyState::ConfirmDialing($c) => $body,
            AnyState::Handshaking($c) => $body,
            AnyState::ConfirmHandshaking($c) => $body,
            AnyState::Serving($c) => $body,
            AnyState::GoingIdle($c) => $body,
            AnyState::Buffered($c) => $body,
            AnyState::Revoked($c) => $body,
            AnyState::Closed($c) => $body,
        }
    };
}

impl From<AfterRefusedUpgrade<Ordinary>> for AnyState {
    fn from(a: AfterRefusedUpgrade<Ordinary>) -> Self {
        match a {
            AfterRefusedUpgrade::Dialing(c) => AnyState::Dialing(c),
            AfterRefusedUpgrade::Revoked(c) => AnyState::Revoked(c),
        }
    }
}

impl From<AfterRefusedUpgrade<Confirming>> for AnyState {
    fn from(a: AfterRefusedUpgrade<Confirming>) -> Self {
        match a {
            AfterRefusedUpgrade::Dialing(c) => AnyState::ConfirmDialing(c),
            AfterRefusedUpgrade::Revoked(c) => AnyState::Revoked(c),
        }
    }
}

impl From<AfterOrdinaryHandshakeClose> for AnyState {
    fn from(a: AfterOrdinaryHandshakeClose) -> Self {
        match a {
            AfterOrdinaryHandshakeClose::Dialing(c) => AnyState::Dialing(c),
            AfterOrdinaryHandshakeClose::Confirming(c) => AnyState::ConfirmDialing(c),
        }
    }
}

impl From<AfterConfirmingHandshakeClose> for AnyState {
    fn from(a: AfterConfirmingHandshakeClose) -> Self {
        match a {
            AfterConfirmingHandshakeClose::Dialing(c) => AnyState::ConfirmDialing(c),
            AfterConfirmingHandshakeClose::Revoked(c) => AnyState::Revoked(c),
        }
    }
}

impl From<AfterServingClose> for AnyState {
    fn from(a: AfterServingClose) -> Self {
        match a {
            AfterServingClose::Dialing(c) => AnyState::Dialing(c),
            AfterServingClose::Confirming(c) => AnyState::ConfirmDialing(c),
            AfterServingClose::Revoked(c) => AnyState::Revoked(c),
        }
    }
}

impl AnyState {
    pub(super) fn shared(&self) -> &Shared {
        each!(self, c => &c.shared)
    }

    pub(super) fn shared_mut(&mut self) -> &mut Shared {
        each!(self, c => &mut c.shared)
    }

    pub(super) fn state(&self) -> State {
        each!(self, c => c.state())
    }

    pub(super) fn poll_output(&mut self) -> Output {
        each!(self, c => c.poll_output())
    }

    pub(super) fn tick(&mut self, now: Instant) {
        each!(self, c => c.tick(now))
    }

    /// A socket the core did not ask for (or no longer wants): close it.
    pub(super) fn close_stray_socket(mut self) -> Self {
        self.shared_mut().emit(Output::Close {
            code: CLOSE_NORMAL,
            reason: "unexpected socket".into(),
        });
        self
    }

    pub(super) fn on_opened(self) -> Self {
        match self {
            AnyState::Dialing(c) if c.dial_in_flight() => AnyState::Handshaking(c.on_opened()),
            AnyState::ConfirmDialing(c) if c.dial_in_flight() => {
                AnyState::ConfirmHandshaking(c.on_opened())
            }
            // A duplicate report while a socket is live is ignored; the
            // driver holds one socket and it is that one.
            s @ (AnyState::Handshaking(_)
            | AnyState::ConfirmHandshaking(_)
            | AnyState::Serving(_)
            | AnyState::GoingIdle(_)) => s,
            AnyState::Buffered(c) if c.socket_open() => AnyState::Buffered(c),
            other => other.close_stray_socket(),
        }
    }

    pub(super) fn on_refused(self, http_status: Option<u16>) -> Self {
        match self {
            AnyState::Dialing(c) if c.dial_in_flight() => c.on_refused(http_status).into(),
            AnyState::ConfirmDialing(c) if c.dial_in_flight() => c.on_refused(http_status).into(),
            other => other,
        }
    }

    pub(super) fn on_closed(self, code: Option<u16>, reason: &str) -> Self {
        match self {
            // The socket died before the upgrade completed.
            AnyState::Dialing(c) if c.dial_in_flight() => c.on_refused(None).into(),
            AnyState::ConfirmDialing(c) if c.dial_in_flight() => c.on_refused(None).into(),
            // PLANTED BUG: a cold-start 4401 revokes.
            AnyState::Handshaking(mut c)
                if planted!(c.shared, ColdStart4401Revokes)
                    && code == Some(revocation::CLOSE_UNAUTHORIZED)
                    && !c.shared.ever_served =>
            {
                c.shared.lose_socket(code, reason, false);
                AnyState::Revoked(c.into_revoked())
            }
            AnyState::Handshaking(c) => c.on_closed(code, reason).into(),
            AnyState::ConfirmHandshaking(c) => c.on_closed(code, reason).into(),
            AnyState::Serving(c) => c.on_closed(code, reason).into(),
            AnyState::GoingIdle(c) => c.on_closed(code, reason).into(),
            AnyState::Buffered(c) if c.socket_open() => c.on_closed(code, reason).into(),
            other => other,
        }
    }

    pub(super) fn on_message(mut self, message: Unread<'_>) -> Self {
        let mut rest = self.shared().admit_message(message);
        loop {
            self = match self {
                AnyState::Handshaking(mut c) => {
                    let s = c.shared.read_lines(&mut rest);
                    if s.too_large {
                        return AnyState::Dialing(c.abandon(CLOSE_TOO_BIG, "frame too large"));
                    }
                    if s.deliveries_full {
                        return AnyState::Dialing(
                            c.abandon(CLOSE_TRY_AGAIN_LATER, TOO_MANY_UNACKED),
                        );
                    }
                    if !s.first_descriptor {
                        return AnyState::Handshaking(c);
                    }
                    AnyState::Serving(c.on_descriptor())
                }
                AnyState::ConfirmHandshaking(mut c) => {
                    let s = c.shared.read_lines(&mut rest);
                    if s.too_large {
                        return AnyState::ConfirmDialing(
                            c.abandon(CLOSE_TOO_BIG, "frame too large"),
                        );
                    }
                    if s.deliveries_full {
                        return AnyState::ConfirmDialing(
                            c.abandon(CLOSE_TRY_AGAIN_LATER, TOO_MANY_UNACKED),
                        );
                    }
                    if !s.first_descriptor {
                        return AnyState::ConfirmHandshaking(c);
                    }
                    AnyState::Serving(c.on_descriptor())
                }
                AnyState::Serving(mut c) => {
                    let s = c.shared.read_lines(&mut rest);
                    if s.too_large {
                        return AnyState::Dialing(c.abandon(CLOSE_TOO_BIG, "frame too large"));
                    }
                    if s.deliveries_full {
                        return AnyState::Dialing(
                            c.abandon(CLOSE_TRY_AGAIN_LATER, TOO_MANY_UNACKED),
                        );
                    }
                    if s.idle_ack {
                        return AnyState::Dialing(c.on_late_idle_ack());
                    }
                    // Only a connection's first descriptor pauses the reader,
                    // and that one moved us here: everything is read.
                    return AnyState::Serving(c);
                }
                AnyState::GoingIdle(mut c) => {
                    let s = c.shared.read_lines(&mut rest);
                    if s.too_large || s.deliveries_full {
                        c.shared.event(Event::IdleRefused {
                            reason: IdleRefusal::ConnectionLost,
                        });
                        let (code, reason) = if s.too_large {
                            (CLOSE_TOO_BIG, "frame too large")
                        } else {
                            (CLOSE_TRY_AGAIN_LATER, TOO_MANY_UNACKED)
                        };
                        return AnyState::Dialing(c.into_serving().abandon(code, reason));
                    }
                    if s.idle_ack {
                        return AnyState::Buffered(c.on_idle_ack());
                    }
                    return AnyState::GoingIdle(c);
                }
                AnyState::Buffered(mut c) if c.socket_open() => {
                    let s = c.shared.read_lines(&mut rest);
                    if s.too_large {
                        return AnyState::Dialing(c.abandon(CLOSE_TOO_BIG, "frame too large"));
                    }
                    return AnyState::Buffered(c);
                }
                other => return other,
            };
        }
    }

    pub(super) fn on_timeout(self) -> Self {
        match self {
            AnyState::Dialing(c) => AnyState::Dialing(c.on_timeout()),
            AnyState::ConfirmDialing(c) => AnyState::ConfirmDialing(c.on_timeout()),
            AnyState::Handshaking(mut c) => {
                if c.shared.run_socket_timers() {
                    AnyState::Dialing(c.abandon(CLOSE_ABNORMAL, "keepalive timeout"))
                } else if c.handshake_expired() {
                    AnyState::Dialing(c.on_handshake_timeout())
                } else {
                    AnyState::Handshaking(c)
                }
            }
            AnyState::ConfirmHandshaking(mut c) => {
                if c.shared.run_socket_timers() {
                    AnyState::ConfirmDialing(c.abandon(CLOSE_ABNORMAL, "keepalive timeout"))
                } else if c.handshake_expired() {
                    AnyState::ConfirmDialing(c.on_handshake_timeout())
                } else {
                    AnyState::ConfirmHandshaking(c)
                }
            }
            AnyState::Serving(mut c) => {
                if c.shared.run_socket_timers() {
                    AnyState::Dialing(c.on_keepalive_timeout())
                } else {
                    AnyState::Serving(c)
                }
            }
            AnyState::GoingIdle(mut c) => {
                if c.shared.run_socket_timers() {
                    c.shared.event(Event::IdleRefused {
                        reason: IdleRefusal::ConnectionLost,
                    });
                    AnyState::Dialing(c.into_serving().on_keepalive_timeout())
                } else if c.idle_ack_expired() {
                    AnyState::Serving(c.on_idle_ack_timeout())
                } else {
                    AnyState::GoingIdle(c)
                }
            }
            AnyState::Buffered(mut c) if c.socket_open() => {
                if c.shared.run_socket_timers() {
                    AnyState::Dialing(c.abandon(CLOSE_ABNORMAL, "keepalive timeout"))
                } else {
                    AnyState::Buffered(c)
                }
            }
            AnyState::Buffered(mut c) => {
                if c.dormant_due() {
                    AnyState::Dialing(c.wake())
                } else {
                    AnyState::Buffered(c)
                }
            }
            terminal @ (AnyState::Revoked(_) | AnyState::Closed(_)) => terminal,
        }
    }

    pub(super) fn shutdown(self) -> Self {
        match self {
            AnyState::Dialing(c) => AnyState::Closed(c.shutdown()),
            AnyState::ConfirmDialing(c) => AnyState::Closed(c.shutdown()),
            AnyState::Handshaking(c) => AnyState::Closed(c.shutdown()),
            AnyState::ConfirmHandshaking(c) => AnyState::Closed(c.shutdown()),
            AnyState::Serving(c) => AnyState::Closed(c.shutdown()),
            AnyState::GoingIdle(c) => AnyState::Closed(c.shutdown()),
            AnyState::Buffered(c) => AnyState::Closed(c.shutdown()),
            terminal @ (AnyState::Revoked(_) | AnyState::Closed(_)) => terminal,
        }
    }
}
