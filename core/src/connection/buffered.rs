//! `Buffered`: the connector buffers our inbound. Either no socket is open
//! (`wake()` or the dormant cadence dials again), or, after an
//! [`IdleMode::Keep`](crate::config::IdleMode::Keep) idle, the socket is
//! kept: frames that still arrive are served, requests may still be sent,
//! and `wake()` closes it (1000) and re-dials at once. Either way the
//! connector drains after the next handshake.

use super::link::CLOSE_NORMAL;
use super::serving::{AfterServingClose, after_serving_close};
use super::{Dialing, Ordinary, RelayConnection, SendError};
use crate::request_id::RequestId;
use crate::wire::Action;

/// Idle: the connector buffers for us.
#[derive(Debug)]
pub struct Buffered {
    /// The socket is kept open (idle mode `Keep`).
    socket: bool,
    /// The kept socket is the confirming re-dial after a 4401.
    confirming: bool,
}

impl Buffered {
    pub(crate) fn new() -> Self {
        Buffered {
            socket: false,
            confirming: false,
        }
    }

    pub(crate) fn with_socket(confirming: bool) -> Self {
        Buffered {
            socket: true,
            confirming,
        }
    }

    /// Whether the socket is kept open while buffered.
    pub fn socket_open(&self) -> bool {
        self.socket
    }
}

impl RelayConnection<Buffered> {
    /// Dial now (closing a kept socket first).
    pub fn wake(mut self) -> RelayConnection<Dialing<Ordinary>> {
        if self.state.socket {
            self.link.lose_socket(Some(CLOSE_NORMAL), "wake", true);
        }
        let d: RelayConnection<Dialing<Ordinary>> = self.into_state(Dialing::new());
        d.dial_now()
    }

    /// Whether the dormant re-dial is due.
    pub fn dormant_due(&mut self) -> bool {
        self.link.dial_due()
    }

    /// Whether the socket is kept open.
    pub fn socket_open(&self) -> bool {
        self.state.socket
    }

    /// Sends an action on the kept socket (`NotConnected` without one).
    pub fn send(&mut self, action: Action) -> Result<RequestId, SendError> {
        if !self.state.socket {
            return Err(SendError::NotConnected {
                state: super::State::Buffered,
            });
        }
        self.link.send_request(action)
    }

    /// Sends a fire-and-forget interrupt on the kept socket; false without
    /// one.
    pub fn interrupt(&mut self, session_key: String, reason: Option<String>) -> bool {
        if self.state.socket {
            self.link.send_interrupt(session_key, reason);
        }
        self.state.socket
    }

    /// The kept socket closed: the rules of a serving connection apply
    /// (reconnect on the ladder, so the buffer drains; 4401 rules).
    pub fn on_closed(self, code: Option<u16>, reason: &str) -> AfterServingClose {
        let confirming = self.state.confirming;
        after_serving_close(self, code, reason, confirming)
    }

    /// Gives up on the kept socket (keepalive timeout, oversized frame).
    pub fn abandon(mut self, code: u16, reason: &str) -> RelayConnection<Dialing<Ordinary>> {
        self.link.lose_socket(Some(code), reason, true);
        self.link.schedule_backoff();
        self.into_state(Dialing::new())
    }
}
