//! The one waker a spawned client's connection is polled with: it wakes an
//! application task that is awaiting the connection, which then drives the
//! connection itself, and the driver task only when no application task
//! awaits.
//!
//! On a multi-thread runtime a wake-up of another task usually means a
//! hand-over between threads (a futex wake and a park), which costs more
//! than the work it hands over. An application that awaits a result or
//! the next event is about to run anyway: letting it read the socket
//! removes that hand-over, as with an [`InlineClient`](super::InlineClient),
//! while the driver task keeps the connection going (keepalive, events
//! read ahead, reconnects) whenever the application is busy elsewhere.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Wake, Waker};

/// Who is woken when the connection needs polling.
#[derive(Default)]
pub(crate) struct Router {
    state: Mutex<Routes>,
    /// A wake-up went to an application task and nobody has polled the
    /// connection since: if that task stops awaiting first, the wake-up
    /// is passed on.
    owed: AtomicBool,
    /// The event stream's task awaits the connection (under the lock).
    stream_awaits: AtomicBool,
}

#[derive(Default)]
struct Routes {
    /// The driver task.
    driver: Option<Waker>,
    /// The event stream's task, kept between its waits: its next wait
    /// costs no clone of its waker (and no drop of the last one).
    stream: Option<Waker>,
    /// Other application tasks awaiting the connection (calls), by token.
    apps: Vec<(u64, Waker)>,
    next_token: u64,
}

impl Router {
    fn lock(&self) -> MutexGuard<'_, Routes> {
        // No code panics while holding the lock; recover the data anyway.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The application task to wake, if one awaits.
    fn awaiting<'r>(&self, routes: &'r Routes) -> Option<&'r Waker> {
        if self.stream_awaits.load(Ordering::Relaxed) {
            routes.stream.as_ref()
        } else {
            routes.apps.first().map(|(_, w)| w)
        }
    }

    /// The driver task's waker, kept up to date on every poll.
    pub(crate) fn set_driver(&self, waker: &Waker) {
        let mut routes = self.lock();
        if !routes.driver.as_ref().is_some_and(|w| w.will_wake(waker)) {
            routes.driver = Some(waker.clone());
        }
    }

    /// Wakes the driver task, whoever else awaits.
    pub(crate) fn wake_driver(&self) {
        if let Some(driver) = self.lock().driver.as_ref() {
            driver.wake_by_ref();
        }
    }

    /// A token for an application task's [`register`](Self::register)s.
    pub(crate) fn token(&self) -> u64 {
        let mut routes = self.lock();
        routes.next_token += 1;
        routes.next_token
    }

    /// The application task holding `token` awaits the connection: wake
    /// it (rather than the driver task) when the connection needs polling.
    pub(crate) fn register(&self, token: u64, waker: &Waker) {
        let mut routes = self.lock();
        match routes.apps.iter_mut().find(|(t, _)| *t == token) {
            Some((_, w)) if w.will_wake(waker) => {}
            Some((_, w)) => *w = waker.clone(),
            None => {
                // Usually one call awaits at a time: room for one, not
                // the four a first push reserves.
                if routes.apps.capacity() == 0 {
                    routes.apps.reserve_exact(1);
                }
                routes.apps.push((token, waker.clone()))
            }
        }
    }

    /// The event stream's task awaits the connection.
    pub(crate) fn register_stream(&self, waker: &Waker) {
        let mut routes = self.lock();
        if !routes.stream.as_ref().is_some_and(|w| w.will_wake(waker)) {
            routes.stream = Some(waker.clone());
        }
        self.stream_awaits.store(true, Ordering::Relaxed);
    }

    /// The application task holding `token` no longer awaits. A wake-up
    /// it may have taken without polling is passed on.
    pub(crate) fn unregister(&self, token: u64) {
        let mut routes = self.lock();
        routes.apps.retain(|(t, _)| *t != token);
        self.stopped_awaiting(&routes, false);
    }

    /// The event stream's task no longer awaits, for now; with `busy`, it
    /// works through a batch and comes back for more: a wake-up it took
    /// without polling then stays owed to it instead of waking the driver
    /// task, when no other task awaits. Any other task that registers, and
    /// any later wake-up (the connection's timer), still reach the
    /// connection.
    pub(crate) fn pause_stream(&self, busy: bool) {
        let routes = self.lock();
        self.stream_awaits.store(false, Ordering::Relaxed);
        self.stopped_awaiting(&routes, busy);
    }

    /// The event stream is gone: its waker is dropped.
    pub(crate) fn drop_stream(&self) {
        let mut routes = self.lock();
        routes.stream = None;
        self.stream_awaits.store(false, Ordering::Relaxed);
        self.stopped_awaiting(&routes, false);
    }

    fn stopped_awaiting(&self, routes: &Routes, keep: bool) {
        if self.owed.load(Ordering::Acquire) {
            if keep && self.awaiting(routes).is_none() {
                // Owed stays set: the next wake-up goes to the driver.
                return;
            }
            self.route(routes);
        }
    }

    /// Called right before the connection is polled: the wake-ups so far
    /// are being answered.
    pub(crate) fn polling(&self) {
        self.owed.store(false, Ordering::Release);
    }

    fn route(&self, routes: &Routes) {
        match self.awaiting(routes) {
            Some(app) => {
                self.owed.store(true, Ordering::Release);
                app.wake_by_ref();
            }
            None => {
                if let Some(driver) = routes.driver.as_ref() {
                    driver.wake_by_ref();
                }
            }
        }
    }
}

impl Wake for Router {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let routes = self.lock();
        self.route(&routes);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Wake, Waker};

    use super::Router;

    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counter() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count::default());
        (count.clone(), Waker::from(count))
    }

    #[test]
    fn an_awaiting_application_is_woken_instead_of_the_driver() {
        let router = Arc::new(Router::default());
        let waker = Waker::from(router.clone());
        let (driver, driver_waker) = counter();
        let (app, app_waker) = counter();
        router.set_driver(&driver_waker);
        waker.wake_by_ref();
        assert_eq!(driver.0.load(Ordering::SeqCst), 1);

        let token = router.token();
        router.register(token, &app_waker);
        waker.wake_by_ref();
        assert_eq!(app.0.load(Ordering::SeqCst), 1);
        assert_eq!(driver.0.load(Ordering::SeqCst), 1);

        // The application polled, then stopped awaiting: nothing owed.
        router.polling();
        router.unregister(token);
        assert_eq!(driver.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_wake_up_taken_and_not_answered_goes_to_the_driver() {
        let router = Arc::new(Router::default());
        let waker = Waker::from(router.clone());
        let (driver, driver_waker) = counter();
        let (app, app_waker) = counter();
        router.set_driver(&driver_waker);
        let token = router.token();
        router.register(token, &app_waker);
        waker.wake_by_ref();
        assert_eq!(app.0.load(Ordering::SeqCst), 1);
        // The application stops awaiting without polling the connection.
        router.unregister(token);
        assert_eq!(driver.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_wake_up_kept_for_the_application_reaches_the_driver_at_the_next_wake_up() {
        let router = Arc::new(Router::default());
        let waker = Waker::from(router.clone());
        let (driver, driver_waker) = counter();
        let (app, app_waker) = counter();
        router.set_driver(&driver_waker);
        router.register_stream(&app_waker);
        waker.wake_by_ref();
        assert_eq!(app.0.load(Ordering::SeqCst), 1);
        // The application returns with a batch to work through: the
        // wake-up waits for it instead of waking the driver task.
        router.pause_stream(true);
        assert_eq!(driver.0.load(Ordering::SeqCst), 0);
        // The connection's timer fires (its next deadline): the driver
        // task answers, whether the application came back or not.
        waker.wake_by_ref();
        assert_eq!(driver.0.load(Ordering::SeqCst), 1);
        assert_eq!(app.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn the_stream_keeps_its_waker_between_turns_and_is_not_woken_between_them() {
        let router = Arc::new(Router::default());
        let waker = Waker::from(router.clone());
        let (driver, driver_waker) = counter();
        router.set_driver(&driver_waker);
        let (app, app_waker) = counter();
        for _ in 0..3 {
            router.register_stream(&app_waker);
            router.polling();
            router.pause_stream(false);
            // The router holds its clone between the turns.
            assert_eq!(Arc::strong_count(&app), 3);
        }
        // Between its turns the stream is not woken: the driver task is.
        waker.wake_by_ref();
        assert_eq!(driver.0.load(Ordering::SeqCst), 1);
        assert_eq!(app.0.load(Ordering::SeqCst), 0);
        // Once the stream is gone, its waker is dropped.
        router.drop_stream();
        assert_eq!(Arc::strong_count(&app), 2);
    }
}
