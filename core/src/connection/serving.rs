//! `Serving`: the descriptor arrived; frames flow both ways.

use super::in_state::InState;
use super::states::{Dialing, GoingIdle, Ordinary, Sends, Serving};
use super::types::{CLOSE_ABNORMAL, CLOSE_NORMAL, CommandError, SendError, State};
use crate::config::IdleMode;
use crate::request_id::RequestId;
use crate::wire::Action;

impl<S: Sends> InState<S> {
    /// Sends an action; its result arrives as an event.
    pub(super) fn send(
        &mut self,
        action: Action,
        platform: Option<&str>,
    ) -> Result<RequestId, SendError> {
        self.shared.send_request(action, platform)
    }

    /// Sends a fire-and-forget interrupt.
    pub(super) fn interrupt(&mut self, session_key: String, reason: Option<String>) {
        self.shared.send_interrupt(session_key, reason);
    }
}

impl InState<Serving> {
    /// Asks the connector to buffer for us; keeps serving until the ack,
    /// then does what `mode` says.
    pub(super) fn go_idle(mut self, mode: IdleMode) -> InState<GoingIdle> {
        self.shared.send_going_idle();
        let confirming = self.state.confirming;
        self.into_state(GoingIdle::new(confirming, mode))
    }

    /// A `going_idle_ack` arrived after its deadline (we already reported
    /// `IdleRefused` and kept serving). The connector has flipped us to
    /// buffered and will push nothing more on this socket, so close it and
    /// re-dial at once: the new handshake drains the buffer and clears the
    /// flip. Not a failure, so no backoff.
    pub(super) fn on_late_idle_ack(mut self) -> InState<Dialing<Ordinary>> {
        self.shared
            .lose_socket(Some(CLOSE_NORMAL), "late idle ack", true);
        let d: InState<Dialing<Ordinary>> = self.into_state(Dialing::new());
        d.dial_now()
    }

    /// The pong deadline passed: abort the transport.
    pub(super) fn on_keepalive_timeout(self) -> InState<Dialing<Ordinary>> {
        self.abandon(CLOSE_ABNORMAL, "keepalive timeout")
    }
}

/// `go_idle` is only possible from `Serving`.
pub(super) fn go_idle_refused(state: State) -> CommandError {
    CommandError::InvalidState {
        command: "go_idle",
        state,
    }
}
