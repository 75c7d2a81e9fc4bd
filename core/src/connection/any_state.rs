//! [`AnyState`]: the typed state a connection is in, as one enum; what each
//! input does in each state.

use super::closing::AfterShutdown;
use super::in_state::InState;
use super::outcomes::{
    AfterConfirmingHandshakeClose, AfterOrdinaryHandshakeClose, AfterRefusedUpgrade,
    AfterServingClose,
};
use super::receiving::{ReadSignals, Unread};
use super::revocation;
use super::shared::Shared;
use super::states::{
    Buffered, Closed, Closing, Confirming, Dialing, GoingIdle, Handshaking, Ordinary, Phase,
    Revoked, Serving,
};
use super::types::{CLOSE_ABNORMAL, CLOSE_NORMAL, Event, IdleRefusal, Output, State};
use crate::time::Instant;

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
    Closing(InState<Closing>),
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
            AnyState::Closing($c) => $body,
            AnyState::Revoked($c) => $body,
            AnyState::Closed($c) => $body,
        }
    };
}

/// Where the `Dialing` and `Handshaking` of each phase sit in [`AnyState`].
trait PhaseVariants: Phase + Sized {
    fn dialing(c: InState<Dialing<Self>>) -> AnyState;
    fn handshaking(c: InState<Handshaking<Self>>) -> AnyState;
}

impl PhaseVariants for Ordinary {
    fn dialing(c: InState<Dialing<Self>>) -> AnyState {
        AnyState::Dialing(c)
    }
    fn handshaking(c: InState<Handshaking<Self>>) -> AnyState {
        AnyState::Handshaking(c)
    }
}

impl PhaseVariants for Confirming {
    fn dialing(c: InState<Dialing<Self>>) -> AnyState {
        AnyState::ConfirmDialing(c)
    }
    fn handshaking(c: InState<Handshaking<Self>>) -> AnyState {
        AnyState::ConfirmHandshaking(c)
    }
}

impl<P: PhaseVariants> From<AfterRefusedUpgrade<P>> for AnyState {
    fn from(a: AfterRefusedUpgrade<P>) -> Self {
        match a {
            AfterRefusedUpgrade::Dialing(c) => P::dialing(c),
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

impl From<AfterShutdown> for AnyState {
    fn from(a: AfterShutdown) -> Self {
        match a {
            AfterShutdown::Closing(c) => AnyState::Closing(c),
            AfterShutdown::Closed(c) => AnyState::Closed(c),
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

    /// The next queued output, or `Wait` with the earliest deadline. One
    /// body for every state (only the `Shared` is read), inlined into
    /// `Connection::poll_output`: the engine asks for it about twice per
    /// inbound frame.
    #[inline]
    pub(super) fn poll_output(&mut self) -> Output {
        let shared = self.shared_mut();
        match shared.pop_output() {
            Some(out) => out,
            None => wait(shared),
        }
    }

    pub(super) fn tick(&mut self, now: Instant) {
        self.shared_mut().tick(now);
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
            | AnyState::GoingIdle(_)
            | AnyState::Closing(_)) => s,
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
            AnyState::Closing(c) => AnyState::Closed(c.on_closed(code, reason)),
            other => other,
        }
    }

    pub(super) fn on_message(mut self, message: Unread<'_>) -> Self {
        let mut rest = self.shared().admit_message(message);
        loop {
            self = match self {
                AnyState::Handshaking(c) => match read_handshaking(c, &mut rest) {
                    Ok(serving) => AnyState::Serving(serving),
                    Err(state) => return state,
                },
                AnyState::ConfirmHandshaking(c) => match read_handshaking(c, &mut rest) {
                    Ok(serving) => AnyState::Serving(serving),
                    Err(state) => return state,
                },
                AnyState::Serving(mut c) => {
                    let s = c.shared.read_lines(&mut rest);
                    return after_serving_read(c, &s);
                }
                AnyState::GoingIdle(mut c) => {
                    let s = c.shared.read_lines(&mut rest);
                    if let Some((code, reason)) = s.close() {
                        c.shared.event(Event::IdleRefused {
                            reason: IdleRefusal::ConnectionLost,
                        });
                        return AnyState::Dialing(c.into_serving().abandon(code, reason));
                    }
                    if s.idle_ack {
                        return AnyState::Buffered(c.on_idle_ack());
                    }
                    return AnyState::GoingIdle(c);
                }
                AnyState::Buffered(mut c) if c.socket_open() => {
                    let s = c.shared.read_lines(&mut rest);
                    if let Some((code, reason)) = s.close() {
                        return AnyState::Dialing(c.abandon(code, reason));
                    }
                    return AnyState::Buffered(c);
                }
                AnyState::Closing(mut c) => {
                    let s = c.shared.read_lines(&mut rest);
                    return c.after_read(&s).into();
                }
                other => return other,
            };
        }
    }

    /// [`on_message`](Self::on_message) on the state in `slot`, read in
    /// place when it is `Serving` (nearly every message): the state is
    /// moved out and back only when the read changes it.
    pub(super) fn on_message_in(slot: &mut Option<AnyState>, message: Unread<'_>) {
        if let Some(AnyState::Serving(c)) = slot {
            let mut rest = c.shared.admit_message(message);
            let s = c.shared.read_lines(&mut rest);
            if s.close().is_none() && !s.idle_ack {
                return;
            }
            if let Some(AnyState::Serving(c)) = slot.take() {
                *slot = Some(after_serving_read(c, &s));
            }
        } else if let Some(state) = slot.take() {
            *slot = Some(state.on_message(message));
        }
    }

    pub(super) fn on_timeout(self) -> Self {
        match self {
            AnyState::Dialing(c) => AnyState::Dialing(c.on_timeout()),
            AnyState::ConfirmDialing(c) => AnyState::ConfirmDialing(c.on_timeout()),
            AnyState::Handshaking(c) => handshaking_timeout(c),
            AnyState::ConfirmHandshaking(c) => handshaking_timeout(c),
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
            AnyState::Closing(c) => c.on_timeout().into(),
            terminal @ (AnyState::Revoked(_) | AnyState::Closed(_)) => terminal,
        }
    }

    /// A shutdown with a drain of at most `budget` (`closing.rs`).
    pub(super) fn shutdown(self, budget: core::time::Duration) -> Self {
        match self {
            AnyState::Dialing(c) => AnyState::Closed(c.close_now()),
            AnyState::ConfirmDialing(c) => AnyState::Closed(c.close_now()),
            AnyState::Handshaking(c) => AnyState::Closed(c.close_now()),
            AnyState::ConfirmHandshaking(c) => AnyState::Closed(c.close_now()),
            AnyState::Serving(c) => c.shutdown(budget).into(),
            AnyState::GoingIdle(c) => c.shutdown(budget).into(),
            AnyState::Buffered(c) => c.shutdown(budget).into(),
            AnyState::Closing(c) => c.tighten(budget).into(),
            terminal @ (AnyState::Revoked(_) | AnyState::Closed(_)) => terminal,
        }
    }
}

/// `Wait` until the earliest deadline. Out of line: the pop of a queued
/// output then makes no call, and saves no registers around one.
#[inline(never)]
fn wait(shared: &Shared) -> Output {
    Output::Wait(shared.next_deadline())
}

/// Where a read while `Serving` leaves the connection. Only a connection's
/// first descriptor pauses the reader, and that one moved it to `Serving`:
/// the whole message is read.
fn after_serving_read(c: InState<Serving>, s: &ReadSignals) -> AnyState {
    if let Some((code, reason)) = s.close() {
        return AnyState::Dialing(c.abandon(code, reason));
    }
    if s.idle_ack {
        return AnyState::Dialing(c.on_late_idle_ack());
    }
    AnyState::Serving(c)
}

/// Reads while handshaking: `Ok` once the first descriptor moved the
/// connection to `Serving` (where the rest of the message is read), else
/// the state it stays in or falls back to.
fn read_handshaking<P: PhaseVariants>(
    mut c: InState<Handshaking<P>>,
    rest: &mut Unread<'_>,
) -> Result<InState<Serving>, AnyState> {
    let s = c.shared.read_lines(rest);
    if let Some((code, reason)) = s.close() {
        return Err(P::dialing(c.abandon(code, reason)));
    }
    if !s.first_descriptor {
        return Err(P::handshaking(c));
    }
    Ok(c.on_descriptor())
}

/// A timeout while handshaking: the keepalive, then the handshake deadline.
fn handshaking_timeout<P: PhaseVariants>(mut c: InState<Handshaking<P>>) -> AnyState {
    if c.shared.run_socket_timers() {
        P::dialing(c.abandon(CLOSE_ABNORMAL, "keepalive timeout"))
    } else if c.handshake_expired() {
        P::dialing(c.on_handshake_timeout())
    } else {
        P::handshaking(c)
    }
}
