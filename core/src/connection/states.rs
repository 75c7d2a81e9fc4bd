//! The typed states of a connection. Each state is its own type, and
//! `Dialing` and `Handshaking` carry a phase ([`Ordinary`] or
//! [`Confirming`]), so a transition can only return the states it may
//! legally lead to (see `in_state.rs` and the per-state files).

use core::marker::PhantomData;

use super::types::State;
use crate::config::IdleMode;

/// Phase marker: an ordinary dial or handshake.
#[derive(Debug)]
pub(crate) struct Ordinary;

/// Phase marker: the fresh-token re-dial that confirms a possible revocation.
#[derive(Debug)]
pub(crate) struct Confirming;

/// The two phases of `Dialing` and `Handshaking`.
pub(crate) trait Phase {
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
pub(crate) trait TypedState {
    /// The runtime name of the state.
    const STATE: State;
}

/// States a connection can still leave (everything but `Revoked` and `Closed`).
pub(crate) trait Live: TypedState {}

/// States in which requests and interrupts may be sent: `Serving` and
/// `GoingIdle` (which keeps serving until the connector's ack).
pub(crate) trait Sends: TypedState {}
impl Sends for Serving {}
impl Sends for GoingIdle {}

/// Waiting to dial (a backoff or immediate dial is scheduled), or waiting for
/// the upgrade's outcome once the dial was emitted. `P` is [`Ordinary`] or,
/// while a possible revocation is being confirmed, [`Confirming`].
#[derive(Debug)]
pub(crate) struct Dialing<P> {
    pub(super) in_flight: bool,
    _phase: PhantomData<P>,
}

impl<P> Dialing<P> {
    pub(super) fn new() -> Self {
        Dialing {
            in_flight: false,
            _phase: PhantomData,
        }
    }
}

/// Socket open, hellos sent, no descriptor yet. `P` is [`Ordinary`] or
/// [`Confirming`] (this connection is the fresh-token re-dial that confirms a
/// possible revocation).
#[derive(Debug)]
pub(crate) struct Handshaking<P> {
    _phase: PhantomData<P>,
}

impl<P> Handshaking<P> {
    pub(super) fn new() -> Self {
        Handshaking {
            _phase: PhantomData,
        }
    }
}

/// Serving: requests, interrupts and deliveries flow.
#[derive(Debug)]
pub(crate) struct Serving {
    /// This connection is the confirming re-dial after a 4401: a 4401 on it
    /// revokes (see `revocation`).
    pub(super) confirming: bool,
}

impl Serving {
    pub(super) fn new() -> Self {
        Serving { confirming: false }
    }

    pub(super) fn confirming() -> Self {
        Serving { confirming: true }
    }
}

/// Waiting for `going_idle_ack`, still serving.
#[derive(Debug)]
pub(crate) struct GoingIdle {
    pub(super) confirming: bool,
    pub(super) mode: IdleMode,
}

impl GoingIdle {
    pub(super) fn new(confirming: bool, mode: IdleMode) -> Self {
        GoingIdle { confirming, mode }
    }
}

/// A state past a descriptor whose socket, when it closes or is given up,
/// follows the close rules of a serving connection (`outcomes.rs`):
/// `Serving`, and `Buffered` with its socket kept.
pub(crate) trait Served: TypedState {
    /// Its connection is the confirming re-dial after a 4401.
    fn is_confirming(&self) -> bool;
}

impl Served for Serving {
    fn is_confirming(&self) -> bool {
        self.confirming
    }
}

impl Served for Buffered {
    fn is_confirming(&self) -> bool {
        self.confirming
    }
}

/// Idle: the connector buffers for us.
#[derive(Debug)]
pub(crate) struct Buffered {
    /// The socket is kept open (idle mode `Keep`).
    pub(super) socket: bool,
    /// The kept socket is the confirming re-dial after a 4401.
    pub(super) confirming: bool,
}

impl Buffered {
    pub(super) fn new() -> Self {
        Buffered {
            socket: false,
            confirming: false,
        }
    }

    pub(super) fn with_socket(confirming: bool) -> Self {
        Buffered {
            socket: true,
            confirming,
        }
    }
}

/// Shutting down with requests in flight: the socket stays open (their
/// results still resolve them, inbound is still handed over) until none is
/// left or the drain deadline ([`Timer::Drain`](crate::timer::Timer::Drain))
/// passes; then it closes with 1000.
#[derive(Debug)]
pub(crate) struct Closing;

/// The credential was revoked. Terminal: no method leads anywhere.
#[derive(Debug)]
pub(crate) struct Revoked;

/// Shut down by the application. Terminal.
#[derive(Debug)]
pub(crate) struct Closed;

macro_rules! typed_state {
    ($($ty:ty => $state:ident, $live:tt;)*) => {$(
        impl<P: Phase> TypedState for $ty { const STATE: State = State::$state; }
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
    Closing => Closing, live;
    Revoked => Revoked, terminal;
    Closed => Closed, terminal;
}
