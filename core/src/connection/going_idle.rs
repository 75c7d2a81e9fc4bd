//! `GoingIdle`: `going_idle` was sent; we keep serving until the connector
//! acks it (then enter `Buffered` as the [`IdleMode`] says: keep the socket,
//! or close it and wait for a wake or re-dial on the dormant cadence) or the
//! ack deadline passes (then stay serving and report `IdleRefused`). The
//! socket is never closed by us in between.

use super::in_state::InState;
use super::outcomes::{AfterServingClose, after_serving_close};
use super::states::{Buffered, GoingIdle, Serving};
use super::types::{CLOSE_NORMAL, Event, IdleRefusal};
use crate::config::IdleMode;
use crate::timer::Timer;

impl InState<GoingIdle> {
    /// The connector flipped us to buffered: keep the socket
    /// ([`IdleMode::Keep`]) or close it, and with [`IdleMode::Dormant`]
    /// schedule the re-dial.
    pub(super) fn on_idle_ack(mut self) -> InState<Buffered> {
        let mode = self.state.mode;
        let confirming = self.state.confirming;
        if mode == IdleMode::Keep {
            self.shared.timers.stop(Timer::IdleAck);
            return self.into_state(Buffered::with_socket(confirming));
        }
        self.shared
            .lose_socket(Some(CLOSE_NORMAL), "going idle", true);
        if mode == IdleMode::Dormant {
            let every = self.shared.config().dormant_redial_every();
            self.shared.schedule_dial_in(every);
        }
        self.into_state(Buffered::new())
    }

    /// Whether the ack deadline passed.
    pub(super) fn idle_ack_expired(&mut self) -> bool {
        let now = self.shared.now();
        self.shared.timers.expire(Timer::IdleAck, now)
    }

    /// No ack in time: stay serving, connected.
    pub(super) fn on_idle_ack_timeout(mut self) -> InState<Serving> {
        self.shared.event(Event::IdleRefused {
            reason: IdleRefusal::AckTimeout,
        });
        self.into_serving()
    }

    /// The socket closed before the ack.
    pub(super) fn on_closed(mut self, code: Option<u16>, reason: &str) -> AfterServingClose {
        self.shared.event(Event::IdleRefused {
            reason: IdleRefusal::ConnectionLost,
        });
        let confirming = self.state.confirming;
        after_serving_close(self, code, reason, confirming)
    }

    /// Back to plain serving (used when the socket must be abandoned).
    pub(super) fn into_serving(self) -> InState<Serving> {
        let confirming = self.state.confirming;
        self.into_state(Serving { confirming })
    }
}
