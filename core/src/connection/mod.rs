//! The gateway's relay link as a sans-IO state machine.
//!
//! ```text
//!  Dialing ──opened──▶ Handshaking ──descriptor──▶ Serving ──go_idle──▶ GoingIdle ──ack──▶ Buffered
//!     ▲                    │                        │  ▲                   │                  │
//!     └────────────────────┴─── close / timeout ────┘  └──ack timeout──────┘                  │
//!     └───────────────────────────────────── wake / dormant re-dial ─────────────────────────┘
//!  4401 rules (one file): see `revocation`. Revoked and Closed are terminal.
//! ```
//!
//! **Typestate at the edges.** Each state is its own type
//! ([`RelayConnection<Serving>`] …); a transition consumes `self` and returns
//! only the states it may legally lead to. `Dialing` and `Handshaking` carry
//! a phase, [`Ordinary`] or [`Confirming`]: only the confirming re-dial that
//! follows a revocation signal can end in `Revoked` from before a
//! descriptor, so a cold-start 4401 cannot revoke by construction.
//!
//! **An enum in the middle.** Drivers hold [`Connection`], which wraps the
//! typed states behind one uniform API:
//!
//! 1. feed what happened: [`Connection::handle_input`], or an application
//!    command ([`Connection::send`], [`Connection::go_idle`], …), each with
//!    `now`;
//! 2. drain [`Connection::poll_output`] until [`Output::Wait`];
//! 3. sleep until that deadline or the next input, whichever comes first; on
//!    the deadline, feed [`Input::Timeout`].
//!
//! What the remote does wrong becomes an event (and, where needed, a close
//! code); only the caller's misuse returns `Err`. No input, in any state, in
//! any order, panics; time going backwards is clamped.

/// `true` when `$link` was built with the planted bug `PlantedBug::$bug`
/// (feature `planted-bugs`, see `planted.rs`); the constant `false` without
/// the feature. Every use is a deliberate mistake for the simulator to catch.
macro_rules! planted {
    ($link:expr, $bug:ident) => {{
        #[cfg(feature = "planted-bugs")]
        let on = $link.planted == $crate::connection::PlantedBug::$bug;
        #[cfg(not(feature = "planted-bugs"))]
        let on = false;
        on
    }};
}

mod buffered;
mod dialing;
mod going_idle;
mod handshaking;
mod link;
#[cfg(feature = "planted-bugs")]
mod planted;
pub mod revocation;
mod revoked;
mod serving;
mod types;

pub use buffered::Buffered;
pub use dialing::{AfterRefusedUpgrade, Dialing};
pub use going_idle::GoingIdle;
pub use handshaking::{AfterConfirmingHandshakeClose, AfterOrdinaryHandshakeClose, Handshaking};
pub use link::{CLOSE_ABNORMAL, CLOSE_NORMAL, CLOSE_TOO_BIG, CLOSE_TRY_AGAIN_LATER};
#[cfg(feature = "planted-bugs")]
pub use planted::{PlantedBug, UnknownPlantedBug};
pub use revoked::{Closed, Revoked};
pub use serving::{AfterServingClose, Serving};
pub use types::*;

pub use crate::request_id::RequestId;

use link::{Link, Unread};

/// Close reason when the bound of outstanding buffered deliveries is reached.
const TOO_MANY_UNACKED: &str = "too many unacked deliveries";

use crate::config::{IdleMode, RelayConfig};
use crate::descriptor::CapabilityDescriptor;
use crate::message::MessageEvent;
use crate::recycle::EventPool;
use crate::time::{Instant, UnixTime};
use crate::wire::Action;

/// Phase marker: an ordinary dial or handshake.
#[derive(Debug)]
pub struct Ordinary;

/// Phase marker: the fresh-token re-dial that confirms a possible revocation.
#[derive(Debug)]
pub struct Confirming;

/// The two phases of `Dialing` and `Handshaking`.
pub trait Phase: sealed::Sealed {
    /// Whether this is the confirming phase.
    const CONFIRMING: bool;
}
impl Phase for Ordinary {
    const CONFIRMING: bool = false;
}
impl Phase for Confirming {
    const CONFIRMING: bool = true;
}

/// A typed state: each knows which [`State`] it is.
pub trait TypedState: sealed::Sealed {
    /// The runtime name of the state.
    const STATE: State;
}

/// States a link can still leave (everything but `Revoked` and `Closed`).
pub trait Live: TypedState {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Ordinary {}
    impl Sealed for super::Confirming {}
    impl<P> Sealed for super::Dialing<P> {}
    impl<P> Sealed for super::Handshaking<P> {}
    impl Sealed for super::Serving {}
    impl Sealed for super::GoingIdle {}
    impl Sealed for super::Buffered {}
    impl Sealed for super::Revoked {}
    impl Sealed for super::Closed {}
}

macro_rules! typed_state {
    ($($ty:ty => $state:ident, $live:tt;)*) => {$(
        impl<P: Phase> TypedState for $ty where $ty: sealed::Sealed { const STATE: State = State::$state; }
        typed_state!(@live $ty, $live);
    )*};
    (@live $ty:ty, live) => { impl<P: Phase> Live for $ty {} };
    (@live $ty:ty, terminal) => {};
}

typed_state! {
    Dialing<P> => Dialing, live;
    Handshaking<P> => Handshaking, live;
}

macro_rules! plain_state {
    ($($ty:ty => $state:ident, $live:tt;)*) => {$(
        impl TypedState for $ty { const STATE: State = State::$state; }
        plain_state!(@live $ty, $live);
    )*};
    (@live $ty:ty, live) => { impl Live for $ty {} };
    (@live $ty:ty, terminal) => {};
}

plain_state! {
    Serving => Serving, live;
    GoingIdle => GoingIdle, live;
    Buffered => Buffered, live;
    Revoked => Revoked, terminal;
    Closed => Closed, terminal;
}

/// One gateway's relay link in state `S`.
#[derive(Debug)]
pub struct RelayConnection<S> {
    link: Box<Link>,
    state: S,
}

impl RelayConnection<Dialing<Ordinary>> {
    /// A new link that dials at once. `seed` feeds request ids and backoff
    /// jitter; `now` and `wall` anchor the monotonic and wall clocks. A relay
    /// URL that does not parse gives [`Event::ConfigRejected`] instead of a
    /// dial, and no timer (prefer [`Connection::new`], which then closes).
    pub fn new(config: RelayConfig, seed: u64, now: Instant, wall: UnixTime) -> Self {
        let link = Box::new(Link::new(config, seed, now, wall));
        RelayConnection {
            link,
            state: Dialing::new(),
        }
        .dial_now()
    }
}

impl<S: TypedState> RelayConnection<S> {
    /// The runtime name of this state.
    pub fn state(&self) -> State {
        S::STATE
    }

    /// The next queued output, or `Wait` with the earliest deadline.
    pub fn poll_output(&mut self) -> Output {
        match self.link.pop_output() {
            Some(out) => out,
            None => Output::Wait(self.link.next_deadline()),
        }
    }

    /// Moves to `next`, reporting the change.
    fn into_state<T: TypedState>(mut self, next: T) -> RelayConnection<T> {
        self.link.state_changed(S::STATE, T::STATE);
        RelayConnection {
            link: self.link,
            state: next,
        }
    }

    /// Terminal revocation: every timer cancelled, nothing in flight.
    fn into_revoked(mut self) -> RelayConnection<Revoked> {
        self.link.fail_all(RequestError::ConnectionLost);
        self.link.stop_everything();
        self.link.event(Event::Revoked);
        let mut revoked = self.into_state(Revoked::new());
        if planted!(revoked.link, RedialAfterRevoked) {
            revoked.link.dial(); // PLANTED BUG: a dial after Revoked
        }
        revoked
    }

    /// Advances the clock (clamped: time never goes backwards).
    fn tick(&mut self, now: Instant) {
        self.link.tick(now);
    }
}

impl<S: Live> RelayConnection<S> {
    /// Deliberate shutdown: fails pending requests, closes with 1000, never
    /// dials again.
    pub fn shutdown(mut self) -> RelayConnection<Closed> {
        self.link.fail_all(RequestError::Shutdown);
        self.link.lose_socket(Some(CLOSE_NORMAL), "shutdown", true);
        self.link.stop_everything();
        self.into_state(Closed::new())
    }
}

/// The runtime wrapper drivers use: one of the typed states.
#[derive(Debug)]
enum Inner {
    Dialing(RelayConnection<Dialing<Ordinary>>),
    ConfirmDialing(RelayConnection<Dialing<Confirming>>),
    Handshaking(RelayConnection<Handshaking<Ordinary>>),
    ConfirmHandshaking(RelayConnection<Handshaking<Confirming>>),
    Serving(RelayConnection<Serving>),
    GoingIdle(RelayConnection<GoingIdle>),
    Buffered(RelayConnection<Buffered>),
    Revoked(RelayConnection<Revoked>),
    Closed(RelayConnection<Closed>),
}

macro_rules! each {
    ($inner:expr, $c:ident => $body:expr) => {
        match $inner {
            Inner::Dialing($c) => $body,
            Inner::ConfirmDialing($c) => $body,
            Inner::Handshaking($c) => $body,
            Inner::ConfirmHandshaking($c) => $body,
            Inner::Serving($c) => $body,
            Inner::GoingIdle($c) => $body,
            Inner::Buffered($c) => $body,
            Inner::Revoked($c) => $body,
            Inner::Closed($c) => $body,
        }
    };
}

impl From<AfterRefusedUpgrade<Ordinary>> for Inner {
    fn from(a: AfterRefusedUpgrade<Ordinary>) -> Self {
        match a {
            AfterRefusedUpgrade::Dialing(c) => Inner::Dialing(c),
            AfterRefusedUpgrade::Revoked(c) => Inner::Revoked(c),
        }
    }
}

impl From<AfterRefusedUpgrade<Confirming>> for Inner {
    fn from(a: AfterRefusedUpgrade<Confirming>) -> Self {
        match a {
            AfterRefusedUpgrade::Dialing(c) => Inner::ConfirmDialing(c),
            AfterRefusedUpgrade::Revoked(c) => Inner::Revoked(c),
        }
    }
}

impl From<AfterOrdinaryHandshakeClose> for Inner {
    fn from(a: AfterOrdinaryHandshakeClose) -> Self {
        match a {
            AfterOrdinaryHandshakeClose::Dialing(c) => Inner::Dialing(c),
            AfterOrdinaryHandshakeClose::Confirming(c) => Inner::ConfirmDialing(c),
        }
    }
}

impl From<AfterConfirmingHandshakeClose> for Inner {
    fn from(a: AfterConfirmingHandshakeClose) -> Self {
        match a {
            AfterConfirmingHandshakeClose::Dialing(c) => Inner::ConfirmDialing(c),
            AfterConfirmingHandshakeClose::Revoked(c) => Inner::Revoked(c),
        }
    }
}

impl From<AfterServingClose> for Inner {
    fn from(a: AfterServingClose) -> Self {
        match a {
            AfterServingClose::Dialing(c) => Inner::Dialing(c),
            AfterServingClose::Confirming(c) => Inner::ConfirmDialing(c),
            AfterServingClose::Revoked(c) => Inner::Revoked(c),
        }
    }
}

impl Inner {
    fn link(&self) -> &Link {
        each!(self, c => &c.link)
    }

    fn link_mut(&mut self) -> &mut Link {
        each!(self, c => &mut c.link)
    }

    fn state(&self) -> State {
        each!(self, c => c.state())
    }

    fn tick(&mut self, now: Instant) {
        each!(self, c => c.tick(now))
    }

    /// A socket the core did not ask for (or no longer wants): close it.
    fn close_stray_socket(mut self) -> Self {
        self.link_mut().emit(Output::Close {
            code: CLOSE_NORMAL,
            reason: "unexpected socket".into(),
        });
        self
    }

    fn on_opened(self) -> Self {
        match self {
            Inner::Dialing(c) if c.dial_in_flight() => Inner::Handshaking(c.on_opened()),
            Inner::ConfirmDialing(c) if c.dial_in_flight() => {
                Inner::ConfirmHandshaking(c.on_opened())
            }
            // A duplicate report while a socket is live is ignored; the
            // driver holds one socket and it is that one.
            s @ (Inner::Handshaking(_)
            | Inner::ConfirmHandshaking(_)
            | Inner::Serving(_)
            | Inner::GoingIdle(_)) => s,
            Inner::Buffered(c) if c.socket_open() => Inner::Buffered(c),
            other => other.close_stray_socket(),
        }
    }

    fn on_refused(self, http_status: Option<u16>) -> Self {
        match self {
            Inner::Dialing(c) if c.dial_in_flight() => c.on_refused(http_status).into(),
            Inner::ConfirmDialing(c) if c.dial_in_flight() => c.on_refused(http_status).into(),
            other => other,
        }
    }

    fn on_closed(self, code: Option<u16>, reason: &str) -> Self {
        match self {
            // The socket died before the upgrade completed.
            Inner::Dialing(c) if c.dial_in_flight() => c.on_refused(None).into(),
            Inner::ConfirmDialing(c) if c.dial_in_flight() => c.on_refused(None).into(),
            // PLANTED BUG: a cold-start 4401 revokes.
            Inner::Handshaking(mut c)
                if planted!(c.link, ColdStart4401Revokes)
                    && code == Some(revocation::CLOSE_UNAUTHORIZED)
                    && !c.link.ever_served =>
            {
                c.link.lose_socket(code, reason, false);
                Inner::Revoked(c.into_revoked())
            }
            Inner::Handshaking(c) => c.on_closed(code, reason).into(),
            Inner::ConfirmHandshaking(c) => c.on_closed(code, reason).into(),
            Inner::Serving(c) => c.on_closed(code, reason).into(),
            Inner::GoingIdle(c) => c.on_closed(code, reason).into(),
            Inner::Buffered(c) if c.socket_open() => c.on_closed(code, reason).into(),
            other => other,
        }
    }

    fn on_message(mut self, message: Unread<'_>) -> Self {
        let mut rest = self.link().admit_message(message);
        loop {
            self = match self {
                Inner::Handshaking(mut c) => {
                    let s = c.link.read_lines(&mut rest);
                    if s.too_large {
                        return Inner::Dialing(c.abandon(CLOSE_TOO_BIG, "frame too large"));
                    }
                    if s.deliveries_full {
                        return Inner::Dialing(c.abandon(CLOSE_TRY_AGAIN_LATER, TOO_MANY_UNACKED));
                    }
                    if !s.first_descriptor {
                        return Inner::Handshaking(c);
                    }
                    Inner::Serving(c.on_descriptor())
                }
                Inner::ConfirmHandshaking(mut c) => {
                    let s = c.link.read_lines(&mut rest);
                    if s.too_large {
                        return Inner::ConfirmDialing(c.abandon(CLOSE_TOO_BIG, "frame too large"));
                    }
                    if s.deliveries_full {
                        return Inner::ConfirmDialing(
                            c.abandon(CLOSE_TRY_AGAIN_LATER, TOO_MANY_UNACKED),
                        );
                    }
                    if !s.first_descriptor {
                        return Inner::ConfirmHandshaking(c);
                    }
                    Inner::Serving(c.on_descriptor())
                }
                Inner::Serving(mut c) => {
                    let s = c.link.read_lines(&mut rest);
                    if s.too_large {
                        return Inner::Dialing(c.abandon(CLOSE_TOO_BIG, "frame too large"));
                    }
                    if s.deliveries_full {
                        return Inner::Dialing(c.abandon(CLOSE_TRY_AGAIN_LATER, TOO_MANY_UNACKED));
                    }
                    if s.idle_ack {
                        return Inner::Dialing(c.on_late_idle_ack());
                    }
                    // Only a connection's first descriptor pauses the reader,
                    // and that one moved us here: everything is read.
                    return Inner::Serving(c);
                }
                Inner::GoingIdle(mut c) => {
                    let s = c.link.read_lines(&mut rest);
                    if s.too_large || s.deliveries_full {
                        c.link.event(Event::IdleRefused {
                            reason: IdleRefusal::ConnectionLost,
                        });
                        let (code, reason) = if s.too_large {
                            (CLOSE_TOO_BIG, "frame too large")
                        } else {
                            (CLOSE_TRY_AGAIN_LATER, TOO_MANY_UNACKED)
                        };
                        return Inner::Dialing(c.into_serving().abandon(code, reason));
                    }
                    if s.idle_ack {
                        return Inner::Buffered(c.on_idle_ack());
                    }
                    return Inner::GoingIdle(c);
                }
                Inner::Buffered(mut c) if c.socket_open() => {
                    let s = c.link.read_lines(&mut rest);
                    if s.too_large {
                        return Inner::Dialing(c.abandon(CLOSE_TOO_BIG, "frame too large"));
                    }
                    return Inner::Buffered(c);
                }
                other => return other,
            };
        }
    }

    fn on_timeout(self) -> Self {
        match self {
            Inner::Dialing(c) => Inner::Dialing(c.on_timeout()),
            Inner::ConfirmDialing(c) => Inner::ConfirmDialing(c.on_timeout()),
            Inner::Handshaking(mut c) => {
                if c.link.run_socket_timers() {
                    Inner::Dialing(c.abandon(CLOSE_ABNORMAL, "keepalive timeout"))
                } else if c.handshake_expired() {
                    Inner::Dialing(c.on_handshake_timeout())
                } else {
                    Inner::Handshaking(c)
                }
            }
            Inner::ConfirmHandshaking(mut c) => {
                if c.link.run_socket_timers() {
                    Inner::ConfirmDialing(c.abandon(CLOSE_ABNORMAL, "keepalive timeout"))
                } else if c.handshake_expired() {
                    Inner::ConfirmDialing(c.on_handshake_timeout())
                } else {
                    Inner::ConfirmHandshaking(c)
                }
            }
            Inner::Serving(mut c) => {
                if c.link.run_socket_timers() {
                    Inner::Dialing(c.on_keepalive_timeout())
                } else {
                    Inner::Serving(c)
                }
            }
            Inner::GoingIdle(mut c) => {
                if c.link.run_socket_timers() {
                    c.link.event(Event::IdleRefused {
                        reason: IdleRefusal::ConnectionLost,
                    });
                    Inner::Dialing(c.into_serving().on_keepalive_timeout())
                } else if c.idle_ack_expired() {
                    Inner::Serving(c.on_idle_ack_timeout())
                } else {
                    Inner::GoingIdle(c)
                }
            }
            Inner::Buffered(mut c) if c.socket_open() => {
                if c.link.run_socket_timers() {
                    Inner::Dialing(c.abandon(CLOSE_ABNORMAL, "keepalive timeout"))
                } else {
                    Inner::Buffered(c)
                }
            }
            Inner::Buffered(mut c) => {
                if c.dormant_due() {
                    Inner::Dialing(c.wake())
                } else {
                    Inner::Buffered(c)
                }
            }
            terminal @ (Inner::Revoked(_) | Inner::Closed(_)) => terminal,
        }
    }

    fn shutdown(self) -> Self {
        match self {
            Inner::Dialing(c) => Inner::Closed(c.shutdown()),
            Inner::ConfirmDialing(c) => Inner::Closed(c.shutdown()),
            Inner::Handshaking(c) => Inner::Closed(c.shutdown()),
            Inner::ConfirmHandshaking(c) => Inner::Closed(c.shutdown()),
            Inner::Serving(c) => Inner::Closed(c.shutdown()),
            Inner::GoingIdle(c) => Inner::Closed(c.shutdown()),
            Inner::Buffered(c) => Inner::Closed(c.shutdown()),
            terminal @ (Inner::Revoked(_) | Inner::Closed(_)) => terminal,
        }
    }
}

/// The runtime wrapper drivers hold: the current typed state behind one
/// uniform API. See the [module docs](self) for the loop contract.
#[derive(Debug)]
pub struct Connection {
    inner: Option<Inner>,
}

impl Connection {
    /// A new link; its first output is the dial. A config whose relay URL
    /// does not parse (only one assembled field by field can have one)
    /// reports [`Event::ConfigRejected`] and is `Closed` at once, without a
    /// dial.
    pub fn new(config: RelayConfig, seed: u64, now: Instant, wall: UnixTime) -> Self {
        let c = RelayConnection::new(config, seed, now, wall);
        let inner = if c.link.undialable() {
            Inner::Closed(c.shutdown())
        } else {
            Inner::Dialing(c)
        };
        Connection { inner: Some(inner) }
    }

    /// A new link that makes the deliberate mistake `bug` (feature
    /// `planted-bugs`); with [`PlantedBug::None`] it is [`Connection::new`].
    #[cfg(feature = "planted-bugs")]
    pub fn with_planted_bug(
        config: RelayConfig,
        seed: u64,
        now: Instant,
        wall: UnixTime,
        bug: PlantedBug,
    ) -> Self {
        let mut c = Connection::new(config, seed, now, wall);
        if let Some(inner) = c.inner.as_mut() {
            inner.link_mut().planted = bug;
        }
        c
    }

    /// Runs `f` on the owned state and puts the result back. `inner` is only
    /// `None` inside `f`, which cannot panic, so it is always `Some` here.
    fn step(&mut self, now: Instant, f: impl FnOnce(Inner) -> Inner) {
        if let Some(mut inner) = self.inner.take() {
            inner.tick(now);
            self.inner = Some(f(inner));
        }
    }

    fn with_inner<T>(&self, f: impl FnOnce(&Inner) -> T) -> Option<T> {
        self.inner.as_ref().map(f)
    }

    /// Feeds one socket event or timer expiry.
    pub fn handle_input(&mut self, input: Input<'_>, now: Instant) {
        match input {
            Input::Opened => self.step(now, Inner::on_opened),
            Input::DialFailed { http_status, .. } => self.step(now, |i| i.on_refused(http_status)),
            Input::Message(bytes) => self.step(now, |i| i.on_message(Unread::Bytes(bytes))),
            Input::Text(text) => self.step(now, |i| i.on_message(Unread::Text(text))),
            Input::Closed { code, reason } => self.step(now, |i| i.on_closed(code, &reason)),
            Input::Pong => self.step(now, |mut i| {
                i.link_mut().on_pong();
                i
            }),
            Input::Timeout => self.step(now, Inner::on_timeout),
        }
    }

    /// The next thing to do; `Output::Wait` once drained.
    pub fn poll_output(&mut self) -> Output {
        match self.inner.as_mut() {
            Some(inner) => each!(inner, c => c.poll_output()),
            None => Output::Wait(None),
        }
    }

    /// Hands back the message of an [`Event::Inbound`] the application is
    /// done with: the next inbound messages are decoded into its box and
    /// text buffers, so that a steady stream decodes without allocating.
    /// Optional, and bounded (see [`crate::recycle`]); changes nothing the
    /// application can observe but allocations.
    pub fn recycle(&mut self, event: Box<MessageEvent>) {
        if let Some(inner) = self.inner.as_mut() {
            inner.link_mut().pool.recycle(event);
        }
    }

    /// [`recycle`](Self::recycle) for every message of `pool` (collected
    /// elsewhere, for example on the application's thread), which is left
    /// empty.
    pub fn recycle_all(&mut self, pool: &mut EventPool) {
        match self.inner.as_mut() {
            Some(inner) => inner.link_mut().pool.append(pool),
            None => pool.clear(),
        }
    }

    /// Frees the memory of queues that are empty now (the output queue, the
    /// buffer of partial lines, the messages handed back with
    /// [`recycle`](Self::recycle)). For a driver whose link went quiet after
    /// the handshake, whose bursts left room reserved that an idle
    /// connection does not need. Changes nothing else.
    pub fn release_idle_memory(&mut self) {
        if let Some(inner) = self.inner.as_mut() {
            inner.link_mut().release_idle_memory();
        }
    }

    /// Sends an action. Its result arrives as [`Event::Response`] or
    /// [`Event::RequestFailed`]; refusals (not connected, op not advertised)
    /// are immediate and send nothing.
    pub fn send(&mut self, action: Action, now: Instant) -> Result<RequestId, SendError> {
        let Some(inner) = self.inner.as_mut() else {
            return Err(SendError::NotConnected {
                state: State::Closed,
            });
        };
        inner.tick(now);
        match inner {
            Inner::Serving(c) => c.send(action),
            Inner::GoingIdle(c) => c.send(action),
            Inner::Buffered(c) => c.send(action),
            other => Err(SendError::NotConnected {
                state: other.state(),
            }),
        }
    }

    /// Sends a fire-and-forget `interrupt` for `session_key`.
    pub fn interrupt(
        &mut self,
        session_key: impl Into<String>,
        reason: Option<String>,
        now: Instant,
    ) -> Result<(), SendError> {
        let Some(inner) = self.inner.as_mut() else {
            return Err(SendError::NotConnected {
                state: State::Closed,
            });
        };
        inner.tick(now);
        match inner {
            Inner::Serving(c) => c.interrupt(session_key.into(), reason),
            Inner::GoingIdle(c) => c.interrupt(session_key.into(), reason),
            Inner::Buffered(c) if c.socket_open() => {
                c.interrupt(session_key.into(), reason);
            }
            other => {
                return Err(SendError::NotConnected {
                    state: other.state(),
                });
            }
        }
        Ok(())
    }

    /// Asks the connector to buffer for us (`Serving` only); after the ack
    /// the link does what [`RelayConfig::effective_idle_mode`] says.
    pub fn go_idle(&mut self, now: Instant) -> Result<(), CommandError> {
        let mode = self
            .config()
            .map_or(IdleMode::Dormant, RelayConfig::effective_idle_mode);
        self.go_idle_with(mode, now)
    }

    /// Asks the connector to buffer for us (`Serving` only); after the ack
    /// the link does what `mode` says, whatever the configuration.
    pub fn go_idle_with(&mut self, mode: IdleMode, now: Instant) -> Result<(), CommandError> {
        let state = self.state();
        if state != State::Serving {
            return Err(serving::go_idle_refused(state));
        }
        self.step(now, |i| match i {
            Inner::Serving(c) => Inner::GoingIdle(c.go_idle(mode)),
            other => other,
        });
        Ok(())
    }

    /// Whether a socket is open (or being opened) for this link: true while
    /// handshaking, serving and going idle, and while buffered after an
    /// [`IdleMode::Keep`] idle.
    pub fn socket_open(&self) -> bool {
        self.with_inner(|i| i.link().socket_live()).unwrap_or(false)
    }

    /// Dials now if `Buffered` (closing a kept socket first); a no-op in live
    /// states; refused once terminal.
    pub fn wake(&mut self, now: Instant) -> Result<(), CommandError> {
        let state = self.state();
        if state.is_terminal() {
            return Err(CommandError::InvalidState {
                command: "wake",
                state,
            });
        }
        self.step(now, |i| match i {
            Inner::Buffered(c) => Inner::Dialing(c.wake()),
            other => other,
        });
        Ok(())
    }

    /// The application durably took over a buffered delivery: `inbound_ack`
    /// is sent now (or on its redelivery if no socket is open).
    pub fn ack(&mut self, delivery: DeliveryHandle, now: Instant) -> Result<(), CommandError> {
        match self.inner.as_mut() {
            Some(inner) => {
                inner.tick(now);
                inner.link_mut().ack(delivery)
            }
            None => Err(CommandError::UnknownDelivery {
                buffer_id: delivery.buffer_id.0,
            }),
        }
    }

    /// Deliberate shutdown: fails pending requests, closes with 1000, never
    /// dials again. Idempotent.
    pub fn shutdown(&mut self, now: Instant) {
        self.step(now, Inner::shutdown);
    }

    /// Re-anchors the wall clock used to mint tokens (call it now and then if
    /// the monotonic and wall clocks may drift apart).
    pub fn set_wall_clock(&mut self, now: Instant, wall: UnixTime) {
        if let Some(inner) = self.inner.as_mut() {
            inner.link_mut().set_wall_clock(now, wall);
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.with_inner(Inner::state).unwrap_or(State::Closed)
    }

    /// Whether the link can never leave its state (revoked or shut down).
    pub fn is_terminal(&self) -> bool {
        self.state().is_terminal()
    }

    /// Whether the link is re-dialing to confirm a possible revocation.
    pub fn is_confirming_revocation(&self) -> bool {
        matches!(
            self.inner,
            Some(Inner::ConfirmDialing(_) | Inner::ConfirmHandshaking(_))
        )
    }

    /// The descriptor for `platform`, or the default (first) one for `None`.
    pub fn descriptor(&self, platform: Option<&str>) -> Option<&CapabilityDescriptor> {
        self.inner
            .as_ref()
            .and_then(|i| i.link().descriptor(platform))
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.with_inner(|i| i.link().stats).unwrap_or_default()
    }

    /// Requests in flight.
    pub fn pending_requests(&self) -> usize {
        self.with_inner(|i| i.link().pending_requests())
            .unwrap_or(0)
    }

    /// The configuration.
    pub fn config(&self) -> Option<&RelayConfig> {
        self.inner.as_ref().map(|i| i.link().config())
    }
}
