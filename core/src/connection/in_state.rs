//! [`InState<S>`]: a connection in the typed state `S`, holding what every
//! state shares; the moves every state can make (a state change,
//! revocation; shutdown is in `closing.rs`).

use super::shared::Shared;
use super::states::{Dialing, Ordinary, Revoked, TypedState};
use super::types::{Event, RequestError, State};
use crate::config::RelayConfig;
use crate::time::{Instant, UnixTime};

/// One connection in typed state `S`, with what every state shares.
#[derive(Debug)]
pub(crate) struct InState<S> {
    pub(super) shared: Box<Shared>,
    pub(super) state: S,
}

impl InState<Dialing<Ordinary>> {
    /// A new connection that dials at once. `seed` feeds request ids and
    /// backoff jitter; `now` and `wall` anchor the monotonic and wall
    /// clocks. A relay URL that does not parse gives
    /// [`Event::ConfigRejected`] instead of a dial, and no timer (the public
    /// `Connection::new` then closes it).
    pub(super) fn new(config: RelayConfig, seed: u64, now: Instant, wall: UnixTime) -> Self {
        let shared = Box::new(Shared::new(config, seed, now, wall));
        InState {
            shared,
            state: Dialing::new(),
        }
        .dial_now()
    }
}

impl<S: TypedState> InState<S> {
    /// The runtime name of this state.
    pub(super) fn state(&self) -> State {
        S::STATE
    }

    /// Moves to `next`, reporting the change.
    pub(super) fn into_state<T: TypedState>(mut self, next: T) -> InState<T> {
        self.shared.state_changed(S::STATE, T::STATE);
        InState {
            shared: self.shared,
            state: next,
        }
    }

    /// Terminal revocation: every timer cancelled, nothing in flight.
    pub(super) fn into_revoked(mut self) -> InState<Revoked> {
        self.shared.fail_all(RequestError::ConnectionLost);
        self.shared.stop_everything();
        self.shared.event(Event::Revoked);
        let mut revoked = self.into_state(Revoked);
        if planted!(revoked.shared, RedialAfterRevoked) {
            revoked.shared.dial(); // PLANTED BUG: a dial after Revoked
        }
        revoked
    }
}
