//! The loop's body: feed the core what happened (commands, the deadline,
//! the dial in progress, the socket) and carry out its outputs. No protocol
//! decision is made here.
//!
//! [`Engine`] is polled by one task: the driver task of a spawned client,
//! or the application's own task with
//! an [`InlineClient`](super::InlineClient). That task reads and writes the
//! socket itself: there is no writer task, so a request costs no hand-off
//! between tasks beyond the one to the application.

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_tungstenite::tungstenite::Message;
use futures_util::{Sink, Stream};
use relay_core::config::RelayConfig;
use relay_core::connection::RequestId;
use relay_core::connection::{RequestError, SendError, SendOptions};
use relay_core::wire::{Action, ActionResult};
use relay_core::{Connection, Event, Input, Instant, Output};

use super::command::{Control, Status};
use super::error::ClientError;
use super::options::ClientOptions;
use super::runtime::{BoxFuture, Runtime};
use super::socket::{self, Dialing, Read};
use super::ws::Ws;

/// PLANTED BUG hooks: whether this engine makes the mistake `$bug`; the
/// constant `false` without the `planted-bugs` feature.
macro_rules! planted {
    ($engine:expr, $bug:ident) => {{
        #[cfg(feature = "planted-bugs")]
        let on = $engine.plant == super::PlantedBug::$bug;
        #[cfg(not(feature = "planted-bugs"))]
        let on = false;
        on
    }};
}

/// Socket reads handled in one poll before the task yields (and hands the
/// events read so far to the application as one batch).
const READ_BATCH: usize = 64;

/// A spawned client's caller, waiting for its request's result.
#[derive(Default)]
pub(crate) struct Waiting {
    pub(crate) result: Option<Result<ActionResult, ClientError>>,
    /// The caller's task, when it is not the one polling.
    pub(crate) waker: Option<std::task::Waker>,
}

/// The requests of a spawned client whose callers wait.
pub(crate) type Waiters = HashMap<RequestId, Waiting>;

/// Where request results go.
pub(crate) enum Replies {
    /// Each caller of a spawned client waits for its own entry.
    Remote(Waiters),
    /// The one request an inline client is waiting for, and its result once
    /// it came. Results of abandoned requests are dropped.
    Local {
        awaiting: Option<RequestId>,
        /// Boxed as the core hands it over (no copy, no allocation).
        result: Option<Result<Box<ActionResult>, ClientError>>,
    },
}

/// What every dial of a client takes from its options. The WebSocket's
/// settings are derived at each dial ([`Engine::dial_settings`]) rather
/// than kept beside the configuration they come from.
struct DialOptions {
    read_buffer: usize,
    timeout: Duration,
    write_stall: Duration,
    #[cfg(feature = "tls")]
    tls: Option<Arc<rustls::ClientConfig>>,
}

/// The connection, its socket and its timer, driven by one task.
pub(crate) struct Engine {
    rt: Arc<dyn Runtime>,
    pub(crate) conn: Connection,
    dial: DialOptions,
    write_queue: usize,
    /// Boxed (one allocation per socket): the WebSocket's state is most of
    /// a client's size, and a client inside an application's future may be
    /// laid out more than once there.
    ws: Option<Box<Ws>>,
    /// Messages the socket has not taken yet.
    unsent: VecDeque<Message>,
    /// Something was handed to the socket and not flushed yet.
    unflushed: bool,
    dialing: Option<Dialing>,
    deadline: Option<Instant>,
    timer: Option<(Instant, BoxFuture<()>)>,
    /// Frames read past the batch and past the event queue's room when a
    /// deadline falls due: the event capacity.
    overdue_reads: usize,
    /// Events the application has not been handed yet.
    pub(crate) events: VecDeque<Event>,
    pub(crate) replies: Replies,
    /// The queues' room was given back since the state last changed.
    trimmed: bool,
    /// How many times the queues' room was given back (wrapping).
    trims: u32,
    /// The core time of the last wall-clock reading handed to the core.
    wall_read_at: Instant,
    /// The deliberate mistake this engine makes (tests only).
    #[cfg(feature = "planted-bugs")]
    plant: super::PlantedBug,
    /// The last dial, for the planted re-dial after revocation.
    #[cfg(feature = "planted-bugs")]
    last_dial: Option<(relay_core::config::DialTarget, Vec<(String, String)>)>,
}

impl Engine {
    pub(crate) fn new(
        rt: Arc<dyn Runtime>,
        config: RelayConfig,
        options: &ClientOptions,
        replies: Replies,
    ) -> Self {
        let seed = options.seed.unwrap_or_else(|| rt.seed());
        let dial = DialOptions {
            read_buffer: options.read_buffer,
            timeout: options.dial_timeout,
            write_stall: options.write_stall_timeout,
            #[cfg(feature = "tls")]
            tls: options.tls.clone(),
        };
        let now = rt.now();
        Engine {
            conn: Connection::new(config, seed, now, rt.wall_clock()),
            wall_read_at: now,
            rt,
            dial,
            write_queue: options.write_queue.max(1),
            ws: None,
            unsent: VecDeque::new(),
            unflushed: false,
            dialing: None,
            deadline: None,
            timer: None,
            overdue_reads: options.event_capacity.max(1),
            events: VecDeque::new(),
            replies,
            trimmed: false,
            trims: 0,
            #[cfg(feature = "planted-bugs")]
            plant: options.plant,
            #[cfg(feature = "planted-bugs")]
            last_dial: None,
        }
    }

    /// How the next dial is made.
    fn dial_settings(&self) -> socket::DialSettings {
        let max_frame_bytes = self.conn.config().map_or_else(
            || relay_core::config::Limits::default().max_frame_bytes,
            |c| c.limits.max_frame_bytes,
        );
        socket::DialSettings {
            ws: socket::ws_config(self.dial.read_buffer, max_frame_bytes),
            timeout: self.dial.timeout,
            write_stall: self.dial.write_stall,
            #[cfg(feature = "tls")]
            tls: self.dial.tls.clone(),
        }
    }

    /// The core's clock now; the core's wall clock is brought up to date
    /// once per millisecond of core time (the core derives the wall time
    /// from its last reading and the monotonic clock in between).
    pub(crate) fn now(&mut self) -> Instant {
        let now = self.rt.now();
        if now != self.wall_read_at {
            self.wall_read_at = now;
            self.conn.set_wall_clock(now, self.rt.wall_clock());
        }
        now
    }

    fn input(&mut self, input: Input<'_>) {
        let now = self.now();
        self.conn.handle_input(input, now);
    }

    /// Carries out a command that answers at once (what it sends waits in
    /// the core's outputs for the next poll or [`push_now`](Self::push_now)).
    pub(crate) fn control(&mut self, control: Control) -> Result<(), ClientError> {
        let now = self.now();
        control.apply(&mut self.conn, now)
    }

    /// Sends an action; its result comes back through [`Replies`].
    pub(crate) fn send(
        &mut self,
        action: Action,
        options: &SendOptions,
    ) -> Result<RequestId, SendError> {
        let now = self.now();
        self.conn.send_with(action, options, now)
    }

    /// Shuts the connection down, draining what is in flight for at most
    /// `budget` (see [`Connection::shutdown_within`]); the driving task
    /// keeps polling until the connection is terminal.
    pub(crate) fn shutdown(&mut self, budget: Duration) {
        let now = self.now();
        self.conn.shutdown_within(budget, now);
    }

    /// The state, the counters and the writes waiting for the socket.
    pub(crate) fn status(&self) -> Status {
        Status {
            state: self.conn.state(),
            stats: self.conn.stats(),
            pending_writes: self.unsent.len(),
        }
    }

    /// Makes all the progress there is to make without waiting: outputs
    /// carried out, writes handed to the socket, the timer, the dial, and
    /// socket reads while fewer than `read_room` events wait for the
    /// application. `Ready` once the connection is terminal.
    pub(crate) fn poll_io(&mut self, cx: &mut Context<'_>, read_room: usize) -> Poll<()> {
        let mut reads = 0;
        // One clock reading for the messages of one batch: they were all
        // ready without waiting.
        let mut read_now = None;
        // The timer is polled once per call (and again when replaced): once
        // polled, it wakes this task when it fires.
        let mut timer_polled = false;
        // The timer fired: its `Timeout` waits until the socket has been
        // read, so that what arrived before the deadline (a pong) is seen
        // first, even when nobody was woken to read it.
        let mut timed_out = false;
        loop {
            self.drain();
            if self.conn.is_terminal() {
                #[cfg(feature = "planted-bugs")]
                let dialing_on = self.planted_redial();
                #[cfg(not(feature = "planted-bugs"))]
                let dialing_on = false;
                if !dialing_on {
                    return Poll::Ready(());
                }
            }
            if self.flush(cx) {
                continue;
            }
            if !timed_out && self.poll_timer(cx, &mut timer_polled) {
                timed_out = true;
            }
            // PLANTED BUG (lost-dial-wake): the dial never sees the task's waker.
            let mut lost = Context::from_waker(std::task::Waker::noop());
            let dial_cx = if planted!(self, LostDialWake) {
                &mut lost
            } else {
                &mut *cx
            };
            if let Some(dialing) = self.dialing.as_mut()
                && let Poll::Ready(result) = Pin::new(dialing).poll(dial_cx)
            {
                self.dialing = None;
                self.dialed(result);
                continue;
            }
            // Backpressure: while the application has enough events to
            // take, leave the socket unread. A deadline that fell due waits
            // until what arrived before it (a pong behind a long backlog)
            // was read, past the batch and the queue's room by at most
            // `overdue_reads` frames, so memory stays bounded.
            let (room, batch) = if timed_out {
                (
                    read_room.saturating_add(self.overdue_reads),
                    READ_BATCH + self.overdue_reads,
                )
            } else {
                (read_room, READ_BATCH)
            };
            if self.events.len() < room
                && let Some(ws) = self.ws.as_deref_mut()
                && let Poll::Ready(item) = Pin::new(ws).poll_next(cx)
            {
                let now = *read_now.get_or_insert_with(|| self.now());
                self.read(Read::from_item(item), now);
                reads += 1;
                if reads >= batch {
                    if timed_out {
                        self.drain();
                        self.input(Input::Timeout);
                    }
                    self.drain();
                    self.flush(cx);
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                continue;
            }
            if std::mem::take(&mut timed_out) {
                self.input(Input::Timeout);
                continue;
            }
            self.trim_when_quiet();
            // PLANTED BUG (spin-when-idle): a busy loop.
            if planted!(self, SpinWhenIdle) {
                cx.waker().wake_by_ref();
            }
            return Poll::Pending;
        }
    }

    /// Once per state of the connection, the first time nothing is queued:
    /// gives back the room the queues (the core's outputs, events, writes)
    /// were left with. An idle connection would otherwise hold the room of
    /// its handshake's burst, and a dial or a handshake the room of the
    /// outputs before it, beside its own state (many clients dial at once
    /// at a process's start). Later traffic grows the queues again once.
    pub(crate) fn trim_when_quiet(&mut self) {
        if self.trimmed || !self.events.is_empty() || !self.unsent.is_empty() {
            return;
        }
        self.trimmed = true;
        self.trims = self.trims.wrapping_add(1);
        self.events = VecDeque::new();
        self.unsent = VecDeque::new();
        self.conn.release_idle_memory();
    }

    /// How many times the queues' room was given back (wrapping): an
    /// event stream gives back its own buffer's room when this changes.
    pub(crate) fn trims(&self) -> u32 {
        self.trims
    }

    /// Carries out what the core asked for and hands queued writes to the
    /// socket without waiting (for calls made outside a poll).
    pub(crate) fn push_now(&mut self) {
        self.drain();
        let mut cx = Context::from_waker(std::task::Waker::noop());
        while self.flush(&mut cx) {
            self.drain();
        }
    }

    /// Whether the timer fired. `polled`: it was polled already in this
    /// call of [`poll_io`](Self::poll_io) and has not been replaced since.
    fn poll_timer(&mut self, cx: &mut Context<'_>, polled: &mut bool) -> bool {
        let Some(deadline) = self.deadline else {
            return false;
        };
        // A timer that fires no later than the deadline is kept: waking
        // early costs one spurious `Timeout` (the core checks what is due),
        // a new timer per request would cost an allocation each.
        if self.timer.as_ref().is_none_or(|(at, _)| *at > deadline) {
            let sleep = self.rt.sleep_until(deadline);
            self.timer = Some((deadline, sleep));
            *polled = false;
        }
        if std::mem::replace(polled, true) {
            return false;
        }
        if let Some((_, sleep)) = self.timer.as_mut()
            && sleep.as_mut().poll(cx).is_ready()
        {
            self.timer = None;
            return true;
        }
        false
    }

    fn dialed(&mut self, result: Result<Ws, socket::DialFailure>) {
        match result {
            Ok(ws) => {
                log::debug!("relay socket open");
                self.ws = Some(Box::new(ws));
                self.unsent.clear();
                self.unflushed = false;
                self.trimmed = false;
                self.input(Input::Opened);
            }
            Err(failure) => {
                match failure.http_status {
                    Some(status) => {
                        log::warn!("relay dial failed (HTTP {status}): {}", failure.reason)
                    }
                    None => log::warn!("relay dial failed: {}", failure.reason),
                }
                self.input(Input::DialFailed {
                    http_status: failure.http_status,
                    reason: failure.reason,
                });
            }
        }
    }

    fn read(&mut self, read: Read, now: Instant) {
        if matches!(read, Read::Closed { .. }) {
            self.drop_socket();
        }
        if let Some(input) = read.as_input() {
            self.conn.handle_input(input, now);
        }
    }

    /// Hands queued messages to the socket and flushes it. `true` when the
    /// socket failed (the core was told; its outputs need draining).
    fn flush(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(ws) = self.ws.as_deref_mut() else {
            return false;
        };
        let mut ws = Pin::new(ws);
        let mut result = Ok(());
        while !self.unsent.is_empty() {
            match ws.as_mut().poll_ready(cx) {
                Poll::Ready(Ok(())) => {
                    if let Some(message) = self.unsent.pop_front() {
                        self.unflushed = true;
                        if let Err(e) = ws.as_mut().start_send(message) {
                            result = Err(e);
                            break;
                        }
                    }
                }
                Poll::Ready(Err(e)) => {
                    result = Err(e);
                    break;
                }
                Poll::Pending => break,
            }
        }
        if result.is_ok() && self.unflushed {
            match ws.as_mut().poll_flush(cx) {
                Poll::Ready(Ok(())) => self.unflushed = false,
                Poll::Ready(Err(e)) => result = Err(e),
                Poll::Pending => {}
            }
        }
        match result {
            Ok(()) => false,
            Err(error) => {
                log::debug!("relay socket write failed: {error}");
                self.drop_socket();
                self.input(Input::Closed {
                    code: None,
                    reason: format!("socket write failed: {error}"),
                });
                true
            }
        }
    }

    /// Carries out everything the core wants done, until it waits.
    fn drain(&mut self) {
        loop {
            match self.conn.poll_output() {
                Output::Dial { target, headers } => self.start_dial(target, headers),
                Output::Transmit(text) => self.write(socket::text(text)),
                Output::Ping => self.write(socket::ping()),
                Output::Close { code, reason } => self.close_socket(code, reason),
                Output::Event(event) => self.route(event),
                Output::Wait(deadline) => {
                    self.deadline = deadline;
                    return;
                }
            }
        }
    }

    /// Once per dial: out of line, so that the per-frame loop above stays
    /// small in the instruction cache.
    #[inline(never)]
    fn start_dial(
        &mut self,
        target: relay_core::config::DialTarget,
        headers: Vec<(String, String)>,
    ) {
        self.drop_socket();
        log::info!("relay dialing {target}");
        self.trimmed = false;
        #[cfg(feature = "planted-bugs")]
        if self.plant == super::PlantedBug::RedialAfterRevoked {
            self.last_dial = Some((target.clone(), headers.clone()));
        }
        self.dialing = Some(socket::dial(
            self.rt.clone(),
            target,
            headers,
            self.dial_settings(),
        ));
    }

    /// Once per socket (out of line, as [`start_dial`](Self::start_dial)).
    #[inline(never)]
    fn close_socket(&mut self, code: u16, reason: String) {
        log::info!("relay closing socket: {code} {reason}");
        let ws = self.ws.take();
        let queued: Vec<Message> = self.unsent.drain(..).collect();
        self.drop_socket();
        // 1006 is never sent on the wire: dropping the socket aborts.
        if let (Some(ws), false) = (ws, code == 1006) {
            socket::close_in_background(&self.rt, *ws, queued, code, reason);
        }
    }

    fn write(&mut self, message: Message) {
        if self.ws.is_none() {
            return;
        }
        // PLANTED BUG (unbounded-write-queue): no bound.
        if self.unsent.len() >= self.write_queue && !planted!(self, UnboundedWriteQueue) {
            // The peer stopped reading long enough to fill the queue.
            self.drop_socket();
            self.input(Input::Closed {
                code: None,
                reason: "socket write queue overflowed".to_owned(),
            });
            return;
        }
        self.unsent.push_back(message);
    }

    fn drop_socket(&mut self) {
        self.ws = None;
        self.unsent.clear();
        self.unflushed = false;
        self.dialing = None;
        // PLANTED BUG (drop-replies-on-disconnect): the callers waiting for
        // results are dropped instead of answered with the core's failures.
        if planted!(self, DropRepliesOnDisconnect) {
            match &mut self.replies {
                Replies::Remote(waiters) => waiters.clear(),
                Replies::Local { awaiting, .. } => *awaiting = None,
            }
        }
    }

    /// PLANTED BUG (keep-running-when-dropped): whether the driver ignores
    /// that every handle is gone.
    pub(crate) fn planted_keep_running(&self) -> bool {
        planted!(self, KeepRunningWhenDropped)
    }

    /// PLANTED BUG (redial-after-revoked): once revoked, dials the last
    /// target again; `true` while that dial runs.
    #[cfg(feature = "planted-bugs")]
    fn planted_redial(&mut self) -> bool {
        if self.plant != super::PlantedBug::RedialAfterRevoked
            || self.conn.state() != relay_core::State::Revoked
        {
            return false;
        }
        if let Some((target, headers)) = self.last_dial.take() {
            let dial = socket::dial(self.rt.clone(), target, headers, self.dial_settings());
            self.dialing = Some(dial);
        }
        self.dialing.is_some()
    }

    /// PLANTED BUG (ack-before-app): acks a buffered delivery as it is
    /// handed to the application.
    #[cfg(feature = "planted-bugs")]
    fn planted_ack(&mut self, event: &Event) {
        if self.plant == super::PlantedBug::AckBeforeApp
            && let Event::Inbound {
                delivery: Some(delivery),
                ..
            } = event
        {
            let now = self.now();
            let _ = self.conn.ack(delivery.clone(), now);
        }
    }

    /// Results go to the caller that sent the request; everything else to
    /// the event queue.
    fn route(&mut self, event: Event) {
        match event {
            Event::Inbound { .. } => {
                #[cfg(feature = "planted-bugs")]
                self.planted_ack(&event);
                self.events.push_back(event);
            }
            Event::Response { request_id, result } => self.reply(request_id, Ok(result)),
            Event::RequestFailed { request_id, error } => self.reply(request_id, Err(error)),
            other => {
                if matches!(other, Event::StateChanged { .. }) {
                    self.trimmed = false;
                }
                trace_event(&other);
                self.events.push_back(other);
            }
        }
    }

    /// Hands a request's result to its caller (out of the per-frame path).
    #[inline(never)]
    fn reply(&mut self, request_id: RequestId, result: Result<Box<ActionResult>, RequestError>) {
        let result = match result {
            Ok(result) => match result.into_decline() {
                Ok(decline) => {
                    log::info!("relay request declined: {decline}");
                    Err(ClientError::Declined(decline))
                }
                Err(result) => Ok(result),
            },
            Err(error) => {
                log::debug!("relay request failed: {error}");
                Err(ClientError::from(error))
            }
        };
        match &mut self.replies {
            Replies::Remote(waiters) => {
                if let Some(waiting) = waiters.get_mut(&request_id) {
                    waiting.result = Some(result.map(|r| *r));
                    if let Some(waker) = waiting.waker.take() {
                        waker.wake();
                    }
                }
            }
            Replies::Local {
                awaiting,
                result: slot,
            } => {
                if awaiting.as_ref() == Some(&request_id) {
                    *awaiting = None;
                    *slot = Some(result);
                }
            }
        }
    }
}

#[inline(never)]
fn trace_event(event: &Event) {
    match event {
        Event::StateChanged { from, to } => log::info!("relay state changed: {from} -> {to}"),
        Event::Disconnected { code, reason } => {
            log::info!("relay socket closed: {code:?} {reason}");
        }
        Event::DialScheduled { attempt, at } => {
            log::debug!("relay re-dial {attempt} scheduled at {} ms", at.as_millis());
        }
        Event::FrameRejected { error } => log::warn!("relay frame rejected: {error}"),
        Event::IdleRefused { reason } => log::warn!("relay go-idle refused: {reason:?}"),
        Event::Revoked => log::error!("relay credential revoked; not dialing again"),
        Event::RedialHeld { until } => {
            log::info!("relay re-dial held until {} ms", until.as_millis());
        }
        _ => {}
    }
}
