//! `GoingIdle`: `going_idle` was sent; we keep serving until the connector
//! acks it (then enter `Buffered` as the [`IdleMode`] says: keep the socket,
//! or close it and wait for a wake or re-dial on the dormant cadence) or the
//! ack deadline passes (then stay serving and report `IdleRefused`). The
//! socket is never closed by us in between.

use super::link::CLOSE_NORMAL;
use super::serving::{AfterServingClose, after_serving_close};
use super::{Buffered, Event, IdleRefusal, RelayConnection, SendError, Serving};
use crate::config::IdleMode;
use crate::request_id::RequestId;
use crate::timer::Timer;
use crate::wire::Action;

/// Waiting for `going_idle_ack`, still serving.
#[derive(Debug)]
pub struct GoingIdle {
    confirming: bool,
    mode: IdleMode,
}

impl GoingIdle {
    pub(crate) fn new(confirming: bool, mode: IdleMode) -> Self {
        GoingIdle { confirming, mode }
    }

    /// What happens on the ack.
    pub fn mode(&self) -> IdleMode {
        self.mode
    }
}

impl RelayConnection<GoingIdle> {
    /// Sends an action (still legal while waiting for the ack).
    pub fn send(&mut self, action: Action) -> Result<RequestId, SendError> {
        self.link.send_request(action)
    }

    /// Sends a fire-and-forget interrupt.
    pub fn interrupt(&mut self, session_key: String, reason: Option<String>) {
        self.link.send_interrupt(session_key, reason);
    }

    /// The connector flipped us to buffered: keep the socket
    /// ([`IdleMode::Keep`]) or close it, and with [`IdleMode::Dormant`]
    /// schedule the re-dial.
    pub fn on_idle_ack(mut self) -> RelayConnection<Buffered> {
        let mode = self.state.mode;
        let confirming = self.state.confirming;
        if mode == IdleMode::Keep {
            self.link.timers.stop(Timer::IdleAck);
            return self.into_state(Buffered::with_socket(confirming));
        }
        self.link
            .lose_socket(Some(CLOSE_NORMAL), "going idle", true);
        if mode == IdleMode::Dormant {
            let every = self.link.config().dormant_redial_every();
            self.link.schedule_dial_in(every);
        }
        self.into_state(Buffered::new())
    }

    /// Whether the ack deadline passed.
    pub fn idle_ack_expired(&mut self) -> bool {
        let now = self.link.now();
        self.link.timers.expire(Timer::IdleAck, now)
    }

    /// No ack in time: stay serving, connected.
    pub fn on_idle_ack_timeout(mut self) -> RelayConnection<Serving> {
        self.link.event(Event::IdleRefused {
            reason: IdleRefusal::AckTimeout,
        });
        self.into_serving()
    }

    /// The socket closed before the ack.
    pub fn on_closed(mut self, code: Option<u16>, reason: &str) -> AfterServingClose {
        self.link.event(Event::IdleRefused {
            reason: IdleRefusal::ConnectionLost,
        });
        let confirming = self.state.confirming;
        after_serving_close(self, code, reason, confirming)
    }

    /// Back to plain serving (used when the socket must be abandoned).
    pub(crate) fn into_serving(self) -> RelayConnection<Serving> {
        let confirming = self.state.confirming;
        self.into_state(Serving { confirming })
    }
}
