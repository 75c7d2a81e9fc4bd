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
///
/// The earliest armed timer is kept up to date by every change, because it
/// is asked for after each output and timers change far less often.
#[derive(Clone, Debug, Default)]
pub(crate) struct TimerTable {
    /// Each timer's deadline; meaningful only while its bit is set.
    at: [Instant; 6],
    /// Bit `i` set: the timer of index `i` is armed.
    armed: u8,
    /// Index of the earliest armed timer; meaningful only while one is.
    earliest: u8,
}

impl TimerTable {
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.at[timer.index()] = at;
        self.armed |= 1 << timer.index();
        self.find_earliest();
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        self.armed &= !(1 << timer.index());
        self.find_earliest();
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
        (self.armed != 0).then(|| self.at[usize::from(self.earliest)])
    }

    /// Points `earliest` at the armed timer due first (left as is when
    /// none is armed).
    fn find_earliest(&mut self) {
        let mut best: Option<(usize, Instant)> = None;
        for timer in Timer::ALL {
            let i = timer.index();
            if self.armed & (1 << i) != 0 && best.is_none_or(|(_, at)| self.at[i] < at) {
                best = Some((i, self.at[i]));
            }
        }
        if let Some((i, _)) = best {
            // Six timers: every index fits a byte.
            self.earliest = i as u8;
        }
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

    /// The earliest deadline follows every change: a timer that was due
    /// first and is moved later, stopped, expired or re-armed earlier
    /// leaves the next one in line as the earliest.
    #[test]
    fn earliest_follows_every_change() {
        let ms = Instant::from_millis;
        let mut table = TimerTable::default();
        table.set(Timer::Dial, ms(10));
        table.set(Timer::Keepalive, ms(30));
        table.set(Timer::Drain, ms(20));
        assert_eq!(table.next(), Some(ms(10)));
        // The earliest moved later: the next in line takes over.
        table.set(Timer::Dial, ms(50));
        assert_eq!(table.next(), Some(ms(20)));
        // The earliest stopped.
        table.stop(Timer::Drain);
        assert_eq!(table.next(), Some(ms(30)));
        // The earliest expired.
        assert!(table.expire(Timer::Keepalive, ms(30)));
        assert_eq!(table.next(), Some(ms(50)));
        // A later timer re-armed earlier than the rest.
        table.set(Timer::PongDeadline, ms(60));
        table.set(Timer::PongDeadline, ms(5));
        assert_eq!(table.next(), Some(ms(5)));
        // Cleared, then one armed again: only that one counts.
        table.clear();
        assert_eq!(table.next(), None);
        table.set(Timer::Handshake, ms(70));
        assert_eq!(table.next(), Some(ms(70)));
    }
}
