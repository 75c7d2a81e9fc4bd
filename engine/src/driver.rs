//! The driver loop: select over commands, the core's deadline, the dial in
//! progress and the socket; feed the core; drain its outputs. No protocol
//! decision is made here.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::future::poll_fn;
use std::hash::BuildHasher;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_channel::oneshot;
use futures_util::{Sink, Stream, StreamExt};
use relay_core::config::RelayConfig;
use relay_core::requests::RequestId;
use relay_core::wire::ActionResult;
use relay_core::{Connection, Event, Input, Instant, Output};

use super::client::{ClientError, ClientOptions, Command};
use super::clock::Clock;
use super::socket::{self, Dialing, Read, Reader, Write, Writer};
use super::{BoxFuture, Runtime};

type Reply = oneshot::Sender<Result<ActionResult, ClientError>>;

/// What woke the loop.
enum Wake {
    Command(Command),
    CommandsClosed,
    Timer,
    Dialed(Result<(async_tungstenite::WebSocketSender<socket::Io>, Reader), socket::DialFailure>),
    Read(Read),
}

pub(crate) struct Driver {
    rt: Arc<dyn Runtime>,
    clock: Clock,
    conn: Connection,
    dial: socket::DialSettings,
    write_queue: usize,
    commands: Pin<Box<async_channel::Receiver<Command>>>,
    commands_open: bool,
    events: futures_channel::mpsc::Sender<Event>,
    /// Events the application has not taken yet; while any wait, the socket
    /// is not read.
    backlog: VecDeque<Event>,
    waiters: HashMap<RequestId, Reply>,
    shutdown_waiters: Vec<oneshot::Sender<()>>,
    writer: Option<Writer>,
    reader: Option<Reader>,
    dialing: Option<Dialing>,
    deadline: Option<Instant>,
    timer: Option<(Instant, BoxFuture<()>)>,
}

impl Driver {
    pub(crate) fn new(
        rt: Arc<dyn Runtime>,
        config: RelayConfig,
        options: &ClientOptions,
        commands: async_channel::Receiver<Command>,
        events: futures_channel::mpsc::Sender<Event>,
    ) -> Self {
        let clock = Clock::start();
        let seed = options
            .seed
            .unwrap_or_else(|| RandomState::new().hash_one(clock.now().as_millis()));
        let dial = socket::DialSettings {
            ws: socket::ws_config(options.read_buffer, config.limits.max_frame_bytes),
            timeout: options.dial_timeout,
            write_stall: options.write_stall_timeout,
            #[cfg(feature = "tls")]
            tls: options.tls.clone(),
        };
        Driver {
            conn: Connection::new(config, seed, clock.now(), Clock::wall()),
            rt,
            clock,
            dial,
            write_queue: options.write_queue.max(1),
            commands: Box::pin(commands),
            commands_open: true,
            events,
            backlog: VecDeque::new(),
            waiters: HashMap::new(),
            shutdown_waiters: Vec::new(),
            writer: None,
            reader: None,
            dialing: None,
            deadline: None,
            timer: None,
        }
    }

    /// Runs until the connection is terminal (shut down or revoked).
    pub(crate) async fn run(mut self) {
        loop {
            self.drain();
            if self.conn.is_terminal() {
                break;
            }
            let wake = poll_fn(|cx| self.poll_wake(cx)).await;
            self.handle(wake);
        }
        tracing::debug!(state = %self.conn.state(), "relay driver stopped");
        // Close first, so that no command can slip in unanswered: queued
        // ones are dropped here (their callers see `Stopped`), later ones
        // are refused by the closed channel.
        self.commands.close();
        while self.commands.try_recv().is_ok() {}
        for waiter in self.shutdown_waiters.drain(..) {
            let _ = waiter.send(());
        }
        // Events still queued are handed over before the stream ends.
        while let Some(event) = self.backlog.pop_front() {
            if futures_util::SinkExt::send(&mut self.events, event)
                .await
                .is_err()
            {
                break;
            }
        }
    }

    fn poll_wake(&mut self, cx: &mut Context<'_>) -> Poll<Wake> {
        self.flush_backlog(cx);
        if self.commands_open {
            match self.commands.as_mut().poll_next(cx) {
                Poll::Ready(Some(command)) => return Poll::Ready(Wake::Command(command)),
                Poll::Ready(None) => {
                    self.commands_open = false;
                    return Poll::Ready(Wake::CommandsClosed);
                }
                Poll::Pending => {}
            }
        }
        if let Some(deadline) = self.deadline {
            if self.timer.as_ref().map(|(at, _)| *at) != Some(deadline) {
                let sleep = self.rt.sleep_until(self.clock.to_std(deadline));
                self.timer = Some((deadline, sleep));
            }
            if let Some((_, sleep)) = self.timer.as_mut()
                && sleep.as_mut().poll(cx).is_ready()
            {
                self.timer = None;
                return Poll::Ready(Wake::Timer);
            }
        }
        if let Some(dialing) = self.dialing.as_mut()
            && let Poll::Ready(result) = dialing.as_mut().poll(cx)
        {
            self.dialing = None;
            return Poll::Ready(Wake::Dialed(result));
        }
        // Backpressure: while the application has events to take, leave the
        // socket unread.
        if self.backlog.is_empty()
            && let Some(reader) = self.reader.as_mut()
            && let Poll::Ready(item) = reader.poll_next_unpin(cx)
        {
            return Poll::Ready(Wake::Read(Read::from_item(item)));
        }
        Poll::Pending
    }

    fn flush_backlog(&mut self, cx: &mut Context<'_>) {
        while !self.backlog.is_empty() {
            match Pin::new(&mut self.events).poll_ready(cx) {
                Poll::Ready(Ok(())) => {
                    if let Some(event) = self.backlog.pop_front()
                        && Pin::new(&mut self.events).start_send(event).is_err()
                    {
                        self.backlog.clear();
                    }
                }
                // The application dropped its `Events`: nobody will read.
                Poll::Ready(Err(_)) => self.backlog.clear(),
                Poll::Pending => break,
            }
        }
    }

    fn handle(&mut self, wake: Wake) {
        let now = self.clock.now();
        self.conn.set_wall_clock(now, Clock::wall());
        match wake {
            Wake::Command(command) => self.command(command, now),
            Wake::CommandsClosed => self.conn.shutdown(now),
            Wake::Timer => self.conn.handle_input(Input::Timeout, now),
            Wake::Dialed(Ok((sink, reader))) => {
                tracing::debug!("relay socket open");
                self.writer = Some(Writer::spawn(&self.rt, sink, self.write_queue));
                self.reader = Some(reader);
                self.conn.handle_input(Input::Opened, now);
            }
            Wake::Dialed(Err(failure)) => {
                tracing::warn!(
                    http_status = failure.http_status,
                    reason = %failure.reason,
                    "relay dial failed"
                );
                let input = Input::DialFailed {
                    http_status: failure.http_status,
                    reason: failure.reason,
                };
                self.conn.handle_input(input, now);
            }
            Wake::Read(read) => {
                if matches!(read, Read::Closed { .. }) {
                    self.drop_socket();
                }
                if let Some(input) = read.as_input() {
                    self.conn.handle_input(input, now);
                }
            }
        }
    }

    fn command(&mut self, command: Command, now: Instant) {
        let conn = &mut self.conn;
        match command {
            Command::Send(action, reply) => match conn.send(*action, now) {
                Ok(id) => {
                    self.waiters.insert(id, reply);
                }
                Err(refusal) => {
                    let _ = reply.send(Err(refusal.into()));
                }
            },
            Command::Interrupt(payload, reply) => {
                let (key, reason) = *payload;
                let _ = reply.send(conn.interrupt(key, reason, now).map_err(Into::into));
            }
            Command::GoIdle(reply) => {
                let _ = reply.send(conn.go_idle(now).map_err(Into::into));
            }
            Command::GoIdleWith(mode, reply) => {
                let _ = reply.send(conn.go_idle_with(mode, now).map_err(Into::into));
            }
            Command::Wake(reply) => {
                let _ = reply.send(conn.wake(now).map_err(Into::into));
            }
            Command::Ack(delivery, reply) => {
                let _ = reply.send(conn.ack(delivery, now).map_err(Into::into));
            }
            Command::Shutdown(reply) => {
                conn.shutdown(now);
                self.shutdown_waiters.push(reply);
            }
            Command::Status(reply) => {
                let _ = reply.send((conn.state(), conn.stats()));
            }
        }
    }

    /// Carries out everything the core wants done, until it waits.
    fn drain(&mut self) {
        loop {
            match self.conn.poll_output() {
                Output::Dial { target, headers } => {
                    self.drop_socket();
                    tracing::info!(url = %target, "relay dialing");
                    let dial = socket::dial(self.rt.clone(), target, headers, self.dial.clone());
                    self.dialing = Some(Box::pin(dial));
                }
                Output::Transmit(text) => self.write(Write::Text(text)),
                Output::Ping => self.write(Write::Ping),
                Output::Close { code, reason } => {
                    tracing::info!(code, %reason, "relay closing socket");
                    let writer = self.writer.take();
                    self.drop_socket();
                    // 1006 is never sent on the wire: dropping the writer aborts.
                    if let (Some(writer), false) = (writer, code == 1006) {
                        writer.close(code, reason);
                    }
                }
                Output::Event(event) => self.route(event),
                Output::Wait(deadline) => {
                    self.deadline = deadline;
                    return;
                }
            }
        }
    }

    fn write(&mut self, write: Write) {
        let Some(writer) = self.writer.as_mut() else {
            return;
        };
        if !writer.push(write) {
            // The peer stopped reading long enough to fill the queue.
            self.drop_socket();
            let input = Input::Closed {
                code: None,
                reason: "socket write queue overflowed".to_owned(),
            };
            self.conn.handle_input(input, self.clock.now());
        }
    }

    fn drop_socket(&mut self) {
        self.writer = None;
        self.reader = None;
        self.dialing = None;
    }

    /// Results go to the caller that sent the request; everything else to
    /// the event stream.
    fn route(&mut self, event: Event) {
        match event {
            Event::Response { request_id, result } => {
                if let Some(reply) = self.waiters.remove(&request_id) {
                    let _ = reply.send(Ok(*result));
                }
            }
            Event::RequestFailed { request_id, error } => {
                tracing::debug!(%error, "relay request failed");
                if let Some(reply) = self.waiters.remove(&request_id) {
                    let _ = reply.send(Err(error.into()));
                }
            }
            other => {
                trace_event(&other);
                if !self.events.is_closed() {
                    self.backlog.push_back(other);
                }
            }
        }
    }
}

fn trace_event(event: &Event) {
    match event {
        Event::StateChanged { from, to } => tracing::info!(%from, %to, "relay state changed"),
        Event::Disconnected { code, reason } => {
            tracing::info!(code, %reason, "relay socket closed");
        }
        Event::DialScheduled { attempt, at } => {
            tracing::debug!(attempt, at_ms = at.as_millis(), "relay re-dial scheduled");
        }
        Event::FrameRejected { error } => tracing::warn!(%error, "relay frame rejected"),
        Event::IdleRefused { reason } => tracing::warn!(?reason, "relay go-idle refused"),
        Event::Revoked => tracing::error!("relay credential revoked; not dialing again"),
        _ => {}
    }
}
