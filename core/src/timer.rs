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

/// A fixed-size table of optional deadlines, one per [`Timer`]: the
/// deadlines beside one bit each for whether it is armed (48 B and a byte,
/// where six `Option<Instant>`s take 96 B in every connection).
#[derive(Clone, Debug, Default)]
pub(crate) struct TimerTable {
    /// Each timer's deadline; meaningful only while its bit is set.
    at: [Instant; 6],
    /// Bit `i` set: the timer of index `i` is armed.
    armed: u8,
}

impl TimerTable {
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.at[timer.index()] = at;
        self.armed |= 1 << timer.index();
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        self.armed &= !(1 << timer.index());
    }

    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        (self.armed & (1 << timer.index()) != 0).then(|| self.at[timer.index()])
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
        self.armed = 0;
    }

    /// The earliest armed deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        Timer::ALL.iter().filter_map(|t| self.get(*t)).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each timer is armed, read and stopped on its own; the earliest
    /// armed one is next, whatever the others held before.
    #[test]
    fn timers_are_independent() {
        let mut table = TimerTable::default();
        assert_eq!(table.next(), None);
        table.set(Timer::Keepalive, Instant::from_millis(30));
        table.set(Timer::Dial, Instant::from_millis(10));
        assert_eq!(table.next(), Some(Instant::from_millis(10)));
        table.stop(Timer::Dial);
        assert!(!table.is_armed(Timer::Dial));
        assert_eq!(table.get(Timer::Dial), None);
        assert_eq!(table.next(), Some(Instant::from_millis(30)));
        assert!(!table.expire(Timer::Keepalive, Instant::from_millis(29)));
        assert!(table.expire(Timer::Keepalive, Instant::from_millis(30)));
        assert_eq!(table.next(), None);
        table.set(Timer::Drain, Instant::ZERO);
        assert_eq!(table.get(Timer::Drain), Some(Instant::ZERO));
        table.clear();
        assert_eq!(table.next(), None);
        assert!(std::mem::size_of::<TimerTable>() <= 56);
    }
}
