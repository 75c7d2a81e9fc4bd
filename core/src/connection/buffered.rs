//! `Buffered`: the connector buffers our inbound. Either no socket is open
//! (`wake()` or the dormant cadence dials again), or, after an
//! [`IdleMode::Keep`](crate::config::IdleMode::Keep) idle, the socket is
//! kept: frames that still arrive are served, requests may still be sent,
//! and `wake()` closes it (1000) and re-dials at once. Either way the
//! connector drains after the next handshake.

use super::in_state::InState;
use super::states::{Buffered, Dialing, Ordinary};
use super::types::{CLOSE_NORMAL, SendError, State};
use crate::request_id::RequestId;
use crate::wire::Action;

impl InState<Buffered> {
    /// Dial now (closing a kept socket first).
    pub(super) fn wake(mut self) -> InState<Dialing<Ordinary>> {
        if self.state.socket {
            self.shared.lose_socket(Some(CLOSE_NORMAL), "wake", true);
        }
        let d: InState<Dialing<Ordinary>> = self.into_state(Dialing::new());
        d.dial_now()
    }

    /// Whether the dormant re-dial is due.
    pub(super) fn dormant_due(&mut self) -> bool {
        self.shared.dial_due()
    }

    /// Whether the socket is kept open.
    pub(super) fn socket_open(&self) -> bool {
        self.state.socket
    }

    /// Sends an action on the kept socket (`NotConnected` without one).
    pub(super) fn send(
        &mut self,
        action: Action,
        platform: Option<&str>,
    ) -> Result<RequestId, SendError> {
        if !self.state.socket {
            return Err(SendError::NotConnected {
                state: State::Buffered,
            });
        }
        self.shared.send_request(action, platform)
    }

    /// Sends a fire-and-forget interrupt on the kept socket; false without
    /// one.
    pub(super) fn interrupt(&mut self, session_key: String, reason: Option<String>) -> bool {
        if self.state.socket {
            self.shared.send_interrupt(session_key, reason);
        }
        self.state.socket
    }
}
