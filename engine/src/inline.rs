//! A client driven by the application's own task.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use relay_core::config::{IdleMode, RelayConfig};
use relay_core::connection::{DeliveryHandle, SendOptions, Stats};
use relay_core::message::MessageEvent;
use relay_core::wire::{Action, ActionResult};
use relay_core::{Event, State};

use super::command::Control;
use super::engine::{Engine, Replies};
use super::error::ClientError;
use super::options::ClientOptions;
use super::runtime::Runtime;

/// [`InlineClient::next_event`] reads the socket only while fewer events
/// than this wait for the application. Few: an event is then
/// taken while its memory is still in the CPU's cache, and the allocator's
/// per-thread cache recycles its strings for the next one. With a deep
/// read-ahead (64 events, about 64 KB in the loopback bench) both were
/// lost: per streamed frame, about 50 more simulated data-cache misses and
/// 220 more instructions (mostly the allocator's slow path).
const READ_AHEAD: usize = 4;

/// A client that runs inside the task that uses it: no driver task, no
/// channels. The socket is read and written, and the core's timers run,
/// while the application awaits [`next_event`](Self::next_event),
/// [`send`](Self::send) or [`shutdown`](Self::shutdown) (or polls the
/// [`Stream`]).
///
/// This is the cheapest way to run a client: a request and its result, or
/// an inbound frame, cost no wake-up of another task, which on a
/// multi-thread runtime means no hand-over between threads. The price is
/// that the connection only makes progress while the application awaits
/// one of these calls: a task that keeps a client waiting for long (longer
/// than the keepalive's pong deadline) will see it reconnect. Use
/// [`RelayClient::start`](super::RelayClient::start) when several tasks
/// share a client or send concurrently.
///
/// Methods that only tell the core something ([`ack`](Self::ack),
/// [`interrupt`](Self::interrupt), [`go_idle`](Self::go_idle),
/// [`wake`](Self::wake)) return at once; what they send is written to the
/// socket at once if the socket takes it, otherwise on the next await.
///
/// Dropping the client shuts it down: the socket is closed with 1000 in the
/// background (bounded by a short grace period).
pub struct InlineClient {
    /// Boxed: an application's future may hold the client at more than one
    /// await point (rustc does not always overlap them), and each copy then
    /// costs a pointer, not the engine.
    engine: Box<Engine>,
    event_capacity: usize,
}

impl std::fmt::Debug for InlineClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineClient")
            .field("state", &self.engine.conn.state())
            .finish_non_exhaustive()
    }
}

impl InlineClient {
    /// A client on `rt` (which supplies timers, TCP connects and the task
    /// of the final close). Nothing happens until the client is awaited.
    /// [`next_event`](Self::next_event) reads the socket only while fewer
    /// than 4 events wait (or [`ClientOptions::event_capacity`], if lower);
    /// one socket message may still carry several, and while
    /// [`send`](Self::send) waits the socket is read whatever their number.
    pub(crate) fn new(rt: Arc<dyn Runtime>, config: RelayConfig, options: ClientOptions) -> Self {
        let replies = Replies::Local {
            awaiting: None,
            result: None,
        };
        InlineClient {
            engine: Box::new(Engine::new(rt, config, &options, replies)),
            event_capacity: options.event_capacity.max(1),
        }
    }

    /// The next event, or `None` once the client has stopped (shut down or
    /// revoked) and every event was taken. Drives the connection meanwhile.
    pub async fn next_event(&mut self) -> Option<Event> {
        std::future::poll_fn(|cx| self.poll_event(cx)).await
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        if let Some(event) = self.engine.events.pop_front() {
            return Poll::Ready(Some(event));
        }
        let room = self.event_capacity.min(READ_AHEAD);
        let done = self.engine.poll_io(cx, room).is_ready();
        match self.engine.events.pop_front() {
            Some(event) => Poll::Ready(Some(event)),
            None if done => Poll::Ready(None),
            None => Poll::Pending,
        }
    }

    /// Sends an action and waits for its result (or its failure: timeout,
    /// connection lost, shutdown, or a refusal when not serving or when the
    /// connector did not advertise the op). Drives the connection meanwhile:
    /// events that arrive wait for [`next_event`](Self::next_event), and
    /// the socket is read whatever their number, so that the result can
    /// come. Dropping the future abandons the request (its result is
    /// discarded when it comes).
    pub async fn send(&mut self, action: Action) -> Result<ActionResult, ClientError> {
        self.send_with(action, SendOptions::new()).await
    }

    /// [`send`](Self::send) with `options`: an explicit platform (see
    /// [`SendOptions`]).
    pub async fn send_with(
        &mut self,
        action: Action,
        options: SendOptions,
    ) -> Result<ActionResult, ClientError> {
        let id = self.engine.send(action, &options)?;
        if let Replies::Local { awaiting, result } = &mut self.engine.replies {
            *awaiting = Some(id);
            *result = None;
        }
        std::future::poll_fn(|cx| {
            let done = self.engine.poll_io(cx, usize::MAX).is_ready();
            if let Replies::Local { result, .. } = &mut self.engine.replies
                && let Some(result) = result.take()
            {
                return Poll::Ready(result.map(|r| *r));
            }
            if done {
                Poll::Ready(Err(ClientError::Stopped))
            } else {
                Poll::Pending
            }
        })
        .await
    }

    /// Sends `text` to `chat_id` (an `op: "send"` action).
    pub async fn send_text(
        &mut self,
        chat_id: impl Into<String>,
        text: impl Into<String>,
    ) -> Result<ActionResult, ClientError> {
        self.send(Action::send(chat_id, text)).await
    }

    /// Carries out `control` and hands what it sends to the socket.
    fn control(&mut self, control: Control) -> Result<(), ClientError> {
        let result = self.engine.control(control);
        self.engine.push_now();
        result
    }

    /// Sends a fire-and-forget `interrupt` for a session.
    pub fn interrupt(
        &mut self,
        session_key: impl Into<String>,
        reason: Option<String>,
    ) -> Result<(), ClientError> {
        self.control(Control::Interrupt(Box::new((session_key.into(), reason))))
    }

    /// Asks the connector to buffer inbound for this gateway (serving only).
    pub fn go_idle(&mut self) -> Result<(), ClientError> {
        self.control(Control::GoIdle(None))
    }

    /// Asks the connector to buffer inbound for this gateway (serving only),
    /// then does what `mode` says after the ack whatever the configuration
    /// (see [`RelayHandle::go_idle_with`](super::RelayHandle::go_idle_with)).
    pub fn go_idle_with(&mut self, mode: IdleMode) -> Result<(), ClientError> {
        self.control(Control::GoIdle(Some(mode)))
    }

    /// Re-dials now if buffered (what a wake poke does).
    pub fn wake(&mut self) -> Result<(), ClientError> {
        self.control(Control::Wake)
    }

    /// Acknowledges a buffered delivery. Call it only once the item is
    /// durably handed off: the connector forgets it after this.
    pub fn ack(&mut self, delivery: DeliveryHandle) -> Result<(), ClientError> {
        self.control(Control::Ack(delivery))
    }

    /// Holds the next re-dial (see
    /// [`RelayHandle::hold_redial`](super::RelayHandle::hold_redial)).
    pub fn hold_redial(&mut self) -> Result<(), ClientError> {
        self.control(Control::HoldRedial)
    }

    /// Ends a hold: a re-dial that waits dials now.
    pub fn release_redial(&mut self) -> Result<(), ClientError> {
        self.control(Control::ReleaseRedial)
    }

    /// Shuts down gracefully: a request still in flight (one whose `send`
    /// future was dropped) gets up to the configured drain (5 s) for its
    /// result, then fails with `Shutdown`; the socket closes with 1000 and
    /// the client never dials again. Events not taken yet stay available
    /// from [`next_event`](Self::next_event).
    pub async fn shutdown(&mut self) {
        self.shutdown_within(Duration::MAX).await;
    }

    /// [`shutdown`](Self::shutdown) with a drain of at most `budget` (zero
    /// closes at once).
    pub async fn shutdown_within(&mut self, budget: Duration) {
        self.engine.shutdown(budget);
        std::future::poll_fn(|cx| self.engine.poll_io(cx, usize::MAX)).await;
    }

    /// Hands back the message of an [`Event::Inbound`] once the application
    /// is done with it: the next inbound messages are decoded into its box
    /// and text buffers instead of new allocations, so that a steady stream
    /// is read without allocating (bounded: see [`relay_core::recycle`]).
    /// Optional: a message dropped instead costs its allocations, nothing
    /// else.
    pub fn recycle(&mut self, event: Box<MessageEvent>) {
        self.engine.conn.recycle(event);
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.engine.conn.state()
    }

    /// The connection's counters.
    pub fn stats(&self) -> Stats {
        self.engine.conn.stats()
    }

    /// Messages queued for the socket that it has not taken yet: at most
    /// [`ClientOptions::write_queue`] (a peer that lets the queue fill is
    /// treated as gone).
    pub fn pending_writes(&self) -> usize {
        self.engine.status().pending_writes
    }
}

impl Stream for InlineClient {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.poll_event(cx)
    }
}

impl Drop for InlineClient {
    fn drop(&mut self) {
        if !self.engine.conn.is_terminal() {
            // Nothing will drive a drain: close at once.
            self.engine.shutdown(Duration::ZERO);
            self.engine.push_now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::InlineClient;

    /// An application's future that awaits the function building a client
    /// and then holds the client lays it out twice (the awaited future's
    /// copy and its own): a client of two words costs that twice, not its
    /// whole engine.
    #[test]
    fn an_inline_client_is_two_words() {
        let size = std::mem::size_of::<InlineClient>();
        assert!(
            size <= 2 * std::mem::size_of::<usize>(),
            "an InlineClient is {size} bytes"
        );
    }
}
