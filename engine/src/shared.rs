//! The connection of a spawned client, shared by its driver task,
//! [`RelayHandle`](super::RelayHandle)s and [`Events`](super::Events).
//!
//! Whoever calls carries the call out on the connection itself, under one
//! lock: a command is applied and its frame written by the task that sent
//! it, with no queue to the driver and no wake-up of it. A task awaiting a
//! result or an event polls the connection too (see [`Router`]), so a
//! result or a message is usually read by the task that wants it. The
//! driver task polls the connection whenever no application task awaits.

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Waker};

use super::engine::{Engine, Replies, Waiters};
use super::error::ClientError;
use super::router::Router;

/// Events an application task reads ahead when it polls the connection
/// for the next event itself (see `READ_AHEAD` of the inline client).
const READ_AHEAD: usize = 4;

/// The connection and what its users wait on.
pub(crate) struct Core {
    pub(crate) engine: Engine,
    event_capacity: usize,
    /// The application waiting in `Events::next_event`.
    reader: Option<Waker>,
    /// Tasks waiting for the connection to stop.
    stop_waiters: Vec<Waker>,
    /// The connection is terminal (or its driver task is gone): no more
    /// events, every call answers `Stopped`.
    pub(crate) stopped: bool,
    /// The application dropped its `Events`: nobody reads.
    pub(crate) events_dropped: bool,
}

/// What the driver task, the handles and the event stream share.
pub(crate) struct Shared {
    core: Mutex<Core>,
    pub(crate) router: Arc<Router>,
    /// The router as a waker: what the connection is polled with.
    waker: Waker,
    /// Live [`RelayHandle`](super::RelayHandle)s of this client: the last
    /// one dropped shuts the connection down.
    pub(crate) handles: AtomicUsize,
}

/// Who polls the connection, for how many events to read ahead.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Poller {
    /// The driver task, or a task awaiting a result: reads up to the
    /// event capacity ahead.
    Other,
    /// The application awaiting its next event: reads a few ahead, and
    /// takes them at once.
    Reader,
}

impl Shared {
    pub(crate) fn new(engine: Engine, event_capacity: usize) -> Self {
        let router = Arc::new(Router::default());
        Shared {
            core: Mutex::new(Core {
                engine,
                event_capacity: event_capacity.max(1),
                reader: None,
                stop_waiters: Vec::new(),
                stopped: false,
                events_dropped: false,
            }),
            waker: Waker::from(router.clone()),
            router,
            handles: AtomicUsize::new(0),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Core> {
        // No code panics while holding the lock; recover the data anyway.
        self.core.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Polls the connection (with the router's waker): writes, timers,
    /// the dial, and socket reads while the event queue has room. Events
    /// read go to the queue; the reader is woken unless it is the poller.
    pub(crate) fn poll_connection(&self, core: &mut Core, poller: Poller) {
        if core.stopped {
            return;
        }
        self.router.polling();
        let room = match poller {
            Poller::Reader => core.event_capacity.min(READ_AHEAD),
            Poller::Other => core.event_capacity,
        };
        let mut cx = Context::from_waker(&self.waker);
        let done = core.engine.poll_io(&mut cx, room).is_ready();
        if core.events_dropped {
            core.engine.events.clear();
        }
        if poller == Poller::Other
            && !core.engine.events.is_empty()
            && let Some(reader) = core.reader.take()
        {
            reader.wake();
        }
        if done {
            core.stop();
            self.router.wake_driver();
        }
    }
}

impl Core {
    /// The connection is over: requests still waiting fail, and everyone
    /// waiting is told.
    pub(crate) fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        if let Replies::Remote(waiters) = &mut self.engine.replies {
            for waiting in waiters.values_mut() {
                if waiting.result.is_none() {
                    waiting.result = Some(Err(ClientError::Stopped));
                }
                if let Some(waker) = waiting.waker.take() {
                    waker.wake();
                }
            }
        }
        if let Some(reader) = self.reader.take() {
            reader.wake();
        }
        for waiter in self.stop_waiters.drain(..) {
            waiter.wake();
        }
    }

    /// Whether the event queue has no room left.
    pub(crate) fn is_full(&self) -> bool {
        self.engine.events.len() >= self.event_capacity
    }

    /// The application awaits the next event.
    pub(crate) fn set_reader(&mut self, waker: &Waker) {
        if !self.reader.as_ref().is_some_and(|w| w.will_wake(waker)) {
            self.reader = Some(waker.clone());
        }
    }

    /// A task waits for the connection to stop.
    pub(crate) fn wait_stop(&mut self, waker: &Waker) {
        if !self.stop_waiters.iter().any(|w| w.will_wake(waker)) {
            self.stop_waiters.push(waker.clone());
        }
    }

    /// The waiters of requests (always there: a spawned client's replies
    /// are remote).
    pub(crate) fn waiters(&mut self) -> Option<&mut Waiters> {
        match &mut self.engine.replies {
            Replies::Remote(waiters) => Some(waiters),
            Replies::Local { .. } => None,
        }
    }
}

/// An application task's turn at polling the connection while it awaits
/// something: registered with the router while it awaits, unregistered
/// when dropped (done, or the wait abandoned) or [`finish`](Turn::finish)ed.
pub(crate) struct Turn<'a> {
    shared: &'a Shared,
    /// A call's token; `None` for the event stream.
    token: Option<u64>,
    finished: bool,
}

impl<'a> Turn<'a> {
    /// A call's turn, with a token of its own.
    pub(crate) fn new(shared: &'a Shared) -> Self {
        Turn {
            shared,
            token: Some(shared.router.token()),
            finished: false,
        }
    }

    /// A turn of the event stream, whose waker the router keeps between
    /// turns (until [`Router::drop_stream`](super::router::Router::drop_stream)).
    pub(crate) fn stream(shared: &'a Shared) -> Self {
        Turn {
            shared,
            token: None,
            finished: false,
        }
    }

    fn end(&self, busy: bool) {
        match self.token {
            Some(token) => self.shared.router.unregister(token),
            None => self.shared.router.pause_stream(busy),
        }
    }

    /// Registers the task (before it polls, so that a wake-up that comes
    /// while it polls reaches it) and locks the connection.
    pub(crate) fn begin(&self, cx: &Context<'_>) -> MutexGuard<'a, Core> {
        match self.token {
            Some(token) => self.shared.router.register(token, cx.waker()),
            None => self.shared.router.register_stream(cx.waker()),
        }
        self.shared.lock()
    }

    /// [`Shared::poll_connection`].
    pub(crate) fn poll(&self, core: &mut Core, poller: Poller) {
        self.shared.poll_connection(core, poller);
    }

    /// The wait is over; with `busy` (the event stream, in the middle of a
    /// batch), a wake-up taken without polling stays owed to this task,
    /// which comes back to poll (see
    /// [`Router::pause_stream`](super::router::Router::pause_stream)).
    pub(crate) fn finish(mut self, busy: bool) {
        self.finished = true;
        self.end(busy);
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.end(false);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use relay_core::config::RelayConfig;

    use super::Shared;
    use crate::engine::{Engine, Replies};
    use crate::options::ClientOptions;
    use crate::runtime::{BoxFuture, Runtime};

    /// A runtime that is never run.
    struct Idle;

    impl Runtime for Idle {
        fn spawn(&self, _task: BoxFuture<()>) {}
        fn now(&self) -> relay_core::Instant {
            relay_core::Instant::ZERO
        }
        fn wall_clock(&self) -> relay_core::UnixTime {
            relay_core::UnixTime::EPOCH
        }
        fn sleep_until(&self, _deadline: relay_core::Instant) -> BoxFuture<()> {
            Box::pin(std::future::pending())
        }
        fn seed(&self) -> u64 {
            0
        }
        fn connect_tcp(
            &self,
            _host: String,
            _port: u16,
        ) -> BoxFuture<std::io::Result<Box<dyn crate::io::IoStream>>> {
            Box::pin(std::future::pending())
        }
        fn unblock(&self, _work: Box<dyn FnOnce() + Send + 'static>) -> BoxFuture<()> {
            Box::pin(std::future::pending())
        }
    }

    /// A spawned client's shared connection on a runtime that never runs.
    pub(crate) fn idle_shared() -> Shared {
        let config = RelayConfig::builder("ws://127.0.0.1:9")
            .identity("telegram", "bot")
            .allow_unauthenticated()
            .build()
            .expect("a config");
        let options = ClientOptions::default();
        let engine = Engine::new(
            Arc::new(Idle),
            config,
            &options,
            Replies::Remote(Default::default()),
        );
        Shared::new(engine, options.event_capacity)
    }
}
