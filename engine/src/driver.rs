//! The spawned driver task of a [`RelayClient`](super::RelayClient): an
//! [`Engine`] fed by [`RelayHandle`](super::RelayHandle) commands, handing
//! events to [`Events`](super::Events) in batches.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_channel::oneshot;
use futures_util::Stream;
use relay_core::config::RelayConfig;
use relay_core::recycle::EventPool;

use super::command::Command;
use super::engine::{Engine, Replies};
use super::events::EventQueue;
use super::options::ClientOptions;
use super::runtime::Runtime;

/// The driver task's state.
pub(crate) struct Driver {
    engine: Engine,
    commands: Pin<Box<async_channel::Receiver<Command>>>,
    commands_open: bool,
    events: Arc<EventQueue>,
    event_capacity: usize,
    shutdown_waiters: Vec<oneshot::Sender<()>>,
    /// Messages the application handed back, on their way to the core.
    returned: EventPool,
}

impl Driver {
    pub(crate) fn new(
        rt: Arc<dyn Runtime>,
        config: RelayConfig,
        options: &ClientOptions,
        commands: async_channel::Receiver<Command>,
        events: Arc<EventQueue>,
    ) -> Self {
        Driver {
            engine: Engine::new(rt, config, options, Replies::Remote(HashMap::new())),
            commands: Box::pin(commands),
            commands_open: true,
            events,
            event_capacity: options.event_capacity.max(1),
            shutdown_waiters: Vec::new(),
            returned: EventPool::default(),
        }
    }

    /// Runs until the connection is terminal (shut down or revoked).
    pub(crate) async fn run(mut self) {
        std::future::poll_fn(|cx| self.poll(cx)).await;
        log::debug!("relay driver stopped in state {}", self.engine.conn.state());
        // Close first, so that no command can slip in unanswered: queued
        // ones are dropped here (their callers see `Stopped`), later ones
        // are refused by the closed channel.
        self.commands.close();
        while self.commands.try_recv().is_ok() {}
        for waiter in self.shutdown_waiters.drain(..) {
            let _ = waiter.send(());
        }
        // Events still queued are handed over before the stream ends.
        self.events.finish(&mut self.engine.events);
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            while self.commands_open {
                match self.commands.as_mut().poll_next(cx) {
                    Poll::Ready(Some(command)) => self.command(command),
                    Poll::Ready(None) => {
                        self.commands_open = false;
                        // Every handle is gone, so no result could reach
                        // anyone: close at once instead of draining.
                        // PLANTED BUG (keep-running-when-dropped): the
                        // client runs on with nobody to use it.
                        if !self.engine.planted_keep_running() {
                            self.engine.shutdown(Duration::ZERO);
                        }
                    }
                    Poll::Pending => break,
                }
            }
            let queued = self.events.len_and_returned(&mut self.returned);
            self.engine.conn.recycle_all(&mut self.returned);
            let room = self.event_capacity.saturating_sub(queued);
            let progress = self.engine.poll_io(cx, room);
            if progress.is_ready() {
                return Poll::Ready(());
            }
            let full = self.engine.events.len() >= room;
            // One hand-over (and at most one wake-up) per batch.
            if !self
                .events
                .publish(&mut self.engine.events, full.then_some(cx))
            {
                // Room appeared while publishing: read on.
                continue;
            }
            return Poll::Pending;
        }
    }

    fn command(&mut self, command: Command) {
        let engine = &mut self.engine;
        match command {
            Command::Control(control, reply) => {
                let _ = reply.send(engine.control(control));
            }
            Command::Send(payload, reply) => {
                let (action, options) = *payload;
                match engine.send(action, &options) {
                    Ok(id) => {
                        if let Replies::Remote(waiters) = &mut engine.replies {
                            waiters.insert(id, reply);
                        }
                    }
                    Err(refusal) => {
                        let _ = reply.send(Err(refusal.into()));
                    }
                }
            }
            Command::Shutdown(budget, reply) => {
                engine.shutdown(budget);
                self.shutdown_waiters.push(reply);
            }
            Command::Status(reply) => {
                let _ = reply.send(engine.status());
            }
        }
    }
}
