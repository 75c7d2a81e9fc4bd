//! The connections' timers, on one thread of relay-smol's own.
//!
//! async-io's reactor splits its timer map on every turn while any timer is
//! registered (an allocation per turn), and a connection always has one
//! armed (its keepalive or pong deadline), usually seconds away. Here the
//! deadlines wait in one ordered map that a thread (`relay-smol-timer`)
//! sleeps on, so a reactor turn costs nothing for them. The thread wakes only
//! when a deadline is due or an earlier one was added, and it exits after
//! [`IDLE_EXIT`] with no timer; the next timer starts it again.

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// How long the thread stays with no timer before it exits.
#[cfg(not(test))]
const IDLE_EXIT: Duration = Duration::from_secs(10);
#[cfg(test)]
const IDLE_EXIT: Duration = Duration::from_millis(50);

/// The timers of the process: one entry per armed [`Sleep`], keyed by its
/// deadline and a sequence number (two sleeps may share a deadline).
#[derive(Default)]
struct Timers {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    armed: BTreeMap<(Instant, u64), Waker>,
    next_id: u64,
    /// The thread is running (or starting) and will see the map.
    running: bool,
}

fn timers() -> &'static Timers {
    static TIMERS: OnceLock<Timers> = OnceLock::new();
    TIMERS.get_or_init(Timers::default)
}

impl Timers {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; a poisoned map is still
        // consistent (every change is one map call).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The thread's loop: wakes each due timer (outside the lock, since a
    /// waker may drop a sleep) and sleeps until the earliest deadline.
    fn run(&self) {
        let mut state = self.lock();
        loop {
            let now = Instant::now();
            let first = state.armed.first_key_value().map(|(key, _)| *key);
            match first {
                Some(key) if key.0 <= now => {
                    let waker = state.armed.remove(&key);
                    drop(state);
                    if let Some(waker) = waker {
                        // A waker that panics must not stop every other timer.
                        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| waker.wake()));
                    }
                    state = self.lock();
                }
                Some((at, _)) => {
                    state = self
                        .changed
                        .wait_timeout(state, at - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
                None => {
                    let (next, timeout) = self
                        .changed
                        .wait_timeout(state, IDLE_EXIT)
                        .unwrap_or_else(|e| e.into_inner());
                    state = next;
                    if timeout.timed_out() && state.armed.is_empty() {
                        state.running = false;
                        return;
                    }
                }
            }
        }
    }
}

/// Completes once the system clock has reached its deadline, never before.
pub(crate) struct Sleep {
    deadline: Instant,
    /// The key of this sleep's entry while it may be armed.
    key: Option<(Instant, u64)>,
    /// The waker the entry holds, to skip cloning the same one again.
    waker: Option<Waker>,
    /// The timer thread could not be started: async-io's timer instead.
    fallback: Option<async_io::Timer>,
}

impl Sleep {
    /// A sleep until `deadline`; nothing is armed before the first poll.
    pub(crate) fn until(deadline: Instant) -> Self {
        Sleep {
            deadline,
            key: None,
            waker: None,
            fallback: None,
        }
    }

    /// Arms this sleep (or refreshes its waker). `false` if the thread
    /// could not be started.
    fn arm(&mut self, waker: &Waker) -> bool {
        let shared = timers();
        let mut state = shared.lock();
        let key = match self.key {
            Some(key) if state.armed.contains_key(&key) => {
                if !self.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
                    state.armed.insert(key, waker.clone());
                    self.waker = Some(waker.clone());
                }
                return true;
            }
            // Fired already (the thread woke this sleep just now) or never
            // armed: a new entry.
            _ => {
                let key = (self.deadline, state.next_id);
                state.next_id = state.next_id.wrapping_add(1);
                key
            }
        };
        let earliest = state.armed.first_key_value().is_none_or(|(k, _)| key < *k);
        state.armed.insert(key, waker.clone());
        self.key = Some(key);
        self.waker = Some(waker.clone());
        if !state.running {
            let spawned = std::thread::Builder::new()
                .name("relay-smol-timer".into())
                .spawn(|| timers().run());
            match spawned {
                Ok(_) => state.running = true,
                Err(e) => {
                    state.armed.remove(&key);
                    self.key = None;
                    self.waker = None;
                    drop(state);
                    log_once(&e);
                    return false;
                }
            }
        } else if earliest {
            shared.changed.notify_one();
        }
        true
    }

    fn disarm(&mut self) {
        self.waker = None;
        if let Some(key) = self.key.take() {
            timers().lock().armed.remove(&key);
        }
    }
}

fn log_once(e: &std::io::Error) {
    static SAID: OnceLock<()> = OnceLock::new();
    SAID.get_or_init(|| {
        eprintln!("relay-smol: could not start the timer thread ({e}); using async-io's timers");
    });
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if let Some(timer) = this.fallback.as_mut() {
            return Pin::new(timer).poll(cx).map(|_| ());
        }
        // The clock alone decides: a wake-up is only a hint to look again.
        if Instant::now() >= this.deadline {
            this.disarm();
            return Poll::Ready(());
        }
        if !this.arm(cx.waker()) {
            let mut timer = async_io::Timer::at(this.deadline);
            let ready = Pin::new(&mut timer).poll(cx).is_ready();
            this.fallback = Some(timer);
            if ready {
                return Poll::Ready(());
            }
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.disarm();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_or_fired_sleep_leaves_no_entry() {
        // Other tests of this binary may arm timers at the same time, so
        // count this test's own entries through their deadlines.
        let far = Instant::now() + Duration::from_secs(3600);
        let mine = |d: Instant| timers().lock().armed.keys().filter(|k| k.0 == d).count();
        let mut sleep = Sleep::until(far);
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(Pin::new(&mut sleep).poll(&mut cx).is_pending());
        assert!(Pin::new(&mut sleep).poll(&mut cx).is_pending());
        assert_eq!(mine(far), 1, "polled twice, armed once");
        drop(sleep);
        assert_eq!(mine(far), 0);

        let soon = Instant::now() + Duration::from_millis(5);
        let mut sleep = Sleep::until(soon);
        assert!(Pin::new(&mut sleep).poll(&mut cx).is_pending());
        std::thread::sleep(Duration::from_millis(10));
        assert!(Pin::new(&mut sleep).poll(&mut cx).is_ready());
        assert_eq!(mine(soon), 0);
    }

    #[test]
    fn the_thread_exits_when_idle_and_starts_again_for_the_next_timer() {
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        for _ in 0..2 {
            let at = Instant::now() + Duration::from_millis(5);
            let mut sleep = Sleep::until(at);
            assert!(Pin::new(&mut sleep).poll(&mut cx).is_pending());
            assert!(timers().lock().running);
            // Fired by the thread (the entry is gone), not by this poll.
            let fired_by = Instant::now() + Duration::from_secs(5);
            while timers().lock().armed.keys().any(|k| k.0 == at) {
                assert!(Instant::now() < fired_by, "the timer never fired");
                std::thread::sleep(Duration::from_millis(1));
            }
            assert!(Instant::now() >= at);
            assert!(Pin::new(&mut sleep).poll(&mut cx).is_ready());
            // Idle: the thread exits (other tests may keep it busy a while).
            let gone_by = Instant::now() + Duration::from_secs(5);
            while timers().lock().running && Instant::now() < gone_by {
                std::thread::sleep(Duration::from_millis(5));
            }
            assert!(!timers().lock().running, "the idle thread did not exit");
        }
    }
}
