//! What happens on shutdown — every rule in one place.
//!
//! 1. **Nothing in flight, or no socket** (dialing, handshaking, buffered
//!    without a socket), **or a zero budget**: close at once. Requests
//!    still pending (none without a socket) fail with `Shutdown`; the socket
//!    closes with 1000; the link is `Closed`.
//! 2. **Requests in flight on a live socket**: the link enters `Closing`
//!    for at most the drain budget ([`Timeouts::shutdown_drain`], 5 s by
//!    default; a tighter budget passed to the shutdown wins). New sends
//!    and interrupts are refused at once ([`SendError::Closing`]) and never
//!    written. The socket stays open: results that arrive resolve their
//!    requests as usual, and inbound frames are still handed over (and may
//!    be acked).
//! 3. **The last result arrives**: close at once with 1000.
//! 4. **The drain deadline passes**: what is still pending fails with
//!    `Shutdown` (ambiguous: the frames were written), then close 1000.
//! 5. **The socket ends during the drain** (the peer closes, a keepalive
//!    times out, an over-long line): what is pending fails with
//!    `ConnectionLost` (ambiguous), and the link is `Closed`: a shutdown
//!    never re-dials.
//! 6. A second shutdown during the drain only tightens its deadline.
//!
//! [`Timeouts::shutdown_drain`]: crate::config::Timeouts::shutdown_drain
//! [`SendError::Closing`]: super::SendError::Closing

use core::time::Duration;

use super::in_state::InState;
use super::receiving::ReadSignals;
use super::states::{Buffered, Closed, Closing, GoingIdle, Live, Serving};
use super::types::{CLOSE_ABNORMAL, CLOSE_NORMAL, RequestError};
use crate::timer::Timer;

/// Where a shutdown leads.
#[derive(Debug)]
pub(crate) enum AfterShutdown {
    /// Draining the requests in flight.
    Closing(InState<Closing>),
    /// Closed at once.
    Closed(InState<Closed>),
}

/// The states a drain may start from: those that can have requests in
/// flight on a live socket.
pub(crate) trait Drainable: Live {}
impl Drainable for Serving {}
impl Drainable for GoingIdle {}
impl Drainable for Buffered {}

impl<S: Live> InState<S> {
    /// Rule 1: fails what is pending with `Shutdown`, closes with 1000,
    /// never dials again.
    pub(super) fn close_now(mut self) -> InState<Closed> {
        self.shared.fail_all(RequestError::Shutdown);
        self.shared
            .lose_socket(Some(CLOSE_NORMAL), "shutdown", true);
        self.shared.stop_everything();
        self.into_state(Closed)
    }
}

impl<S: Drainable> InState<S> {
    /// Rules 1 and 2: drain within `budget` (already clamped to the
    /// configured one) when requests are in flight on a live socket, else
    /// close at once.
    pub(super) fn shutdown(mut self, budget: Duration) -> AfterShutdown {
        if budget.is_zero() || !self.shared.socket_live() || self.shared.pending_requests() == 0 {
            return AfterShutdown::Closed(self.close_now());
        }
        let mut deadline = self.shared.now().saturating_add(budget);
        if planted!(self.shared, DrainPastBudget) {
            // PLANTED BUG: the drain outlasts its budget.
            deadline = self.shared.now().saturating_add(budget.saturating_mul(10));
        }
        // Only the socket's own timers keep running.
        for t in [Timer::Dial, Timer::Handshake, Timer::IdleAck] {
            self.shared.timers.stop(t);
        }
        self.shared.timers.set(Timer::Drain, deadline);
        AfterShutdown::Closing(self.into_state(Closing))
    }
}

impl InState<Closing> {
    /// Rule 6: a later shutdown may end the drain sooner.
    pub(super) fn tighten(mut self, budget: Duration) -> AfterShutdown {
        let deadline = self.shared.now().saturating_add(budget);
        let sooner = self
            .shared
            .timers
            .get(Timer::Drain)
            .is_none_or(|at| deadline < at);
        if sooner {
            self.shared.timers.set(Timer::Drain, deadline);
        }
        self.settle()
    }

    /// Rules 3 and 5 after a read: a socket the read gave up on ends the
    /// drain; otherwise it ends once nothing is pending.
    pub(super) fn after_read(mut self, signals: &ReadSignals) -> AfterShutdown {
        if let Some((code, reason)) = signals.close() {
            self.shared.lose_socket(Some(code), reason, true);
            return AfterShutdown::Closed(self.closed());
        }
        self.settle()
    }

    /// Rules 3, 4 and 5 on a timer: a keepalive that timed out, the drain
    /// deadline, or the last request expiring.
    pub(super) fn on_timeout(mut self) -> AfterShutdown {
        if self.shared.run_socket_timers() {
            self.shared
                .lose_socket(Some(CLOSE_ABNORMAL), "keepalive timeout", true);
            return AfterShutdown::Closed(self.closed());
        }
        let now = self.shared.now();
        if self.shared.timers.expire(Timer::Drain, now) {
            return AfterShutdown::Closed(self.close_now());
        }
        self.settle()
    }

    /// Rule 5: the peer closed the socket.
    pub(super) fn on_closed(mut self, code: Option<u16>, reason: &str) -> InState<Closed> {
        self.shared.lose_socket(code, reason, false);
        self.closed()
    }

    /// Rule 3: closes once nothing is pending (or the deadline passed).
    fn settle(self) -> AfterShutdown {
        let now = self.shared.now();
        let expired = self
            .shared
            .timers
            .get(Timer::Drain)
            .is_none_or(|at| at <= now);
        if self.shared.pending_requests() == 0 || expired {
            AfterShutdown::Closed(self.close_now())
        } else {
            AfterShutdown::Closing(self)
        }
    }

    /// The socket is gone (its requests failed with it): `Closed`.
    fn closed(mut self) -> InState<Closed> {
        self.shared.stop_everything();
        self.into_state(Closed)
    }
}
