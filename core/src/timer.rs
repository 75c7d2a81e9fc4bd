//! Named deadlines. The core never sleeps: it reports the earliest deadline in
//! `Output::Wait`, and the driver calls back with `Input::Timeout` once it has
//! passed.

use crate::time::Instant;

/// Every timer the connection runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// The next dial (backoff, immediate re-dial, or the dormant cadence).
    Dial,
    /// No descriptor yet after the socket opened.
    Handshake,
    /// No `going_idle_ack` yet.
    IdleAck,
    /// Time to send the next ping.
    Keepalive,
    /// No pong since the oldest unanswered ping.
    PongDeadline,
    /// The end of a shutdown's drain.
    Drain,
}

impl Timer {
    const ALL: [Timer; 6] = [
        Timer::Dial,
        Timer::Handshake,
        Timer::IdleAck,
        Timer::Keepalive,
        Timer::PongDeadline,
        Timer::Drain,
    ];

    fn index(self) -> usize {
        match self {
            Timer::Dial => 0,
            Timer::Handshake => 1,
            Timer::IdleAck => 2,
            Timer::Keepalive => 3,
            Timer::PongDeadline => 4,
            Timer::Drain => 5,
        }
    }
}

/// A fixed-size table of optional deadlines, one per [`Timer`].
#[derive(Clone, Debug, Default)]
pub(crate) struct TimerTable {
    slots: [Option<Instant>; 6],
}

impl TimerTable {
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.slots[timer.index()] = Some(at);
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        self.slots[timer.index()] = None;
    }

    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.slots[timer.index()]
    }

    pub(crate) fn is_armed(&self, timer: Timer) -> bool {
        self.get(timer).is_some()
    }

    /// Disarms `timer` and reports whether it had expired by `now`.
    pub(crate) fn expire(&mut self, timer: Timer, now: Instant) -> bool {
        match self.get(timer) {
            Some(at) if at <= now => {
                self.stop(timer);
                true
            }
            _ => false,
        }
    }

    pub(crate) fn clear(&mut self) {
        self.slots = [None; 6];
    }

    /// The earliest armed deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        Timer::ALL.iter().filter_map(|t| self.get(*t)).min()
    }
}
